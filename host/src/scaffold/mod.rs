//! `alpha-panda plugin new NAME [--lang rust|python|javascript]`: a strategy that
//! builds with `cargo xtask plugins`, with a unit test under its language's own
//! runner (`cargo test`, `pytest`, `node --test`) and a manifest beside the
//! `.wasm` it builds to.
//!
//! - [`rust`], [`python`], [`javascript`]: each language's files and next steps.
//!
//! Rust strategies are crates in `plugins/NAME`; Python and JavaScript ones live in
//! `plugins/python/NAME` and `plugins/javascript/NAME` (not crates of the workspace).
//! Every manifest goes into `plugins/`, beside `NAME.wasm`.

mod javascript;
mod python;
mod rust;

use std::path::{Path, PathBuf};

/// The languages a strategy can be written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Rust,
    Python,
    JavaScript,
}

impl std::str::FromStr for Lang {
    type Err = ScaffoldError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "rust" => Ok(Lang::Rust),
            "python" => Ok(Lang::Python),
            "javascript" | "js" => Ok(Lang::JavaScript),
            other => Err(ScaffoldError::BadLang(other.to_owned())),
        }
    }
}

/// One language's files, next steps and folder under `plugins/`.
struct Template {
    files: fn(name: &str, type_name: &str, dir: &Path) -> Vec<(PathBuf, String)>,
    next: fn(name: &str, dir: &Path, plugins: &Path) -> String,
    /// The folder under `plugins/` its strategies live in ("" for `plugins/` itself).
    default_folder: &'static str,
}

impl Lang {
    fn template(self) -> &'static Template {
        match self {
            Lang::Rust => &rust::TEMPLATE,
            Lang::Python => &python::TEMPLATE,
            Lang::JavaScript => &javascript::TEMPLATE,
        }
    }

    /// Where a strategy named `name` goes by default, under `plugins`.
    pub fn default_dir(self, plugins: &Path, name: &str) -> PathBuf {
        plugins.join(self.template().default_folder).join(name)
    }
}

/// Why nothing was scaffolded.
#[derive(Debug, thiserror::Error)]
pub enum ScaffoldError {
    #[error(
        "plugin name `{0}` must be lower-case letters, digits and `_`, starting with a letter"
    )]
    BadName(String),
    #[error("language `{0}`: use rust, python or javascript")]
    BadLang(String),
    #[error("{} already exists: choose another name or --dir", .0.display())]
    Exists(PathBuf),
    #[error("cannot write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

/// The plugins folder of a strategy folder: its parent, or the parent's parent
/// when the parent is a language's folder (`plugins/python/NAME`).
fn plugins_of(dir: &Path) -> PathBuf {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let by_language = [python::TEMPLATE, javascript::TEMPLATE]
        .iter()
        .any(|t| parent.file_name().is_some_and(|n| n == t.default_folder));
    match parent.parent().filter(|_| by_language) {
        Some(p) => p.to_path_buf(),
        None => parent.to_path_buf(),
    }
}

/// `my_breakout` as a type name: `MyBreakout`.
fn type_name(name: &str) -> String {
    name.split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Writes strategy `name` in `lang` into `dir`, and its manifest into the plugins
/// folder. Returns a note of what was made and what to run next.
pub fn scaffold(name: &str, lang: Lang, dir: &Path) -> Result<String, ScaffoldError> {
    let valid = name.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !valid {
        return Err(ScaffoldError::BadName(name.to_owned()));
    }
    if dir.exists() {
        return Err(ScaffoldError::Exists(dir.to_owned()));
    }
    let plugins = plugins_of(dir);
    let manifest = plugins.join(format!("{name}.toml"));
    if manifest.exists() {
        return Err(ScaffoldError::Exists(manifest));
    }
    let template = lang.template();
    let mut files = (template.files)(name, &type_name(name), dir);
    files.push((manifest.clone(), MANIFEST.replace("{{name}}", name)));
    for (path, text) in &files {
        write(path, text)?;
    }
    Ok(format!(
        "created strategy {} and manifest {}\n{}",
        dir.display(),
        manifest.display(),
        (template.next)(name, dir, &plugins)
    ))
}

fn write(path: &Path, text: &str) -> Result<(), ScaffoldError> {
    let err = |e: std::io::Error| ScaffoldError::Write {
        path: path.to_owned(),
        message: e.to_string(),
    };
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(err)?;
    }
    std::fs::write(path, text).map_err(err)
}

const MANIFEST: &str = r#"# The manifest of the {{name}} plugin: read by the host beside {{name}}.wasm.
strategy_id = "{{name}}_1"
brokers = ["paper"]
instruments = [738561, 81153, 2714625, 408065, 341249, 256265]
# One instance sees every tick of these instruments, in time order (the default,
# scope = "strategy"). A strategy whose state is per instrument may say
# scope = "instrument": one instance per partition of market.ticks.

[params]
threshold = 0.01
quantity = 10
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_bad_names_languages_and_existing_dirs() {
        let tmp = tempfile::tempdir().unwrap();
        assert!(matches!(
            scaffold("Bad-Name", Lang::Rust, &tmp.path().join("x")),
            Err(ScaffoldError::BadName(_))
        ));
        assert!(matches!(
            scaffold("good", Lang::Python, tmp.path()),
            Err(ScaffoldError::Exists(_))
        ));
        let err = "cobol".parse::<Lang>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "language `cobol`: use rust, python or javascript"
        );
    }

    #[test]
    fn writes_each_language_with_its_manifest_in_plugins() {
        let tmp = tempfile::tempdir().unwrap();
        let plugins = tmp.path().join("plugins");
        for (lang, name, file, export) in [
            (
                Lang::Rust,
                "my_strat",
                "src/lib.rs",
                "export_strategy!(MyStrat)",
            ),
            (Lang::Python, "my_py", "strategy.py", "class MyPy(Strategy)"),
            (
                Lang::JavaScript,
                "my_js",
                "strategy.js",
                "export default class MyJs extends Strategy",
            ),
        ] {
            let dir = lang.default_dir(&plugins, name);
            let note = scaffold(name, lang, &dir).unwrap();
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            assert!(text.contains(export), "{text}");
            let m = std::fs::read_to_string(plugins.join(format!("{name}.toml"))).unwrap();
            crate::manifest::Manifest::parse(&m).unwrap();
            assert!(note.contains(&format!("{name}.wasm")), "{note}");
        }
        assert!(plugins.join("my_strat/Cargo.toml").is_file());
        assert!(plugins.join("python/my_py/test_my_py.py").is_file());
        assert!(plugins.join("javascript/my_js/strategy.test.js").is_file());
    }
}
