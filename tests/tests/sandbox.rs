//! Hostile plugins against the sandbox: each is stopped or refused with the right
//! message, the host survives, and the other strategies are unaffected.

mod common;

use alpha_panda::contract::MarketTick;
use alpha_panda::strategy::SlotConfig;
use alpha_panda::wasm::{Fault, LoadError};
use alpha_panda_tests::paths;
use common::*;

const TOKEN: u32 = 738561;

fn run_mode(mode: &str, ticks: usize) -> (Vec<Fault>, usize) {
    let engine = engine();
    let manifest = hostile_manifest("h", mode, -1, &[TOKEN], "");
    let mut set = set_with(
        &engine,
        SlotConfig::default(),
        &[(paths::test_wasm("hostile"), manifest)],
    );
    let ticks: Vec<MarketTick> = (0..ticks).map(|i| tick(TOKEN, "100.5", i as i64)).collect();
    let refs: Vec<&MarketTick> = ticks.iter().collect();
    let out = set.process(&refs);
    (
        out.faults.into_iter().map(|f| f.fault).collect(),
        out.signals.len(),
    )
}

#[test]
fn infinite_loop_is_stopped_by_the_deadline() {
    let started = std::time::Instant::now();
    let (faults, signals) = run_mode("loop", 2);
    assert_eq!(signals, 0);
    assert_eq!(faults.len(), 2, "{faults:?}");
    assert!(
        faults.iter().all(|f| matches!(f, Fault::Timeout(_))),
        "{faults:?}"
    );
    // Two ticks: a batch deadline, then one deadline per tick while bisecting.
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

/// CPU time of this thread (the clock the host's deadline counts).
fn thread_cpu() -> std::time::Duration {
    alpha_panda::wasm::cpu::thread_cpu_time().expect("a thread CPU clock")
}

/// Pins the calling thread to CPU 0 (the previous mask is returned).
fn pin_to_cpu0() -> libc::cpu_set_t {
    // SAFETY: plain libc call on a cpu_set_t owned here; pid 0 = this thread.
    let old = unsafe {
        let mut old: libc::cpu_set_t = std::mem::zeroed();
        libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut old);
        old
    };
    pin_thread_to_cpu0(0);
    old
}

/// One tick of the `spin` mode with `iterations`, under `engine`: (faults, signals,
/// CPU time and wall time of the call).
fn spin_once(
    set: &mut alpha_panda::strategy::StrategySet,
    i: i64,
) -> (Vec<Fault>, usize, std::time::Duration, std::time::Duration) {
    let t = tick(TOKEN, "100.5", i);
    let (cpu, wall) = (thread_cpu(), std::time::Instant::now());
    let out = set.process(&[&t]);
    let (cpu, wall) = (thread_cpu() - cpu, wall.elapsed());
    (
        out.faults.into_iter().map(|f| f.fault).collect(),
        out.signals.len(),
        cpu,
        wall,
    )
}

fn spin_set(
    engine: &alpha_panda::wasm::StrategyEngine,
    iterations: u64,
) -> alpha_panda::strategy::StrategySet {
    let manifest = hostile_manifest(
        "spin",
        "spin",
        -1,
        &[TOKEN],
        &format!("spin = {iterations}\n"),
    );
    set_with(
        engine,
        SlotConfig::default(),
        &[(paths::test_wasm("hostile"), manifest)],
    )
}

/// `plugins.call_timeout_ms` is CPU time per tick, with no floor: a tick that
/// needs less CPU than that finishes even when the machine's load stretches it
/// over several deadlines of wall time, and one that needs more is stopped at
/// its deadline (not 100 ms later, as the old wall-clock floor allowed).
#[test]
fn the_deadline_is_cpu_time_per_tick() {
    use std::time::Duration;
    let deadline = Duration::from_millis(20);
    let engine = alpha_panda::wasm::StrategyEngine::new(
        alpha_panda::wasm::EngineLimits {
            call_timeout: deadline,
            ..alpha_panda::wasm::EngineLimits::default()
        },
        None,
    )
    .unwrap();
    // Calibrate: iterations per millisecond of this machine's CPU.
    let probe = 2_000_000u64;
    let mut set = spin_set(&engine, probe);
    spin_once(&mut set, 0);
    let (faults, _, cpu, _) = spin_once(&mut set, 1);
    assert!(faults.is_empty(), "{faults:?}");
    let per_ms = (probe as f64 / cpu.as_secs_f64() / 1000.0).max(1.0);

    // About 8 ms of CPU, on one core shared with four busy threads.
    let mut set = spin_set(&engine, (per_ms * 8.0) as u64);
    spin_once(&mut set, 0);
    let old = pin_to_cpu0();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let hogs: Vec<_> = (0..4)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                pin_to_cpu0();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    std::hint::black_box(0u64);
                }
            })
        })
        .collect();
    let loaded: Vec<_> = (1..=3).map(|i| spin_once(&mut set, i)).collect();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for h in hogs {
        h.join().unwrap();
    }
    // SAFETY: restores the mask read above, for this thread.
    unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &old) };
    let stretched = loaded.iter().filter(|r| r.3 > deadline).count();
    assert!(
        stretched >= 1,
        "the load stretched a call past its deadline in wall time: {:?}",
        loaded.iter().map(|r| (r.2, r.3)).collect::<Vec<_>>()
    );
    for (faults, signals, cpu, wall) in &loaded {
        assert!(faults.is_empty(), "cpu {cpu:?}, wall {wall:?}: {faults:?}");
        assert_eq!(*signals, 1);
    }

    // About 3 deadlines of CPU: stopped at the deadline, with its value.
    let mut set = spin_set(&engine, (per_ms * 60.0) as u64);
    let (faults, signals, cpu, _) = spin_once(&mut set, 0);
    assert_eq!(signals, 0);
    assert!(
        matches!(&faults[..], [Fault::Timeout(d), ..] if *d == deadline),
        "{faults:?}"
    );
    assert!(
        cpu < Duration::from_millis(100),
        "stopped near 20 ms of CPU, not 100: {cpu:?}"
    );
}

#[test]
fn allocation_past_the_cap_is_a_memory_fault() {
    let (faults, signals) = run_mode("alloc", 1);
    assert_eq!(signals, 0);
    assert!(matches!(&faults[..], [Fault::OutOfMemory(_)]), "{faults:?}");
}

#[test]
fn panic_is_a_fault_with_its_message() {
    let (faults, _) = run_mode("panic", 1);
    match &faults[..] {
        [Fault::Panic(msg)] => assert!(msg.contains("hostile plugin panics"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn signal_flood_is_capped() {
    let (faults, signals) = run_mode("flood", 1);
    assert_eq!(signals, 0);
    match &faults[..] {
        [Fault::InvalidOutput(msg)] => assert!(msg.contains("more than 16 signals"), "{msg}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nan_price_is_refused() {
    let (faults, signals) = run_mode("nan", 1);
    assert_eq!(signals, 0);
    let msg = match &faults[..] {
        [Fault::Strategy(m)] | [Fault::InvalidOutput(m)] => m.clone(),
        other => panic!("{other:?}"),
    };
    assert!(msg.contains("NaN"), "{msg}");
}

#[test]
fn no_file_socket_env_or_clock() {
    let engine = engine();
    let manifest = hostile_manifest("h", "escape", -1, &[TOKEN], "");
    let mut set = set_with(
        &engine,
        SlotConfig::default(),
        &[(paths::test_wasm("hostile"), manifest)],
    );
    let t = tick(TOKEN, "100", 0);
    let out = set.process(&[&t]);
    assert!(out.faults.is_empty(), "{:?}", out.faults);
    let meta: std::collections::HashMap<_, _> =
        out.signals[0].signal.metadata.iter().cloned().collect();
    assert!(meta["file"].starts_with("denied"), "{meta:?}");
    assert!(meta["socket"].starts_with("denied"), "{meta:?}");
    assert_eq!(meta["env_vars"], "0", "{meta:?}");
    assert_eq!(
        meta["clock_secs"], "0",
        "the wall clock is frozen at the epoch: {meta:?}"
    );
}

#[test]
fn forbidden_import_is_refused_by_name() {
    let err = engine()
        .load_file(&paths::test_wasm("forbidden_import"))
        .unwrap_err();
    assert_eq!(
        err,
        LoadError::ForbiddenImport {
            name: "evil:net/socket".into()
        }
    );
    assert!(err.to_string().contains("evil:net/socket"));
}

#[test]
fn other_wit_version_is_refused_naming_it() {
    let err = engine()
        .load_file(&paths::test_wasm("wrong_wit"))
        .unwrap_err();
    assert_eq!(
        err,
        LoadError::WrongVersion {
            found: "0.1.0".into()
        }
    );
    assert!(
        err.to_string().contains("alpha-panda:strategy@0.1.0"),
        "{err}"
    );
}

#[test]
fn non_components_are_refused() {
    let engine = engine();
    assert_eq!(
        engine.load_bytes(b"not wasm at all").unwrap_err(),
        LoadError::NotWasm
    );
    // The smallest valid core module.
    assert_eq!(
        engine.load_bytes(b"\0asm\x01\0\0\0").unwrap_err(),
        LoadError::CoreModule
    );
    let mut truncated = std::fs::read(paths::test_wasm("hostile")).unwrap();
    truncated.truncate(truncated.len() / 2);
    assert!(matches!(
        engine.load_bytes(&truncated).unwrap_err(),
        LoadError::Compile(_)
    ));
}

#[test]
fn failing_init_names_the_parameter() {
    let engine = engine();
    let (c, m) = load(
        &engine,
        &paths::test_wasm("hostile"),
        &hostile_manifest("h", "counter", -1, &[TOKEN], "speed = 3\n"),
    );
    let err = match alpha_panda::strategy::StrategySlot::start(
        &engine,
        c.clone(),
        m,
        SlotConfig::default(),
    ) {
        Err(e) => e,
        Ok(_) => panic!("an unknown parameter must be refused"),
    };
    assert!(
        matches!(&err, LoadError::Init(msg) if msg.contains("speed")),
        "{err}"
    );
    let (_, m) = load(
        &engine,
        &paths::test_wasm("hostile"),
        &hostile_manifest("h", "counter", -1, &[TOKEN], "version = \"two\"\n"),
    );
    let err = alpha_panda::strategy::StrategySlot::start(&engine, c, m, SlotConfig::default())
        .err()
        .expect("refused");
    assert!(err.to_string().contains("version"), "{err}");
}

#[test]
fn a_faulting_plugin_does_not_change_other_strategies() {
    let engine = engine();
    let ticks = paper_ticks(11, 600);
    let refs: Vec<&MarketTick> = ticks.iter().map(|e| &e.data).collect();
    let momentum = sample("momentum");
    let mut alone = set_with(
        &engine,
        SlotConfig::default(),
        std::slice::from_ref(&momentum),
    );
    let all_tokens = [738561, 81153, 2714625, 408065, 341249, 256265];
    let mut mixed = set_with(
        &engine,
        SlotConfig::default(),
        &[
            momentum,
            (
                paths::test_wasm("hostile"),
                hostile_manifest("a_panic", "panic", -1, &all_tokens, ""),
            ),
            (
                paths::test_wasm("hostile"),
                hostile_manifest("b_loop", "loop", -1, &all_tokens, ""),
            ),
        ],
    );
    let mut expected = Vec::new();
    let mut got = Vec::new();
    for chunk in refs.chunks(64) {
        expected.extend(alone.process(chunk).signals);
        let out = mixed.process(chunk);
        got.extend(
            out.signals
                .into_iter()
                .filter(|s| s.strategy_id == "momentum_1"),
        );
    }
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
    assert!(mixed.get("a_panic").unwrap().is_quarantined());
    assert!(mixed.get("b_loop").unwrap().is_quarantined());
}

#[test]
fn allow_list_and_size_limit_guard_the_supply_chain() {
    use alpha_panda::wasm::{EngineLimits, StrategyEngine};
    use sha2::Digest;
    let momentum = paths::sample_wasm("momentum");
    let sha = hex::encode(sha2::Sha256::digest(std::fs::read(&momentum).unwrap()));
    let engine = StrategyEngine::new(EngineLimits::default(), None)
        .unwrap()
        .with_allow_list(vec![sha.to_uppercase()]);
    assert_eq!(engine.load_file(&momentum).unwrap().sha256(), sha);
    match engine.load_file(&paths::test_wasm("hostile")).unwrap_err() {
        LoadError::NotAllowed { sha256 } => assert_ne!(sha256, sha),
        other => panic!("{other:?}"),
    }
    let small = StrategyEngine::new(
        EngineLimits {
            max_wasm_bytes: 1024,
            ..EngineLimits::default()
        },
        None,
    )
    .unwrap();
    let err = small.load_file(&momentum).unwrap_err();
    assert!(
        matches!(err, LoadError::TooLarge { max: 1024, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("plugins.max_wasm_bytes"));
}

/// Each stage of starting or handing over a strategy fails with its own error: a
/// state the plugin refuses is a restore error, not "refused its parameters".
#[test]
fn a_refused_state_is_a_restore_error_not_a_parameter_error() {
    let engine = engine();
    let (c, m) = load(
        &engine,
        &paths::test_wasm("hostile"),
        &hostile_manifest("h", "counter", -1, &[TOKEN], ""),
    );
    let mut slot = alpha_panda::strategy::StrategySlot::start(&engine, c, m, SlotConfig::default())
        .expect("starts");
    let good = slot.snapshot_now().expect("a snapshot");
    let err = slot
        .restore_state(b"not a snapshot")
        .expect_err("bytes that are no snapshot are refused");
    assert!(
        matches!(&err, LoadError::Restore(msg) if msg.contains("not an alpha-panda snapshot")),
        "{err}"
    );
    assert!(
        err.to_string()
            .starts_with("plugin refused the state it was given: state refused:"),
        "{err}"
    );
    slot.restore_state(&good)
        .expect("the slot still takes a good state after a refused one");
}

/// The epoch tickers of this process (their thread ids).
fn tickers() -> Vec<libc::pid_t> {
    let tasks = std::fs::read_dir("/proc/self/task").expect("this process's threads");
    tasks
        .flatten()
        .filter(|t| {
            std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == "wasm-epoch")
        })
        .filter_map(|t| t.file_name().to_string_lossy().parse().ok())
        .collect()
}

/// Pins thread `tid` to CPU 0 (0: the calling thread).
fn pin_thread_to_cpu0(tid: libc::pid_t) {
    // SAFETY: plain libc calls on a cpu_set_t owned here.
    unsafe {
        let mut one: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(0, &mut one);
        assert_eq!(
            libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &one),
            0
        );
    }
}

/// With `plugins.realtime_priority` the strategy workers run at `SCHED_FIFO`:
/// a looping call on one still stops at its deadline when the worker and the
/// epoch ticker share one CPU, because the ticker runs one priority above. At
/// the workers' priority or the normal scheduler it would not run until the loop
/// ended, or until the kernel's real-time throttling let it, about a second on.
#[test]
fn a_looping_call_at_realtime_priority_is_stopped_by_the_ticker_above_it() {
    use std::time::{Duration, Instant};
    let deadline = Duration::from_millis(10);
    let limits = alpha_panda::wasm::EngineLimits {
        call_timeout: deadline,
        ticker_priority: 8,
        ..alpha_panda::wasm::EngineLimits::default()
    };
    let before = tickers();
    let engine = match alpha_panda::wasm::StrategyEngine::new(limits, None) {
        Ok(engine) => engine,
        Err(e) => {
            // Only a process without the right may not start a real-time ticker.
            let may = std::thread::spawn(|| alpha_panda::sched::enter("probe", 8).is_ok())
                .join()
                .unwrap();
            assert!(!may && e.to_string().contains("CAP_SYS_NICE"), "{e}");
            return;
        }
    };
    let manifest = hostile_manifest("h", "loop", -1, &[TOKEN], "");
    let mut set = set_with(
        &engine,
        SlotConfig::default(),
        &[(paths::test_wasm("hostile"), manifest)],
    );
    // This engine's ticker (the other tests' engines keep theirs where they are).
    for tid in tickers().into_iter().filter(|t| !before.contains(t)) {
        pin_thread_to_cpu0(tid);
    }
    let (done, result) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        pin_to_cpu0();
        alpha_panda::sched::enter("worker", 7).expect("the ticker took 8");
        let t = tick(TOKEN, "100.5", 0);
        let started = Instant::now();
        let out = set.process(&[&t]);
        let faults: Vec<Fault> = out.faults.into_iter().map(|f| f.fault).collect();
        let _ = done.send((faults, out.signals.len(), started.elapsed()));
    });
    let (faults, signals, took) = result
        .recv_timeout(Duration::from_secs(30))
        .expect("the looping call was stopped");
    assert_eq!(signals, 0);
    assert!(
        matches!(&faults[..], [Fault::Timeout(d)] if *d == deadline),
        "{faults:?}"
    );
    assert!(
        took < Duration::from_millis(500),
        "stopped near its 10 ms deadline, not after a throttling period: {took:?}"
    );
}
