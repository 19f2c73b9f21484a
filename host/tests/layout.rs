//! The shape of `host/src`, kept true: each top-level module uses only modules
//! `lib.rs` lists before it (no import circle, and the list is the order a tick
//! travels), no source file is over 600 lines, and no function outside the tests
//! is over 80 lines (counted from its `fn` line to its closing brace, as rustfmt
//! writes them).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 600;
const MAX_FN_LINES: usize = 80;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every `.rs` file under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read src").flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The top-level module a file belongs to (`pipeline` for `pipeline/run.rs`).
fn module_of(file: &Path) -> String {
    let rel = file.strip_prefix(src()).expect("under src");
    let first = rel.components().next().expect("a component");
    first
        .as_os_str()
        .to_string_lossy()
        .trim_end_matches(".rs")
        .to_owned()
}

/// The code of a file outside its tests: a `tests.rs` file is all tests, and a
/// `#[cfg(test)]` module ends the production code of a file.
fn production(file: &Path) -> String {
    if file.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(file).expect("read a source file");
    let code = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text,
    };
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The crate's top-level modules a piece of code names (`crate::x`, and each
/// name of `crate::{x, y}`).
fn uses(code: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for part in group[..end].split(',') {
                let name: String = part
                    .trim()
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                out.push(name);
            }
        } else {
            out.push(
                rest.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect(),
            );
        }
    }
    out.retain(|n| !n.is_empty() && n != "self");
    out
}

/// The modules of `lib.rs`, in the order it lists them.
fn order() -> Vec<String> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    lib.lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_owned())
        .collect()
}

#[test]
fn each_module_uses_only_modules_listed_before_it() {
    let order = order();
    assert!(order.len() > 10, "lib.rs lists its modules: {order:?}");
    let rank: BTreeMap<&str, usize> = order
        .iter()
        .enumerate()
        .map(|(i, m)| (m.as_str(), i))
        .collect();
    let mut wrong = Vec::new();
    for file in files(&src()) {
        let module = module_of(&file);
        let Some(&mine) = rank.get(module.as_str()) else {
            continue; // lib.rs and main.rs
        };
        for used in uses(&production(&file)) {
            match rank.get(used.as_str()) {
                Some(&theirs) if theirs > mine => wrong.push(format!(
                    "{} ({module}) uses {used}, listed after it",
                    file.display()
                )),
                None => wrong.push(format!(
                    "{} uses crate::{used}, not in lib.rs",
                    file.display()
                )),
                _ => {}
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn no_source_file_is_over_600_lines() {
    let long: Vec<String> = files(&src())
        .into_iter()
        .filter_map(|f| {
            let n = std::fs::read_to_string(&f).ok()?.lines().count();
            (n > MAX_FILE_LINES).then(|| format!("{}: {n} lines", f.display()))
        })
        .collect();
    assert!(long.is_empty(), "{}", long.join("\n"));
}

/// `(name, lines)` of each function of `code` longer than `MAX_FN_LINES`.
fn long_functions(code: &str) -> Vec<(String, usize)> {
    let lines: Vec<&str> = code.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        let head = line.trim_start();
        let is_fn = head.split("fn ").next().is_some_and(|before| {
            head.contains("fn ")
                && before.split_whitespace().all(|w| {
                    [
                        "pub",
                        "pub(crate)",
                        "pub(super)",
                        "async",
                        "const",
                        "unsafe",
                    ]
                    .contains(&w)
                })
        });
        if !is_fn {
            i += 1;
            continue;
        }
        let name: String = head
            .split("fn ")
            .nth(1)
            .unwrap_or_default()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        let close = format!("{}}}", " ".repeat(indent));
        let end = (i..lines.len())
            .find(|&j| lines[j].trim_end().ends_with(';') && j == i || lines[j] == close)
            .unwrap_or(i);
        let n = end - i + 1;
        if n > MAX_FN_LINES {
            out.push((name, n));
        }
        i = end + 1;
    }
    out
}

#[test]
fn no_function_outside_the_tests_is_over_80_lines() {
    let mut long = Vec::new();
    for file in files(&src()) {
        for (name, n) in long_functions(&production(&file)) {
            long.push(format!("{}: fn {name}, {n} lines", file.display()));
        }
    }
    assert!(long.is_empty(), "{}", long.join("\n"));
}

#[test]
fn the_checks_see_what_they_check() {
    assert_eq!(
        uses("use crate::a::B;\nuse crate::{c, d::E};\nlet x = crate::f(1);"),
        ["a", "c", "d", "f"]
    );
    let body: String = (0..85).map(|i| format!("    let x{i} = {i};\n")).collect();
    let code = format!("pub async fn big() {{\n{body}}}\nfn small() {{\n}}\n");
    assert_eq!(long_functions(&code), [("big".to_owned(), 87)]);
    assert!(production(&src().join("partitions/tests.rs")).is_empty());
}
