//! Strategies in Python and JavaScript: their toolchains, pinned and installed by
//! set-up (componentize-py and pytest from PyPI into a virtual environment under
//! the per-machine cache, componentize-js from the npm registry into
//! `sdk-js/node_modules`), building each `plugins/python/NAME/` and
//! `plugins/javascript/NAME/` into `plugins/NAME.wasm` (skipped when nothing it is
//! built from changed), and running their tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};

use anyhow::{bail, Context, Result};
use sha2::{Digest, Sha256};

use crate::setup::step;

/// The Python SDK and its pinned build tools.
const SDK_PY: &str = "sdk-python";
const PY_REQUIREMENTS: &str = "sdk-python/requirements-build.txt";
/// The JavaScript SDK (its lock file pins componentize-js).
const SDK_JS: &str = "sdk-js";
/// Where Python and JavaScript strategies live (Rust ones are crates in `plugins/`),
/// under the strategies' folder or the test plugins' (`tests/plugins/`).
const PY_PLUGINS: &str = "python";
const JS_PLUGINS: &str = "javascript";

/// A strategy's language: the folder it lives under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lang {
    Python,
    JavaScript,
}

impl Lang {
    fn folder(self) -> &'static str {
        match self {
            Lang::Python => PY_PLUGINS,
            Lang::JavaScript => JS_PLUGINS,
        }
    }
}

/// The Python tools' virtual environment: `~/.cache/alpha-panda/python-HASH`,
/// named after the requirements file, so a new pin installs afresh.
fn venv(root: &Path) -> Result<PathBuf> {
    let req = std::fs::read(root.join(PY_REQUIREMENTS))
        .with_context(|| format!("read {PY_REQUIREMENTS}"))?;
    let hash = hex(&Sha256::digest(&req))[..16].to_owned();
    let cache = alpha_panda_rig::KafkaDist::default_home()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    Ok(cache.join(format!("python-{hash}")))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The virtual environment's Python, installed unless it is there.
pub fn python_tools(root: &Path) -> Result<PathBuf> {
    let venv = venv(root)?;
    let python = venv.join("bin/python");
    let ready = venv.join(".installed");
    if ready.is_file() {
        return Ok(python);
    }
    step(
        &format!(
            "componentize-py and pytest from PyPI into {} (once per machine)",
            venv.display()
        ),
        || {
            let _ = std::fs::remove_dir_all(&venv);
            crate::setup::run(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
            let installed = crate::setup::run(
                Command::new(&python)
                    .args(["-m", "pip", "install", "--quiet", "-r"])
                    .arg(root.join(PY_REQUIREMENTS)),
            );
            if let Err(e) = installed {
                let _ = std::fs::remove_dir_all(&venv);
                return Err(e);
            }
            std::fs::write(&ready, "")?;
            Ok(())
        },
    )?;
    Ok(python)
}

/// `sdk-js/node_modules` as its lock file says, installed unless it is there.
pub fn node_tools(root: &Path) -> Result<()> {
    for (dir, what) in [
        (
            SDK_JS,
            "componentize-js from the npm registry (npm ci in sdk-js)",
        ),
        (
            "plugins/javascript",
            "the JavaScript strategies' link to their SDK (npm ci in plugins/javascript)",
        ),
    ] {
        let dir = root.join(dir);
        let lock = std::fs::read(dir.join("package-lock.json"))
            .with_context(|| format!("read {}/package-lock.json", dir.display()))?;
        let stamp = dir.join("node_modules/.alpha-panda-lock");
        let want = hex(&Sha256::digest(&lock));
        if std::fs::read_to_string(&stamp).is_ok_and(|s| s == want) {
            continue;
        }
        step(what, || {
            crate::setup::run(
                Command::new("npm")
                    .args(["ci", "--no-audit", "--no-fund", "--silent"])
                    .current_dir(&dir),
            )?;
            std::fs::write(&stamp, &want)?;
            Ok(())
        })?;
    }
    Ok(())
}

/// The Python and JavaScript strategy folders under `root`, by name.
pub fn strategies(root: &Path) -> Vec<(String, Lang)> {
    let mut out = Vec::new();
    for lang in [Lang::Python, Lang::JavaScript] {
        for e in std::fs::read_dir(root.join(lang.folder()))
            .into_iter()
            .flatten()
            .flatten()
        {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir()
                && !name.starts_with('.')
                && name != "node_modules"
                && name != "__pycache__"
            {
                out.push((name, lang));
            }
        }
    }
    out.sort();
    out
}

/// A hash of every file a plugin is built from: its folder (tests aside) and its
/// language's SDK and tools' pins.
fn input_hash(root: &Path, dir: &Path, lang: Lang) -> String {
    let mut files = Vec::new();
    collect(dir, &mut files);
    let sdk = root.join(match lang {
        Lang::Python => SDK_PY,
        Lang::JavaScript => SDK_JS,
    });
    collect(&sdk, &mut files);
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        if let Ok(bytes) = std::fs::read(&f) {
            h.update(f.to_string_lossy().as_bytes());
            h.update((bytes.len() as u64).to_le_bytes());
            h.update(&bytes);
        }
    }
    hex(&h.finalize())
}

/// Source files under `dir`, skipping installed packages, caches and tests' output.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || ["node_modules", "__pycache__", "target"].contains(&&*name) {
            continue;
        }
        if p.is_dir() {
            collect(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Builds every Python and JavaScript strategy under `dir` (`dir/python/NAME`,
/// `dir/javascript/NAME`) into `dir/NAME.wasm`, two at a time, skipping those
/// whose inputs did not change since their last build. A failed build names the
/// plugin and shows its build's output.
pub fn build(root: &Path, dir: &Path, stamps: &Path) -> Result<()> {
    let todo: Vec<(String, Lang, String)> = strategies(dir)
        .into_iter()
        .map(|(name, lang)| {
            let hash = input_hash(root, &dir.join(lang.folder()).join(&name), lang);
            (name, lang, hash)
        })
        .filter(|(name, _, hash)| {
            let built = dir.join(format!("{name}.wasm")).is_file();
            let same = std::fs::read_to_string(stamps.join(name)).is_ok_and(|s| &s == hash);
            !(built && same)
        })
        .collect();
    if todo.is_empty() {
        return Ok(());
    }
    let python = if todo.iter().any(|t| t.1 == Lang::Python) {
        Some(python_tools(root)?)
    } else {
        None
    };
    if todo.iter().any(|t| t.1 == Lang::JavaScript) {
        node_tools(root)?;
    }
    std::fs::create_dir_all(stamps)?;
    for pair in todo.chunks(2) {
        let started = std::time::Instant::now();
        let mut running: Vec<(&String, Child, PathBuf, PathBuf)> = Vec::new();
        for (name, lang, _) in pair {
            let src = dir.join(lang.folder()).join(name);
            let tmp = dir.join(format!(".{name}.wasm.tmp"));
            let log = stamps.join(format!("{name}.log"));
            let mut cmd = match (lang, &python) {
                (Lang::Python, Some(py)) => {
                    let mut c = Command::new(py);
                    c.arg(root.join(SDK_PY).join("build_plugin.py"));
                    c
                }
                _ => {
                    let mut c = Command::new("node");
                    c.arg(root.join(SDK_JS).join("build-plugin.mjs"));
                    c
                }
            };
            cmd.arg(&src).arg(&tmp);
            if let Some(py) = &python {
                if let Some(bin) = py.parent() {
                    cmd.env("COMPONENTIZE_PY", bin.join("componentize-py"));
                }
            }
            let out = std::fs::File::create(&log)?;
            cmd.stdout(out.try_clone()?).stderr(out);
            eprintln!("xtask: build {name} ({lang:?})");
            let child = cmd
                .spawn()
                .with_context(|| format!("cannot start the build of plugins/{name}"))?;
            running.push((name, child, tmp, log));
        }
        for (name, mut child, tmp, log) in running {
            let st = child.wait()?;
            if !st.success() {
                let _ = std::fs::remove_file(&tmp);
                let text = std::fs::read_to_string(&log).unwrap_or_default();
                bail!(
                    "building plugins/{name} failed ({st}):\n{}",
                    text.trim_end()
                );
            }
            std::fs::rename(&tmp, dir.join(format!("{name}.wasm")))
                .with_context(|| format!("install plugins/{name}.wasm"))?;
            let hash = todo
                .iter()
                .find(|t| &t.0 == name)
                .map(|t| t.2.clone())
                .unwrap_or_default();
            std::fs::write(stamps.join(name), hash)?;
        }
        eprintln!(
            "xtask: built {} in {:.1}s",
            pair.iter()
                .map(|p| p.0.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// The Python SDK's and the Python strategies' pytest tests, and the
/// JavaScript SDK's and strategies' `node --test` tests.
pub fn test(root: &Path) -> Result<()> {
    let python = python_tools(root)?;
    let mut pytest = Command::new(&python);
    // sdk-python's pytest configuration runs plugins/python too.
    pytest
        .args(["-m", "pytest", "-q"])
        .current_dir(root.join(SDK_PY));
    crate::status(pytest, "pytest (the Python SDK and strategies)")?;
    node_tools(root)?;
    let mut sdk = Command::new("npm");
    sdk.args(["test", "--silent"])
        .current_dir(root.join(SDK_JS));
    crate::status(sdk, "npm test (the JavaScript SDK)")?;
    let mut strategies = Command::new("node");
    strategies
        .arg("--test")
        .current_dir(root.join("plugins").join(JS_PLUGINS));
    crate::status(strategies, "node --test (the JavaScript strategies)")
}
