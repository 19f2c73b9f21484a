//! `cargo xtask kafka [--port PORT]`: a single-node Apache Kafka broker (KRaft, a
//! fresh temporary storage, small heap, fast group settings) in the foreground.
//! The first line of standard output is its bootstrap address `127.0.0.1:PORT`;
//! Ctrl-C or SIGTERM stops it cleanly and removes its storage.

use std::process::ExitCode;
use std::sync::mpsc;
use std::time::Duration;

use alpha_panda_rig::{KafkaBroker, KAFKA_VERSION};
use anyhow::{bail, Context, Result};

pub fn foreground(args: &[String]) -> Result<ExitCode> {
    let port = match args {
        [] => None,
        [flag, p] if flag == "--port" => Some(
            p.parse::<u16>()
                .with_context(|| format!("--port takes a port number, not {p:?}"))?,
        ),
        _ => bail!("usage: cargo xtask kafka [--port PORT]"),
    };
    // SIGINT and SIGTERM are taken by one waiting thread, not by default
    // handlers: blocked here, before any thread starts, so every thread inherits
    // the mask (the broker's JVM does not: spawning resets it).
    let signals = block_stop_signals();
    let dist = crate::setup::kafka()?;
    let mut broker = match port {
        Some(p) => KafkaBroker::start_on(&dist, p),
        None => KafkaBroker::start(&dist),
    }?;
    println!("{}", broker.bootstrap());
    eprintln!(
        "xtask: Apache Kafka {KAFKA_VERSION} (KRaft, one node) on {}; log {}; Ctrl-C stops it",
        broker.bootstrap(),
        broker.log().display()
    );
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sig: libc::c_int = 0;
        // SAFETY: `signals` is an initialised set; sigwait writes only `sig`.
        if unsafe { libc::sigwait(&signals, &mut sig) } == 0 {
            let _ = tx.send(sig);
        }
    });
    loop {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(sig) => {
                eprintln!("xtask: signal {sig}: stopping the broker");
                match broker.stop() {
                    Some(st) => eprintln!("xtask: broker stopped ({st})"),
                    None => eprintln!("xtask: broker stopped"),
                }
                return Ok(ExitCode::SUCCESS);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if let Some(st) = broker.exited() {
                    bail!(
                        "the broker exited by itself ({st}); see {}",
                        broker.log().display()
                    );
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("cannot wait for signals"),
        }
    }
}

/// Blocks SIGINT and SIGTERM in this thread (and the threads it starts) and
/// returns the set, for `sigwait`.
fn block_stop_signals() -> libc::sigset_t {
    // SAFETY: sigemptyset/sigaddset initialise the set; pthread_sigmask reads it.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        set
    }
}
