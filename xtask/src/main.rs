//! The build and test driver (`cargo xtask …`): builds the Wasm plugins, installs
//! what the tests need on a fresh machine, and runs every check CI runs.
//!
//! - `cargo xtask run [ARGS…]`: build the sample plugins, then `alpha-panda run ARGS…`
//!   in the foreground (Ctrl-C drains it; xtask exits with its code).
//! - `cargo xtask plugins`: build every plugin to `plugins/NAME.wasm` (and the test plugins).
//! - `cargo xtask setup`: the wasm target, the Kafka broker's jars, Redis (see `setup.rs`).
//! - `cargo xtask test [--fuzz SECS]`: set up, build plugins, fmt, clippy, tests;
//!   with `--fuzz`, then every fuzz target for SECS seconds each.
//! - `cargo xtask kafka [--port PORT]`: a single-node Kafka broker in the foreground
//!   (see `kafka.rs`).
//! - `cargo xtask fuzz [SECS] [TARGET] [--runs N] [--no-sanitizer]`: the cargo-fuzz targets of `fuzz/` (60 s each).
//! - `cargo xtask bench`: the benchmarks of `BENCHMARKS.md`.
//! - `cargo xtask e2e [TICKS] [RUNS] [--one] [--baseline BIN] [--baseline-env K=V]`: host vs a
//!   plain rdkafka passthrough and a native runner of momentum (see `e2e.rs`).
//! - `cargo xtask latency [RATE] [TICKS] [RUNS] [--baseline BIN] [--baseline-env K=V] [--yield-others]`: in-host latency at a steady rate (see `latency.rs`).
//! - `cargo xtask soak [TICKS] [--strategies N] [--bin HOST]`: 1 000 000 ticks with a
//!   reload every 10 000, both sample strategies or N momentum copies (see `soak.rs`).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Instant;

use anyhow::{bail, Context, Result};

mod e2e;
mod harness;
mod kafka;
mod latency;
mod polyglot;
mod scope;
mod setup;
mod smoke;
mod soak;
mod watch;

use setup::{setup, WASM_TARGET};

const PLUGIN_PROFILE: &str = "plugin";

/// Strategies: `plugins/NAME/` crates (the samples and any `alpha-panda plugin new`),
/// built to `plugins/NAME.wasm`.
const PLUGINS_DIR: &str = "plugins";
/// Test plugins: `tests/plugins/NAME/` crates, built to `tests/plugins/NAME.wasm`.
const TEST_PLUGINS_DIR: &str = "tests/plugins";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => {
            return run(&args[1..]).unwrap_or_else(|e| {
                eprintln!("xtask: {e:#}");
                ExitCode::FAILURE
            })
        }
        Some("plugins") => build_plugins(),
        Some("kafka") => {
            return kafka::foreground(&args[1..]).unwrap_or_else(|e| {
                eprintln!("xtask: {e:#}");
                ExitCode::FAILURE
            })
        }
        Some("test") => test(&args[1..]),
        Some("fuzz") => fuzz(&args[1..]),
        Some("setup") => setup(),
        Some("bench") => bench(&args[1..]),
        Some("smoke") => build_plugins()
            .and_then(|_| smoke::scaffold_flow(&root()))
            .and_then(|_| smoke::main_command(&root())),
        Some("e2e") => setup()
            .and_then(|_| build_plugins())
            .and_then(|_| e2e::e2e(&root(), &args[1..])),
        Some("scope") => setup()
            .and_then(|_| build_plugins())
            .and_then(|_| scope::scope(&root(), &args[1..])),
        Some("latency") => setup()
            .and_then(|_| build_plugins())
            .and_then(|_| latency::latency(&root(), &args[1..])),
        Some("soak") => setup()
            .and_then(|_| build_plugins())
            .and_then(|_| soak::soak(&root(), &args[1..])),
        _ => {
            eprintln!(
                "usage: cargo xtask <run [ARGS…] | plugins | setup | kafka [--port PORT] | test [--fuzz SECS] | smoke | fuzz [SECS] [TARGET] [--runs N] [--no-sanitizer] | bench [NAME] | e2e [TICKS] [RUNS] [--one] [--baseline BIN] [--baseline-env K=V] | scope [TICKS] [RATE] | latency [RATE] [TICKS] [RUNS] [--baseline BIN] [--baseline-env K=V] [--yield-others] | soak [TICKS] [--strategies N] [--bin HOST]>\n\
                 run      build the sample plugins and start alpha-panda on the embedded profile\n\
                 plugins  build every plugin to .wasm\n\
                 setup    add the wasm target, resolve the Kafka broker from Maven Central, start Redis\n\
                 kafka    a single-node Kafka broker in the foreground; prints its address first\n\
                 test     setup + plugins + fmt + clippy + every test (+ each fuzz target for SECS s)\n\
                 fuzz     run the cargo-fuzz targets (default 60 s each; installs cargo-fuzz)\n\
                 smoke    the README's scaffold commands, then `run` until both samples signal and Ctrl-C\n\
                 e2e      host vs rdkafka passthrough and a native runner on a Kafka broker (100 000 ticks, 3 runs)\n\
                 scope    strategy vs instrument scope, 50 instruments: CPU per tick, tick-to-signal p99\n\
                 latency  in-host latency of both samples at a steady RATE (50 000/s), bursts of TICKS, RUNS times\n\
                 soak     TICKS (1 000 000) through a release host, a reload every 10 000 (--strategies N: N momentum copies; --bin HOST: that build)"
            );
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

fn status(mut cmd: Command, what: &str) -> Result<()> {
    let started = Instant::now();
    eprintln!("xtask: {what}");
    let st = cmd
        .status()
        .with_context(|| format!("cannot start: {what}"))?;
    if !st.success() {
        bail!("{what} failed ({st}; {})", disk_free());
    }
    eprintln!(
        "xtask: {what}: ok in {:.1}s ({})",
        started.elapsed().as_secs_f64(),
        disk_free()
    );
    Ok(())
}

/// A cold `cargo xtask test` fills about this much of the target directory's disk
/// (debug tests, clippy, the release host; measured in BENCHMARKS.md's CI notes).
const COLD_RUN_BYTES: u64 = 6 << 30;

/// Free space on the target directory's file system, in bytes.
fn free_bytes() -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let mut dir = target_dir();
    while !dir.exists() {
        dir = dir.parent()?.to_path_buf();
    }
    let path = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs(3) writes only into `st`; `path` is a valid C string.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}

/// "N.N GB free for target/": printed after each step, so a linker that dies of a
/// full disk (SIGBUS) says so in the log.
fn disk_free() -> String {
    match free_bytes() {
        Some(b) => format!("{:.1} GB free for target/", b as f64 / (1u64 << 30) as f64),
        None => "free disk unknown".into(),
    }
}

/// Warns before a long run that the disk is too full to finish it.
fn check_disk() {
    if let Some(b) = free_bytes().filter(|b| *b < COLD_RUN_BYTES) {
        eprintln!(
            "xtask: warning: {:.1} GB free for target/, a cold run needs about {} GB; \
             builds may die with `Bus error` or `No space left on device`",
            b as f64 / (1u64 << 30) as f64,
            COLD_RUN_BYTES >> 30
        );
    }
}

/// Builds the plugins, then runs the host in the foreground and exits with its
/// code; a saved strategy source is rebuilt meanwhile, and the host reloads it.
fn run(args: &[String]) -> Result<ExitCode> {
    setup::wasm_target()?;
    build_plugins()?;
    let _watch = watch::on_save(&root().join(PLUGINS_DIR), |changed| {
        eprintln!(
            "xtask: {} saved; rebuilding the plugins",
            changed.join(", ")
        );
        match build_plugins() {
            Ok(()) => eprintln!("xtask: plugins rebuilt; the host reloads what changed"),
            Err(e) => {
                eprintln!("xtask: rebuild failed: {e:#}\nxtask: the running version keeps running")
            }
        }
    })?;
    let mut c = cargo();
    c.args([
        "run",
        "--release",
        "--quiet",
        "-p",
        "alpha-panda",
        "--",
        "run",
    ]);
    c.args(args);
    eprintln!("xtask: alpha-panda run (Ctrl-C stops it)");
    let st = wait_through_interrupts(&mut c).context("cannot start alpha-panda run")?;
    Ok(exit_code(st))
}

extern "C" fn on_interrupt(_: libc::c_int) {}

/// Runs `cmd` to its end, Ctrl-C included. Ctrl-C sends SIGINT to every process
/// of the terminal's foreground group: the host drains on it, and xtask, which
/// would die at once and give the terminal back mid-drain, waits for it instead.
/// SIGINT is caught, not ignored: a caught signal is reset to its default in the
/// child at exec, so the child still gets its own.
fn wait_through_interrupts(cmd: &mut Command) -> std::io::Result<std::process::ExitStatus> {
    let handler = on_interrupt as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: `on_interrupt` does nothing, so it is async-signal-safe; the previous
    // disposition is put back once the child is gone.
    let previous = unsafe { libc::signal(libc::SIGINT, handler) };
    let status = cmd.status();
    if previous != libc::SIG_ERR {
        // SAFETY: restores what `signal` returned above.
        unsafe { libc::signal(libc::SIGINT, previous) };
    }
    status
}

/// The child's exit code, or 128 + the signal that ended it (as a shell says).
fn exit_code(st: std::process::ExitStatus) -> ExitCode {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(code), _) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
        (None, Some(sig)) => ExitCode::from(u8::try_from(128 + sig).unwrap_or(1)),
        (None, None) => ExitCode::FAILURE,
    }
}

fn test(args: &[String]) -> Result<()> {
    let fuzz_secs = match args {
        [] => None,
        [flag, secs] if flag == "--fuzz" => Some(
            secs.parse::<u64>()
                .with_context(|| format!("--fuzz takes seconds, not {secs:?}"))?,
        ),
        _ => bail!("usage: cargo xtask test [--fuzz SECS]"),
    };
    eprintln!("xtask: test: {}", disk_free());
    check_disk();
    setup()?;
    build_plugins()?;
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    status(fmt, "cargo fmt --check")?;
    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    status(clippy, "cargo clippy -D warnings")?;
    let mut t = cargo();
    t.args(["test", "--workspace", "--no-fail-fast"]);
    status(t, "cargo test --workspace")?;
    polyglot::test(&root())?;
    smoke::scaffold_flow(&root())?;
    smoke::main_command(&root())?;
    match fuzz_secs {
        Some(secs) => fuzz(&[secs.to_string()]),
        None => Ok(()),
    }
}

/// The cargo-fuzz targets of `fuzz/`, one per decoder of untrusted input.
const FUZZ_TARGETS: &[&str] = &[
    "envelope_decode",
    "dlq_record",
    "manifest_parse",
    "config_parse",
];

/// `fuzz`'s flags, and the positional arguments left (SECS, TARGET).
#[derive(Debug, PartialEq)]
struct FuzzFlags {
    /// `--runs N`: executions per target.
    runs: Option<u64>,
    /// Off with `--no-sanitizer`.
    sanitizer: bool,
    rest: Vec<String>,
}

impl FuzzFlags {
    fn parse(args: &[String]) -> Result<FuzzFlags> {
        let mut f = FuzzFlags {
            runs: None,
            sanitizer: true,
            rest: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(a) = it.next() {
            match a.as_str() {
                "--runs" => {
                    let n = it.next().context("--runs takes a number")?;
                    f.runs = Some(
                        n.parse()
                            .with_context(|| format!("--runs takes a number, not {n:?}"))?,
                    );
                }
                "--no-sanitizer" => f.sanitizer = false,
                _ => f.rest.push(a.clone()),
            }
        }
        Ok(f)
    }
}

/// Runs each fuzz target (or `TARGET`) for `SECS` seconds from its committed
/// seeds, and prints the executions of each. A crash fails the command and leaves
/// the input in `fuzz/artifacts/TARGET/`. `--runs N` stops each target after N
/// executions instead (SECS still bounds it); `--no-sanitizer` builds without
/// AddressSanitizer (the targets are safe Rust: a panic is what they find, and
/// uninstrumented they run several times faster).
fn fuzz(args: &[String]) -> Result<()> {
    let FuzzFlags {
        runs,
        sanitizer,
        rest,
    } = FuzzFlags::parse(args)?;
    let args = &rest[..];
    let secs: u64 = match args.first() {
        Some(s) => s
            .parse()
            .with_context(|| format!("fuzz takes seconds first, not {s:?}"))?,
        None => 60,
    };
    let targets: Vec<&str> = match args.get(1) {
        Some(t) if FUZZ_TARGETS.contains(&t.as_str()) => vec![t.as_str()],
        Some(t) => bail!("no fuzz target {t:?}; targets: {}", FUZZ_TARGETS.join(", ")),
        None => FUZZ_TARGETS.to_vec(),
    };
    let has_cargo_fuzz = cargo()
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_cargo_fuzz {
        let mut c = cargo();
        c.args(["install", "cargo-fuzz", "--locked"]);
        status(c, "cargo install cargo-fuzz")?;
    }
    let mut report = Vec::new();
    for t in targets {
        let started = Instant::now();
        eprintln!("xtask: fuzz {t} for {secs} s");
        let mut c = cargo();
        // cargo-fuzz builds with AddressSanitizer through unstable rustc flags;
        // RUSTC_BOOTSTRAP lets the stable toolchain (the only one here) take them.
        c.env("RUSTC_BOOTSTRAP", "1").args(["fuzz", "run", t]);
        if !sanitizer {
            c.args(["--sanitizer", "none"]);
        }
        c.arg("--")
            .arg(format!("-max_total_time={secs}"))
            .arg("-print_final_stats=1");
        if let Some(n) = runs {
            c.arg(format!("-runs={n}"));
        }
        let out = c
            .output()
            .with_context(|| format!("cannot run cargo fuzz {t}"))?;
        let log = String::from_utf8_lossy(&out.stderr);
        let runs = log
            .lines()
            .find_map(|l| l.strip_prefix("stat::number_of_executed_units:"))
            .map(|n| n.trim().to_owned())
            .unwrap_or_else(|| "?".into());
        if !out.status.success() {
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "fuzz target {t} failed after {runs} runs:\n{}",
                tail.join("\n")
            );
        }
        // libFuzzer's own "Done N runs in S second(s)": the fuzzing time, build excluded.
        let secs_run = log
            .lines()
            .find_map(|l| {
                l.strip_prefix("Done ")?
                    .split(" in ")
                    .nth(1)?
                    .split(' ')
                    .next()
            })
            .unwrap_or("?")
            .to_owned();
        let line = format!(
            "{t:<16} {runs:>12} executions in {secs_run} s of fuzzing ({:.0} s with the build), no crash",
            started.elapsed().as_secs_f64()
        );
        eprintln!("xtask: {line}");
        report.push(line);
    }
    eprintln!("xtask: fuzz report\n{}", report.join("\n"));
    Ok(())
}

fn bench(args: &[String]) -> Result<()> {
    setup::wasm_target()?;
    build_plugins()?;
    let mut c = cargo();
    c.args(["bench", "-p", "alpha-panda"]);
    if let Some(name) = args.first() {
        c.args(["--bench", name]);
    }
    // `languages` runs the Python and JavaScript strategies natively too: with the
    // Python tools' interpreter, and node beside the JavaScript SDK's link.
    if args.first().is_none_or(|n| n == "languages") {
        let root = root();
        c.env("ALPHA_PANDA_PYTHON", polyglot::python_tools(&root)?);
        polyglot::node_tools(&root)?;
    }
    status(c, "cargo bench")
}

/// Plugin crates under `dir`: folders holding a Cargo.toml.
fn crates_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.path().join("Cargo.toml").is_file())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    names
}

fn build_plugins() -> Result<()> {
    setup::wasm_target()?;
    let root = root();
    let test_dir = root.join(TEST_PLUGINS_DIR);
    let test_plugins = crates_in(&test_dir);
    let plugins_dir = root.join(PLUGINS_DIR);
    let plugins = crates_in(&plugins_dir);
    let mut c = cargo();
    c.args([
        "build",
        "--profile",
        PLUGIN_PROFILE,
        "--target",
        WASM_TARGET,
    ]);
    for p in plugins.iter().chain(test_plugins.iter()) {
        c.args(["-p", p]);
    }
    status(c, "build plugins for wasm32-wasip2")?;
    let out_dir = target_dir().join(WASM_TARGET).join(PLUGIN_PROFILE);
    for p in &plugins {
        install_wasm(&out_dir, p, &plugins_dir)?;
    }
    for p in &test_plugins {
        install_wasm(&out_dir, p, &test_dir)?;
    }
    let stamps = target_dir().join("plugin-stamps");
    polyglot::build(&root, &plugins_dir, &stamps)?;
    polyglot::build(&root, &test_dir, &stamps.join("tests"))
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("target"))
}

/// Copies `NAME.wasm` next to its manifest, atomically (write aside, then rename),
/// so a running host never sees half a file.
fn install_wasm(out_dir: &Path, name: &str, dest_dir: &Path) -> Result<()> {
    let file = format!("{}.wasm", name.replace('-', "_"));
    let src = out_dir.join(&file);
    let dest = dest_dir.join(&file);
    let tmp = dest_dir.join(format!(".{file}.tmp"));
    std::fs::copy(&src, &tmp).with_context(|| format!("copy {}", src.display()))?;
    std::fs::rename(&tmp, &dest).with_context(|| format!("install {}", dest.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Command-line words, as `std::env::args` gives them (for the parsers' tests).
    pub(crate) fn strings(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn fuzz_flags_are_taken_out_and_a_bad_runs_is_refused() {
        let f = FuzzFlags::parse(&strings(&[
            "600",
            "--runs",
            "10000000",
            "dlq_record",
            "--no-sanitizer",
        ]))
        .unwrap();
        assert_eq!(
            f,
            FuzzFlags {
                runs: Some(10_000_000),
                sanitizer: false,
                rest: strings(&["600", "dlq_record"]),
            }
        );
        let plain = FuzzFlags::parse(&strings(&["60"])).unwrap();
        assert_eq!((plain.runs, plain.sanitizer), (None, true));
        let e = |a: &[&str]| format!("{:#}", FuzzFlags::parse(&strings(a)).unwrap_err());
        assert!(e(&["--runs"]).contains("--runs takes a number"));
        assert!(e(&["--runs", "many"]).contains("not \"many\""));
    }

    #[test]
    fn an_interrupt_waits_for_the_child_which_gets_its_own() {
        // The child interrupts this process, then exits 3 on its own: xtask is
        // still waiting and reports the 3.
        let mut c = Command::new("sh");
        c.args(["-c", "kill -INT $PPID; sleep 0.3; exit 3"]);
        let st = wait_through_interrupts(&mut c).unwrap();
        assert_eq!(st.code(), Some(3));
        assert_eq!(exit_code(st), ExitCode::from(3));

        // SIGINT is at its default in the child: it ends it (130, as a shell says).
        let mut c = Command::new("sh");
        c.args(["-c", "kill -INT $$; sleep 5; exit 0"]);
        let st = wait_through_interrupts(&mut c).unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(st.signal(), Some(libc::SIGINT), "{st:?}");
        assert_eq!(exit_code(st), ExitCode::from(130));
    }
}
