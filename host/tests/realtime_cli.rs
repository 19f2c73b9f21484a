//! `plugins.realtime_priority` as an operator sets it: `alpha-panda run` puts its
//! pipeline's thread and its strategy workers on `SCHED_FIFO` at that priority and
//! the epoch ticker one above, and leaves every other thread (librdkafka's, the
//! operator's side) on the normal scheduler; a host without the right to refuses
//! to start, says how to grant it, and reads nothing.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use alpha_panda_tests::http::http_get;

const BIN: &str = env!("CARGO_BIN_EXE_alpha-panda");
const SCHED_OTHER: u32 = 0;
const SCHED_FIFO: u32 = 1;
/// `CAP_SYS_NICE` (linux/capability.h): what lets a process use real-time priorities.
const CAP_SYS_NICE: libc::c_ulong = 23;

/// Whether this process may use `SCHED_FIFO`, asked of the kernel on a thread
/// of its own.
fn may_use_fifo() -> bool {
    std::thread::spawn(|| {
        let param = libc::sched_param { sched_priority: 1 };
        unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 }
    })
    .join()
    .expect("the probe's thread")
}

/// `alpha-panda run` on the embedded default with the momentum sample only, at
/// real-time priority 7, metrics on `port`.
fn realtime_run(dir: &Path, port: u16) -> Command {
    let plugins = alpha_panda_tests::paths::copy_samples(&["momentum"], dir);
    let mut cmd = Command::new(BIN);
    alpha_panda_tests::broker::die_with_parent(&mut cmd);
    cmd.arg("run")
        .current_dir(dir)
        .env("ALPHA_PANDA__METRICS__LISTEN", format!("127.0.0.1:{port}"))
        .env("ALPHA_PANDA__PLUGINS__DIR", &plugins)
        .env("ALPHA_PANDA__PLUGINS__CACHE_DIR", dir.join("cache"))
        .env("ALPHA_PANDA__PLUGINS__WORKERS", "2")
        .env("ALPHA_PANDA__PLUGINS__REALTIME_PRIORITY", "7");
    cmd
}

/// Each thread of `pid`: its id, name, policy and real-time priority, from
/// `/proc/PID/task/TID/stat` (fields 41 and 40). The kernel keeps a thread's
/// first 15 bytes of name: `strategy-worker-0` reads `strategy-worker`.
fn threads(pid: u32) -> Vec<(u32, String, u32, u32)> {
    let mut out = Vec::new();
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for task in tasks.flatten() {
        let Ok(stat) = std::fs::read_to_string(task.path().join("stat")) else {
            continue;
        };
        let (Some(open), Some(close)) = (stat.find('('), stat.rfind(')')) else {
            continue;
        };
        let name = stat[open + 1..close].to_owned();
        // After the name, the fields from the third on.
        let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
        let field = |n: usize| fields.get(n - 3).and_then(|f| f.parse().ok());
        let tid = task.file_name().to_string_lossy().parse().unwrap_or(0);
        if let (Some(priority), Some(policy)) = (field(40), field(41)) {
            out.push((tid, name, policy, priority));
        }
    }
    out
}

/// The child without the right to real-time priorities: no `CAP_SYS_NICE` after
/// its exec (root's capabilities come from the bounding set) and an
/// `RLIMIT_RTPRIO` of 0.
fn without_the_right(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::geteuid() == 0
                && libc::prctl(libc::PR_CAPBSET_DROP, CAP_SYS_NICE, 0, 0, 0) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_RTPRIO, &none) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// The host refused to start: a failure naming the setting, the thread and the
/// way to grant the right, and it read nothing.
fn assert_refused(out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stderr}\n{stdout}");
    for needed in [
        "plugins.realtime_priority",
        "pipeline thread",
        "SCHED_FIFO priority 7",
        "CAP_SYS_NICE",
        "RLIMIT_RTPRIO",
    ] {
        assert!(stderr.contains(needed), "{needed:?} in: {stderr}");
    }
    assert!(
        !stdout.contains("embedded broker started") && !stdout.contains("alpha-panda stopped"),
        "it started: {stdout}"
    );
}

/// Sum of a counter's samples on `/metrics`.
fn counter(text: &str, name: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(name))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<f64>().ok())
        .sum()
}

#[test]
fn a_realtime_host_runs_its_pipeline_workers_and_ticker_on_fifo_and_nothing_else() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let port = alpha_panda_tests::free_port();
    let mut cmd = realtime_run(dir.path(), port);
    if !may_use_fifo() {
        let out = cmd.output().expect("the host runs");
        assert_refused(&out);
        return;
    }
    let logs = dir.path().join("host.log");
    let log = std::fs::File::create(&logs).expect("a log file");
    let mut child = cmd
        .stdout(Stdio::from(log.try_clone().expect("the log")))
        .stderr(Stdio::from(log))
        .spawn()
        .expect("the host starts");
    let read_logs = || std::fs::read_to_string(&logs).unwrap_or_default();
    // Up, with its strategy answering ticks: every thread it runs them on exists.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let text = http_get(port, "/metrics").map(|r| r.1).unwrap_or_default();
        if counter(&text, "alpha_panda_strategy_signals_total") > 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no signals\n{}", read_logs());
        assert!(child.try_wait().ok().flatten().is_none(), "{}", read_logs());
        std::thread::sleep(Duration::from_millis(200));
    }
    let pid = child.id();
    let all = threads(pid);
    let of = |prefix: &str| -> Vec<(u32, u32)> {
        all.iter()
            .filter(|(_, n, _, _)| n.starts_with(prefix))
            .map(|(_, _, policy, priority)| (*policy, *priority))
            .collect()
    };
    let pipeline: Vec<_> = all.iter().filter(|t| t.0 == pid).collect();
    assert_eq!(pipeline.len(), 1, "{all:?}");
    assert_eq!((pipeline[0].2, pipeline[0].3), (SCHED_FIFO, 7), "{all:?}");
    for (prefix, expected, count) in [
        ("strategy-lane-", (SCHED_FIFO, 7), 2),
        ("strategy-worker", (SCHED_FIFO, 7), 1),
        ("wasm-epoch", (SCHED_FIFO, 8), 1),
    ] {
        let found = of(prefix);
        assert!(found.len() >= count, "{prefix}: {all:?}");
        assert!(found.iter().all(|p| *p == expected), "{prefix}: {all:?}");
    }
    // Everything else (librdkafka's threads among them) on the normal scheduler.
    let others: Vec<_> = all
        .iter()
        .filter(|(tid, n, _, _)| {
            *tid != pid
                && !["strategy-lane-", "strategy-worker", "wasm-epoch"]
                    .iter()
                    .any(|p| n.starts_with(p))
        })
        .collect();
    assert!(others.iter().any(|t| t.1.starts_with("rdk:")), "{all:?}");
    assert!(
        others.iter().all(|t| (t.2, t.3) == (SCHED_OTHER, 0)),
        "{others:?}"
    );

    unsafe { libc::kill(pid as i32, libc::SIGINT) };
    let status = child.wait().expect("the host stops");
    assert_eq!(status.code(), Some(0), "{}", read_logs());
}

#[test]
fn a_host_that_may_not_use_realtime_priorities_refuses_to_start_and_says_how() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let mut cmd = realtime_run(dir.path(), alpha_panda_tests::free_port());
    without_the_right(&mut cmd);
    let started = Instant::now();
    let out = cmd.output().expect("the host runs");
    assert_refused(&out);
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refused at once, not after a start: {:?}",
        started.elapsed()
    );
}

/// `plugin check` and `replay` run strategies apart from the live stream: they
/// start no real-time thread, so a configuration written for the live host
/// works for them without the right.
#[test]
fn offline_commands_ignore_the_realtime_priority() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let plugins = alpha_panda_tests::paths::copy_samples(&["momentum"], dir.path());
    let offline = |args: &[&str]| {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .current_dir(dir.path())
            .env("ALPHA_PANDA__PLUGINS__DIR", &plugins)
            .env("ALPHA_PANDA__PLUGINS__CACHE_DIR", dir.path().join("cache"))
            .env("ALPHA_PANDA__PLUGINS__REALTIME_PRIORITY", "7");
        without_the_right(&mut cmd);
        let out = cmd.output().expect("the command runs");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {text}");
        text
    };
    let wasm = plugins.join("momentum.wasm");
    let check = offline(&["plugin", "check", &wasm.to_string_lossy()]);
    assert!(
        check.contains("ok:") && check.contains("momentum_1"),
        "{check}"
    );

    let mut csv = String::from("instrument_token,timestamp,last_price\n");
    for i in 0..30 {
        let price = 100.0 + f64::from(i) * 0.5;
        csv.push_str(&format!("738561,2025-08-29T04:45:{i:02}Z,{price}\n"));
    }
    let ticks = dir.path().join("ticks.csv");
    std::fs::write(&ticks, csv).expect("ticks");
    let signals = dir.path().join("signals.jsonl");
    offline(&[
        "replay",
        "--ticks",
        &ticks.to_string_lossy(),
        "--out",
        &signals.to_string_lossy(),
    ]);
    let written = std::fs::read_to_string(&signals).expect("the signals");
    assert!(
        written.contains("\"BUY\""),
        "a rising price signals: {written}"
    );
}
