//! The language a strategy component was written in, read from its metadata (the
//! `producers` sections and the names of its core modules): componentize-js
//! marks its component JavaScript, componentize-py embeds CPython
//! (`libpython3.*.so`), and rustc marks its modules Rust. Reported by
//! `plugin check` and in every load's log line.

use wasmparser::{KnownCustom, Name, Parser, Payload};

/// What a component was written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Rust,
    Python,
    JavaScript,
    /// None of the markers above.
    Unknown,
}

impl Language {
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Rust => "rust",
            Language::Python => "python",
            Language::JavaScript => "javascript",
            Language::Unknown => "unknown",
        }
    }

    /// Reads the language of component `bytes` (unreadable metadata: unknown).
    pub fn detect(bytes: &[u8]) -> Language {
        let mut marks = Marks::default();
        for payload in Parser::new(0).parse_all(bytes) {
            match payload {
                Ok(Payload::CustomSection(c)) => marks.custom(c.as_known()),
                Ok(_) => {}
                Err(_) => break,
            }
        }
        if marks.javascript {
            Language::JavaScript
        } else if marks.python {
            Language::Python
        } else if marks.rust {
            Language::Rust
        } else {
            Language::Unknown
        }
    }
}

impl std::fmt::Display for Language {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Default)]
struct Marks {
    javascript: bool,
    python: bool,
    rust: bool,
}

impl Marks {
    /// A custom section of the component or of one of its modules.
    fn custom(&mut self, section: KnownCustom<'_>) {
        match section {
            KnownCustom::Name(names) => {
                for name in names.into_iter().flatten() {
                    if let Name::Module { name, .. } = name {
                        self.python |= name.starts_with("libpython3");
                    }
                }
            }
            KnownCustom::Producers(fields) => {
                for field in fields.into_iter().flatten() {
                    for value in field.values.into_iter().flatten() {
                        let (f, v) = (field.name, value.name);
                        self.javascript |= (f, v) == ("language", "JavaScript")
                            || (f, v) == ("processed-by", "ComponentizeJS");
                        self.rust |= (f, v) == ("language", "Rust")
                            || (f, v) == ("processed-by", "wit-bindgen-rust");
                    }
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The built samples of each language are checked in `tests/tests/languages.rs`.
    #[test]
    fn bytes_without_markers_are_unknown() {
        assert_eq!(Language::detect(b"not wasm"), Language::Unknown);
        assert_eq!(Language::detect(b"\0asm\x01\0\0\0"), Language::Unknown);
    }
}
