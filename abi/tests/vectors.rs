//! The golden vectors in `vectors/`: byte files and the JSON of what they mean, which
//! every SDK, in any language, must decode (and, for canonical ones, encode) the same.
//!
//! The cases are defined here, in Rust. With `ALPHA_PANDA_BLESS=1` this test writes
//! them (and `vectors/README.md`); otherwise it checks that the committed files are
//! exactly what the case definitions give, that the decoders give back each file's
//! meaning, and that the encoders, given only a canonical file's JSON, write its bytes.

mod common;
#[path = "vectors/meaning.rs"]
mod meaning;
#[path = "vectors/readme.rs"]
mod readme;
#[path = "vectors/signal_cases.rs"]
mod signal_cases;
#[path = "vectors/tick_cases.rs"]
mod tick_cases;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use alpha_panda_abi::signal::write_signal;
use common::{decode, encode, OwnedTick};
use meaning::{decoded_json, signal_from_json, signals_decoded_json, tick_from_json};
use serde_json::{json, Value};
use signal_cases::signal_cases;
use tick_cases::tick_cases;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../vectors")
}

fn bless() -> bool {
    std::env::var("ALPHA_PANDA_BLESS").is_ok_and(|v| v == "1")
}
// ------------------------------------------------------------------------ files

fn json_text(v: &Value) -> String {
    let mut s = serde_json::to_string_pretty(v).expect("JSON");
    s.push('\n');
    s
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e} (ALPHA_PANDA_BLESS=1 writes it)", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_bin(path: &Path) -> Vec<u8> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e} (ALPHA_PANDA_BLESS=1 writes it)", path.display()))
}

/// The case's two files: written when blessing, else compared with the committed ones.
fn check_files(dir: &Path, name: &str, data: &[u8], meaning: &Value) {
    let (bin, json) = (
        dir.join(format!("{name}.bin")),
        dir.join(format!("{name}.json")),
    );
    if bless() {
        std::fs::create_dir_all(dir).expect("create the vectors folder");
        std::fs::write(&bin, data).expect("write .bin");
        std::fs::write(&json, json_text(meaning)).expect("write .json");
        return;
    }
    assert!(
        read_bin(&bin) == data,
        "{}: not what the encoder writes for case {name} (ALPHA_PANDA_BLESS=1 rewrites it)",
        bin.display()
    );
    assert_eq!(
        &read_json(&json),
        meaning,
        "{}: not the meaning of case {name}",
        json.display()
    );
}

/// The names of the vectors in `dir` (each `.bin` with its `.json`).
fn names_in(dir: &Path) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("a directory entry").path();
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        names.insert(stem.to_owned());
    }
    names
}

fn without_description(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("description");
        o.remove("canonical");
    }
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("symbols is a list")
        .iter()
        .map(|s| s.as_str().expect("a symbol is a string").to_owned())
        .collect()
}

#[test]
fn tick_vectors() {
    let dir = root().join("ticks");
    let cases = tick_cases();
    for c in &cases {
        // The reader agrees with the case's definition.
        let decoded = decode(c.count, &c.data, &c.symbols);
        let meaning = c.json();
        assert_eq!(
            decoded_json(c.count, &c.symbols, &decoded),
            without_description(&meaning),
            "case {}: the reader disagrees with the definition",
            c.name
        );
        check_files(&dir, c.name, &c.data, &meaning);
    }
    if bless() {
        return;
    }
    let names: BTreeSet<String> = cases.iter().map(|c| c.name.to_owned()).collect();
    assert_eq!(
        names_in(&dir),
        names,
        "vectors/ticks holds exactly the cases"
    );
    // From the committed files alone, as another SDK would check itself.
    for name in &names {
        let meaning = read_json(&dir.join(format!("{name}.json")));
        let data = read_bin(&dir.join(format!("{name}.bin")));
        let count = u32::try_from(meaning["count"].as_u64().expect("count")).expect("u32 count");
        let symbols = strings(&meaning["symbols"]);
        let decoded = decode(count, &data, &symbols);
        assert_eq!(
            decoded_json(count, &symbols, &decoded),
            without_description(&meaning),
            "{name}"
        );
        if meaning["canonical"] == json!(true) {
            let ticks: Vec<OwnedTick> = meaning["ticks"]
                .as_array()
                .expect("ticks")
                .iter()
                .map(tick_from_json)
                .collect();
            let b = encode(&ticks);
            assert_eq!((b.count, &b.symbols), (count, &symbols), "{name}");
            assert!(b.data == data, "{name}: the encoder writes other bytes");
        }
    }
}

#[test]
fn signal_vectors() {
    let dir = root().join("signals");
    let cases = signal_cases();
    for c in &cases {
        let meaning = c.json();
        assert_eq!(
            signals_decoded_json(c.count, &c.data),
            without_description(&meaning),
            "case {}: the reader disagrees with the definition",
            c.name
        );
        check_files(&dir, c.name, &c.data, &meaning);
    }
    if bless() {
        return;
    }
    let names: BTreeSet<String> = cases.iter().map(|c| c.name.to_owned()).collect();
    assert_eq!(
        names_in(&dir),
        names,
        "vectors/signals holds exactly the cases"
    );
    for name in &names {
        let meaning = read_json(&dir.join(format!("{name}.json")));
        let data = read_bin(&dir.join(format!("{name}.bin")));
        let count = u32::try_from(meaning["count"].as_u64().expect("count")).expect("u32 count");
        assert_eq!(
            signals_decoded_json(count, &data),
            without_description(&meaning),
            "{name}"
        );
        if let Some(signals) = meaning["signals"].as_array() {
            let mut out = Vec::new();
            for s in signals {
                write_signal(&mut out, &signal_from_json(s));
            }
            assert!(out == data, "{name}: the encoder writes other bytes");
        }
    }
}

/// `vectors/README.md`: what each file is, from the case definitions.
fn readme() -> String {
    let mut s = String::from(readme::README_HEAD);
    s.push_str("\n## Ticks (`ticks/`)\n\n| name | what it is |\n|---|---|\n");
    for c in tick_cases() {
        let _ = writeln!(s, "| `{}` | {} |", c.name, c.about);
    }
    s.push_str("\n## Signals (`signals/`)\n\n| name | what it is |\n|---|---|\n");
    for c in signal_cases() {
        let _ = writeln!(s, "| `{}` | {} |", c.name, c.about);
    }
    s
}

#[test]
fn readme_lists_every_vector() {
    let path = root().join("README.md");
    if bless() {
        std::fs::create_dir_all(root()).expect("create the vectors folder");
        std::fs::write(&path, readme()).expect("write README.md");
        return;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        text == readme(),
        "{} is not what the case definitions give (ALPHA_PANDA_BLESS=1 rewrites it)",
        path.display()
    );
}
