//! Fuzz target: any text as a plugin manifest. Never a panic: either a manifest or
//! a message naming what is wrong.
#![no_main]

use alpha_panda::manifest::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Manifest::parse(text) {
        Ok(m) => {
            // A parsed manifest answers its questions without panicking.
            let _ = m.runs_in(alpha_panda::contract::BrokerNamespace::Paper);
        }
        Err(message) => assert!(!message.is_empty(), "an error says something"),
    }
});
