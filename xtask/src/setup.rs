//! `cargo xtask setup`: what the tests need on a fresh machine, each step timed and
//! skipped when already done: the `wasm32-wasip2` target, Java and Maven, the Apache
//! Kafka broker's jars (Maven Central, once per machine), Redis answering on
//! 127.0.0.1:6379 (Debian's `redis-server`, installed when missing), PostgreSQL
//! answering on 127.0.0.1:5432 with the tests' role and database (Debian's
//! `postgresql`, installed when missing), and the Python and JavaScript plugin
//! toolchains (see `polyglot.rs`).
//!
//! A step that fails stops set-up with the command that failed and its output,
//! never with a half-configured machine that fails later in an unrelated test.

use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alpha_panda_rig::{command, KafkaDist, KAFKA_VERSION};
use anyhow::{bail, Context, Result};

pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Every set-up step, in order.
pub fn setup() -> Result<()> {
    let started = Instant::now();
    wasm_target()?;
    kafka()?;
    redis()?;
    postgres()?;
    let root = crate::root();
    crate::polyglot::python_tools(&root)?;
    crate::polyglot::node_tools(&root)?;
    eprintln!(
        "xtask: setup: done in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Runs one step, printing what it does and how long it took.
pub(crate) fn step<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let started = Instant::now();
    eprintln!("xtask: setup: {what}");
    let out = f().with_context(|| format!("set-up step failed: {what}"))?;
    eprintln!(
        "xtask: setup: {what}: ok in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(out)
}

/// Runs `cmd` with its output kept for the error (see `alpha_panda_rig::command`).
pub(crate) fn run(cmd: &mut Command) -> Result<()> {
    command::run(cmd)?;
    Ok(())
}

pub fn wasm_target() -> Result<()> {
    let out = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .context("rustup is needed to add the wasm32-wasip2 target")?;
    if String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    step("rustup target add wasm32-wasip2", || {
        run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
    })
}

/// True when `program --version` (or `-version`) runs.
fn has(program: &str, version_flag: &str) -> bool {
    Command::new(program)
        .arg(version_flag)
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Installs Debian packages, running `apt-get update` once per set-up first.
fn apt_install(packages: &[&str]) -> Result<()> {
    static UPDATED: AtomicBool = AtomicBool::new(false);
    if !UPDATED.load(Ordering::Relaxed) {
        step("apt-get update", || {
            run(Command::new("apt-get").args(["update", "-qq"]))
        })?;
        UPDATED.store(true, Ordering::Relaxed);
    }
    step(&format!("apt-get install {}", packages.join(" ")), || {
        apt_get_install(packages)
    })
}

fn apt_get_install(packages: &[&str]) -> Result<()> {
    run(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(packages)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// The Kafka broker: Java 17+ and Maven (Debian's, when missing), then the jars
/// from Maven Central into the per-machine cache (see `alpha_panda_rig::install`).
pub fn kafka() -> Result<KafkaDist> {
    if !has("java", "-version") {
        apt_install(&["openjdk-17-jre-headless"])?;
    }
    let home = KafkaDist::default_home();
    if let Ok(dist) = KafkaDist::at(&home) {
        return Ok(dist);
    }
    if !has("mvn", "--version") {
        apt_install(&["maven"])?;
    }
    step(
        &format!(
            "Apache Kafka {KAFKA_VERSION} from Maven Central into {} (once per machine)",
            home.display()
        ),
        || Ok(KafkaDist::install(&home)?.0),
    )
}

fn redis_ping(port: u16) -> bool {
    use std::io::{Read, Write};
    let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut buf = [0u8; 16];
    matches!(s.read(&mut buf), Ok(n) if buf[..n].starts_with(b"+PONG"))
}

/// Redis on 127.0.0.1:6379: nothing to do when it answers; else Debian's
/// `redis-server` (installed when missing), started as a daemon.
pub fn redis() -> Result<()> {
    if redis_ping(6379) {
        return Ok(());
    }
    if !has("redis-server", "--version") {
        apt_install(&["redis-server"])?;
    }
    step("start redis-server on 127.0.0.1:6379", || {
        run(Command::new("redis-server").args([
            "--daemonize",
            "yes",
            "--bind",
            "127.0.0.1",
            "--port",
            "6379",
            "--save",
            "",
            "--appendonly",
            "no",
        ]))?;
        let until = Instant::now() + Duration::from_secs(10);
        while !redis_ping(6379) {
            if Instant::now() > until {
                bail!(
                    "redis-server started but does not answer PING on 127.0.0.1:6379 within 10 s"
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    })
}

fn postgres_ready() -> bool {
    has_output(Command::new("pg_isready").args(["-q", "-h", "127.0.0.1", "-p", "5432"]))
}

fn has_output(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

/// A `psql` command of the `postgres` superuser (peer authentication).
fn psql(sql: &str) -> Command {
    let mut c = Command::new("runuser");
    c.args([
        "-u",
        "postgres",
        "--",
        "psql",
        "-v",
        "ON_ERROR_STOP=1",
        "-tAc",
        sql,
    ]);
    c
}

/// PostgreSQL on 127.0.0.1:5432 (Debian's `postgresql`, installed when missing;
/// its cluster started), with role and database `alpha_panda` (password
/// `alpha_panda`) for the tests; `ALPHA_PANDA_TEST_POSTGRES` points them elsewhere.
pub fn postgres() -> Result<()> {
    if !postgres_ready() {
        if !has("pg_lsclusters", "--help") {
            apt_install(&["postgresql"])?;
        }
        step("start PostgreSQL on 127.0.0.1:5432", || {
            let out = command::run(Command::new("pg_lsclusters").arg("--no-header"))?;
            let text = String::from_utf8_lossy(&out.stdout).into_owned();
            let Some((version, name)) = text.lines().find_map(|l| {
                let mut f = l.split_whitespace();
                Some((f.next()?.to_owned(), f.next()?.to_owned()))
            }) else {
                bail!("PostgreSQL is installed but has no cluster (pg_lsclusters lists none)");
            };
            run(Command::new("pg_ctlcluster").args([&version, &name, "start"]))?;
            let started = Instant::now();
            while !postgres_ready() {
                if started.elapsed() > Duration::from_secs(30) {
                    bail!("cluster {version}/{name} started but 127.0.0.1:5432 is not ready within 30 s");
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Ok(())
        })?;
    }
    let exists = |sql: &str| -> Result<bool> {
        let out = command::run(&mut psql(sql))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim() == "1")
    };
    if !exists("SELECT 1 FROM pg_roles WHERE rolname = 'alpha_panda'")? {
        step("create PostgreSQL role alpha_panda", || {
            run(&mut psql(
                "CREATE ROLE alpha_panda LOGIN PASSWORD 'alpha_panda' CREATEDB",
            ))
        })?;
    }
    if !exists("SELECT 1 FROM pg_database WHERE datname = 'alpha_panda'")? {
        step("create PostgreSQL database alpha_panda", || {
            run(&mut psql("CREATE DATABASE alpha_panda OWNER alpha_panda"))
        })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failed_step_names_the_step_the_command_and_its_output() {
        let e = step("install the impossible", || {
            run(Command::new("sh")
                .args(["-c", "echo 'E: Unable to locate package nope'; exit 100"]))
        })
        .expect_err("exit 100");
        let text = format!("{e:#}");
        assert!(
            text.contains("set-up step failed: install the impossible"),
            "{text}"
        );
        assert!(text.contains("`sh -c 'echo"), "the command: {text}");
        assert!(text.contains("exit status: 100"), "{text}");
        assert!(
            text.contains("E: Unable to locate package nope"),
            "its output: {text}"
        );
    }

    /// A package apt cannot find: apt's own refusal, with the command and the
    /// package named, and nothing installed.
    #[test]
    fn an_apt_failure_names_the_command_and_apts_reason() {
        let e = apt_get_install(&["alpha-panda-no-such-package"]).expect_err("no such package");
        let text = format!("{e:#}");
        assert!(
            text.contains(
                "`apt-get install -y -qq --no-install-recommends alpha-panda-no-such-package`"
            ),
            "{text}"
        );
        assert!(text.contains("alpha-panda-no-such-package"), "{text}");
        assert!(!has("alpha-panda-no-such-package", "--version"));
    }
}
