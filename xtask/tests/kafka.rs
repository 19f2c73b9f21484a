//! `cargo xtask kafka` as a user runs it: the first line of standard output is the
//! broker's address, a client can talk to it, and SIGTERM or a terminal's Ctrl-C
//! (SIGINT to the foreground process group) stops it cleanly and removes its
//! storage. Bad arguments and a port already taken are refused with a clear error.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn xtask() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_xtask"));
    c.arg("kafka");
    c
}

/// Starts `cargo xtask kafka` in its own process group; returns it and the
/// address it printed first.
fn start() -> (Child, String) {
    let mut child = xtask()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("spawn xtask kafka");
    let mut first = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut first)
        .expect("read the first line");
    (child, first.trim().to_owned())
}

/// Asks the broker for its API versions (Kafka's ApiVersions v0, spoken directly):
/// a broker that answers serves clients.
fn api_versions_answered(addr: &str) -> bool {
    let Ok(mut s) = std::net::TcpStream::connect(addr) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(10)));
    let mut body = Vec::new();
    body.extend(18i16.to_be_bytes());
    body.extend(0i16.to_be_bytes());
    body.extend(1i32.to_be_bytes());
    body.extend(2i16.to_be_bytes());
    body.extend(b"ap");
    let mut req = (body.len() as i32).to_be_bytes().to_vec();
    req.extend(body);
    if s.write_all(&req).is_err() {
        return false;
    }
    let mut len = [0u8; 4];
    s.read_exact(&mut len).is_ok() && i32::from_be_bytes(len) > 6
}

/// Waits (bounded) for the child to exit; its status and standard error.
fn wait_exit(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let until = Instant::now() + limit;
    let code = loop {
        if let Some(st) = child.try_wait().expect("wait") {
            break st.code();
        }
        if Instant::now() > until {
            let _ = child.kill();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    (code, err)
}

/// The storage folder the broker log line names (`log /tmp/.../broker.log`).
fn storage_dir(stderr_head: &str) -> Option<std::path::PathBuf> {
    let log = stderr_head.split("; log ").nth(1)?.split(';').next()?;
    Some(std::path::Path::new(log.trim()).parent()?.to_path_buf())
}

fn stops_cleanly_on(signal: libc::c_int, to_group: bool) {
    let (child, addr) = start();
    assert!(
        addr.starts_with("127.0.0.1:") && addr[10..].parse::<u16>().is_ok(),
        "first line is the bootstrap address: {addr:?}"
    );
    assert!(api_versions_answered(&addr), "the broker at {addr} answers");
    let pid = child.id() as libc::pid_t;
    // SAFETY: kill(2) on our own child (or its process group).
    unsafe {
        libc::kill(if to_group { -pid } else { pid }, signal);
    }
    let (code, err) = wait_exit(child, Duration::from_secs(90));
    assert_eq!(code, Some(0), "a clean stop exits 0:\n{err}");
    assert!(err.contains("stopping the broker"), "{err}");
    let dir = storage_dir(&err).expect("the log path is printed");
    assert!(!dir.exists(), "{} is removed", dir.display());
    assert!(
        !api_versions_answered(&addr),
        "nothing listens on {addr} any more"
    );
}

#[test]
fn prints_its_address_first_and_stops_cleanly_on_sigterm() {
    stops_cleanly_on(libc::SIGTERM, false);
}

#[test]
fn a_terminals_ctrl_c_stops_it_cleanly() {
    stops_cleanly_on(libc::SIGINT, true);
}

#[test]
fn a_bad_port_argument_is_refused_by_name() {
    let out = xtask().args(["--port", "ninety"]).output().expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--port takes a port number, not \"ninety\""),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "no address printed");
}

#[test]
fn a_port_already_taken_fails_with_the_brokers_own_reason() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = taken.local_addr().expect("addr").port();
    let out = xtask()
        .args(["--port", &port.to_string()])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("exited while starting"), "{err}");
    assert!(
        err.contains("Address already in use") || err.contains("BindException"),
        "the broker's log says why: {err}"
    );
    assert!(out.stdout.is_empty(), "no address printed");
}
