//! The README's main command as a user runs it: `cargo xtask run` on the embedded
//! default, until every sample strategy (Rust, Python and JavaScript) has
//! signalled, then Ctrl-C (SIGINT to the whole process group, as a terminal sends
//! it); it must drain and exit 0.

use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use crate::harness::{free_port, metric_with};

/// How long the run may take until every sample has signalled: on a fresh clone
/// it first compiles every Python and JavaScript component (about a minute on two
/// cores).
const SIGNALS_WITHIN: Duration = Duration::from_secs(300);

/// The sample strategies' ids: the `strategy_id` of every `plugins/*.toml`.
fn sample_strategies(root: &std::path::Path) -> Result<Vec<String>> {
    let dir = root.join(crate::PLUGINS_DIR);
    let mut ids = Vec::new();
    for entry in std::fs::read_dir(&dir).with_context(|| format!("read {}", dir.display()))? {
        let path = entry?.path();
        if path.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let text = std::fs::read_to_string(&path)?;
        let manifest: toml::Table =
            toml::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
        match manifest.get("strategy_id").and_then(|v| v.as_str()) {
            Some(id) => ids.push(id.to_owned()),
            None => bail!("{} has no strategy_id", path.display()),
        }
    }
    ids.sort();
    Ok(ids)
}

pub fn main_command(root: &std::path::Path) -> Result<()> {
    let started = Instant::now();
    let strategies = sample_strategies(root)?;
    eprintln!(
        "xtask: smoke run of `cargo xtask run` (the README's main command) until {} signal",
        strategies.join(", ")
    );
    // Built first, so the wait below is for the host, not the compiler.
    let mut build = crate::cargo();
    build.args(["build", "--release", "--quiet", "-p", "alpha-panda"]);
    crate::status(build, "build the release host")?;
    let port = free_port()?;
    let log = crate::target_dir().join("smoke-run.log");
    let out = std::fs::File::create(&log).with_context(|| format!("{}", log.display()))?;
    // `cargo xtask run` itself, not this process's own file: `cargo test
    // --workspace` may have rebuilt (replaced) the xtask binary since it started.
    let mut child = crate::cargo()
        .args(["xtask", "run"])
        .current_dir(root)
        .env("ALPHA_PANDA__METRICS__LISTEN", format!("127.0.0.1:{port}"))
        .env("ALPHA_PANDA__FEED__RATE", "2000")
        .stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out)
        // Its own process group, like a terminal's foreground job.
        .process_group(0)
        .spawn()
        .context("spawn cargo xtask run")?;
    let pgid = child.id() as i32;
    let deadline = Instant::now() + SIGNALS_WITHIN;
    let signalled = |id: &str| {
        metric_with(
            port,
            "alpha_panda_strategy_signals_total",
            &format!("strategy_id=\"{id}\""),
        )
        .is_some_and(|n| n > 0.0)
    };
    while !strategies.iter().all(|id| signalled(id)) {
        if let Some(st) = child.try_wait()? {
            bail!(
                "`cargo xtask run` exited by itself ({st}); see {}",
                log.display()
            );
        }
        if Instant::now() > deadline {
            return Err(give_up(
                &mut child,
                pgid,
                &format!(
                    "no signal from {} within {} s; see {}",
                    strategies
                        .iter()
                        .filter(|id| !signalled(id))
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    SIGNALS_WITHIN.as_secs(),
                    log.display()
                ),
            ));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // SAFETY: kill(2) on the process group we created: Ctrl-C.
    unsafe { libc::kill(-pgid, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break st;
        }
        if Instant::now() > deadline {
            return Err(give_up(
                &mut child,
                pgid,
                &format!("did not stop within 60 s of Ctrl-C; see {}", log.display()),
            ));
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    if !status.success() {
        bail!(
            "`cargo xtask run` stopped with {status} on Ctrl-C; see {}",
            log.display()
        );
    }
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    if !text.contains("alpha-panda stopped:") {
        bail!(
            "`cargo xtask run` printed no summary on Ctrl-C; see {}",
            log.display()
        );
    }
    eprintln!(
        "xtask: smoke run: all {} sample strategies signalled, Ctrl-C stopped it with exit 0, in {:.1}s",
        strategies.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Kills the run's whole process group and says why.
fn give_up(child: &mut std::process::Child, pgid: i32, why: &str) -> anyhow::Error {
    // SAFETY: kill(2) on the process group the smoke run created.
    unsafe { libc::kill(-pgid, libc::SIGKILL) };
    let _ = child.wait();
    anyhow::anyhow!("`cargo xtask run`: {why}")
}

/// The README's "a strategy in 5 minutes" commands in this workspace, as written
/// there (`plugin new`, `cargo test -p NAME`, `cargo xtask plugins`, `plugin check`),
/// with a name no one uses; everything it adds is removed afterwards.
pub fn scaffold_flow(root: &std::path::Path) -> Result<()> {
    const NAME: &str = "smoke_scaffold";
    let started = Instant::now();
    eprintln!("xtask: smoke run of the README's scaffold commands ({NAME})");
    let plugins = root.join("plugins");
    let guard = Cleanup {
        paths: vec![
            plugins.join(NAME),
            plugins.join(format!("{NAME}.toml")),
            plugins.join(format!("{NAME}.wasm")),
        ],
        lock: (
            root.join("Cargo.lock"),
            std::fs::read(root.join("Cargo.lock")).context("read Cargo.lock")?,
        ),
    };
    if guard.paths.iter().any(|p| p.exists()) {
        bail!("plugins/{NAME}* exists already; remove it to run the scaffold smoke run");
    }
    crate::status(
        alpha_panda(&["plugin", "new", NAME]),
        "alpha-panda plugin new",
    )?;
    let mut test = crate::cargo();
    test.args(["test", "--quiet", "-p", NAME]);
    crate::status(test, "its unit test (cargo test -p NAME)")?;
    crate::build_plugins()?;
    let wasm = format!("plugins/{NAME}.wasm");
    crate::status(
        alpha_panda(&["plugin", "check", &wasm]),
        "alpha-panda plugin check",
    )?;
    drop(guard);
    eprintln!(
        "xtask: scaffold smoke run: new, test, build and check passed in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `cargo run -p alpha-panda -- ARGS`, as the README writes it.
fn alpha_panda(args: &[&str]) -> Command {
    let mut c = crate::cargo();
    c.args(["run", "--quiet", "-p", "alpha-panda", "--"]);
    c.args(args);
    c
}

/// Removes what the scaffold smoke run added and puts `Cargo.lock` back.
struct Cleanup {
    paths: Vec<std::path::PathBuf>,
    lock: (std::path::PathBuf, Vec<u8>),
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for p in &self.paths {
            let _ = if p.is_dir() {
                std::fs::remove_dir_all(p)
            } else {
                std::fs::remove_file(p)
            };
        }
        let _ = std::fs::write(&self.lock.0, &self.lock.1);
    }
}
