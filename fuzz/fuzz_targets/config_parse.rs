//! Fuzz target: any TOML text plus any `ALPHA_PANDA__` environment overrides as
//! the host's configuration. Never a panic: a config or a typed error.
#![no_main]

use alpha_panda::config::Config;
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
struct Input {
    toml: String,
    env: Vec<(String, String)>,
}

fuzz_target!(|input: Input| {
    let env = input
        .env
        .into_iter()
        .map(|(k, v)| (format!("ALPHA_PANDA__{k}"), v));
    match Config::from_toml_with_env(&input.toml, "fuzz", env) {
        Ok(c) => {
            let _ = format!("{c:?}");
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
