//! Redis for tests: the machine's server at 127.0.0.1:6379 with a key prefix unique
//! to the test, or a private `redis-server` on a free port that a test may stop.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The shared server's URL (`ALPHA_PANDA_TEST_REDIS` overrides it).
pub fn shared_url() -> String {
    std::env::var("ALPHA_PANDA_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379/0".into())
}

/// A private redis-server, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    port: u16,
}

impl RedisServer {
    pub fn start() -> RedisServer {
        Self::start_on(crate::free_port())
    }

    /// Starts a server on `port` (a restart reuses the port).
    pub fn start_on(port: u16) -> RedisServer {
        let mut cmd = Command::new("redis-server");
        cmd.args([
            "--bind",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
        crate::broker::die_with_parent(&mut cmd);
        let child = cmd.spawn().expect("cannot start redis-server");
        let started = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "redis-server did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        RedisServer {
            child: Some(child),
            port,
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
