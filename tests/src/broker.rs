//! A real Kafka-API broker for tests: `tansu` on a free port (memory storage, or a
//! sqlite file that survives a restart), or the external cluster named by
//! `ALPHA_PANDA_TEST_BOOTSTRAP` (a real Redpanda).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Environment variable naming an external cluster to test against instead of tansu.
pub const EXTERNAL_BOOTSTRAP: &str = "ALPHA_PANDA_TEST_BOOTSTRAP";

/// Consumer settings that keep group joins short on tansu (its default session
/// and poll timeouts make each join of a test's group take about 20 s).
pub const FAST_GROUP_SETTINGS: &[(&str, &str)] = &[
    ("session.timeout.ms", "6000"),
    ("max.poll.interval.ms", "10000"),
    ("heartbeat.interval.ms", "1000"),
    ("fetch.wait.max.ms", "10"),
];

/// A broker process owned by a test; killed on drop.
pub struct Broker {
    child: Option<Child>,
    port: u16,
    bootstrap: String,
    pub log: PathBuf,
}

impl Broker {
    /// Starts a tansu broker on a free port with in-memory storage.
    pub fn start_tansu() -> Broker {
        Self::start_tansu_with("memory://tansu/", None)
    }

    /// Starts tansu with the given storage URL, on `port` if given (a restart
    /// reuses its predecessor's port and sqlite file).
    pub fn start_tansu_with(storage: &str, port: Option<u16>) -> Broker {
        let port = port.unwrap_or_else(crate::free_port);
        let dir = std::env::temp_dir().join(crate::unique("tansu"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let log = dir.join("tansu.log");
        let log_file = std::fs::File::create(&log).expect("tansu log file");
        let url = format!("tcp://127.0.0.1:{port}");
        let mut cmd = Command::new("tansu");
        cmd.args([
            "broker",
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &url,
            "--storage-engine",
            storage,
        ])
        .current_dir(std::env::current_dir().unwrap_or(dir.clone()))
        .stdin(Stdio::null())
        .stdout(Stdio::from(log_file.try_clone().expect("log")))
        .stderr(Stdio::from(log_file));
        die_with_parent(&mut cmd);
        let child = cmd.spawn().expect(
            "cannot start `tansu`: run the test command (cargo xtask test), which installs it",
        );
        let broker = Broker {
            child: Some(child),
            port,
            bootstrap: format!("127.0.0.1:{port}"),
            log,
        };
        broker.wait_ready(Duration::from_secs(30));
        broker
    }

    fn wait_ready(&self, limit: Duration) {
        let started = Instant::now();
        while started.elapsed() < limit {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        panic!(
            "tansu did not listen on {} within {limit:?}:\n{log}",
            self.port
        );
    }

    /// The `host:port` clients connect to.
    pub fn bootstrap(&self) -> &str {
        &self.bootstrap
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the broker process now.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The broker shared by every test of this test binary: the external cluster when
/// `ALPHA_PANDA_TEST_BOOTSTRAP` is set, else one tansu started on first use and
/// stopped when the test process exits.
pub fn shared_bootstrap() -> String {
    if let Ok(external) = std::env::var(EXTERNAL_BOOTSTRAP) {
        if !external.trim().is_empty() {
            return external;
        }
    }
    static SHARED: OnceLock<String> = OnceLock::new();
    SHARED
        .get_or_init(|| {
            // The broker is started by a thread that lives as long as the process,
            // so its parent-death signal fires only when the process ends.
            let (tx, rx) = std::sync::mpsc::channel();
            std::thread::Builder::new()
                .name("tansu-keeper".into())
                .spawn(move || {
                    let broker = Broker::start_tansu();
                    let _ = tx.send(broker.bootstrap().to_owned());
                    loop {
                        std::thread::park();
                    }
                })
                .expect("keeper thread");
            rx.recv().expect("tansu did not start")
        })
        .clone()
}

/// True when tests run against an external cluster (no broker restarts possible).
pub fn is_external() -> bool {
    std::env::var(EXTERNAL_BOOTSTRAP).is_ok_and(|v| !v.trim().is_empty())
}

/// Makes the child die with the thread that spawned it.
pub fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe; nothing else runs between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}
