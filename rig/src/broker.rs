//! One single-node Apache Kafka broker in KRaft mode (broker and controller in one
//! JVM) on free local ports: its `server.properties`, storage copied from the
//! formatted template, a small heap, fast group settings; started, stopped cleanly,
//! SIGKILLed and restarted on the same storage and ports. Dropped, it is killed and
//! its folder removed.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::install::{java, KafkaDist};
use crate::{free_port, tail, RigError};

/// Broker settings beyond Kafka's defaults, for one node on a small machine.
/// Everything else (retention, timestamps, transactions) is Kafka's default, so
/// the tests meet the broker production runs.
pub const BROKER_SETTINGS: &[(&str, &str)] = &[
    // One node: every internal topic has one replica.
    ("offsets.topic.replication.factor", "1"),
    ("transaction.state.log.replication.factor", "1"),
    ("transaction.state.log.min.isr", "1"),
    ("share.coordinator.state.topic.replication.factor", "1"),
    ("share.coordinator.state.topic.min.isr", "1"),
    // Fewer internal partitions: created at the first group or transaction, 50
    // each by default, which costs seconds on two cores.
    ("offsets.topic.num.partitions", "4"),
    ("transaction.state.log.num.partitions", "4"),
    // A group's first join is not held back 3 s waiting for more members.
    ("group.initial.rebalance.delay.ms", "0"),
    // Lets test consumers use short sessions (they use 6 s).
    ("group.min.session.timeout.ms", "1000"),
    // Group writes are not held back to batch them. Kafka 4.1.1 with its default
    // (5 ms) answered a group's requests, heartbeats included, up to 10 s late
    // after a pause in the traffic, so sessions timed out (BENCHMARKS.md, "A
    // stall after a quiet spell"); without it, no stall in 5 starts.
    ("group.coordinator.append.linger.ms", "0"),
    // Fewer threads and a compaction buffer that fits a small heap.
    ("num.network.threads", "2"),
    ("num.io.threads", "4"),
    ("background.threads", "2"),
    ("num.recovery.threads.per.data.dir", "1"),
    ("log.cleaner.threads", "1"),
    ("log.cleaner.dedupe.buffer.size", "16777216"),
];

/// The JVM's heap limit (MiB).
const HEAP_MIB: u32 = 512;

/// How long a start (or a restart with log recovery) may take.
const START_LIMIT: Duration = Duration::from_secs(90);

/// How long a clean stop may take before the process is killed.
const STOP_LIMIT: Duration = Duration::from_secs(60);

/// The line the broker logs once it serves clients.
const STARTED: &str = "Kafka Server started";

/// The `server.properties` of a node with its data in `log_dir`, clients on
/// `port` and the controller on `controller_port` (both 127.0.0.1).
pub fn server_properties(log_dir: &Path, port: u16, controller_port: u16) -> String {
    let mut text = format!(
        "process.roles=broker,controller\n\
         node.id=1\n\
         controller.quorum.voters=1@127.0.0.1:{controller_port}\n\
         listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}\n\
         advertised.listeners=PLAINTEXT://127.0.0.1:{port}\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\n\
         listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
         log.dirs={}\n",
        log_dir.display()
    );
    for (k, v) in BROKER_SETTINGS {
        text.push_str(&format!("{k}={v}\n"));
    }
    text
}

/// Log4j 2: everything at INFO to standard output (the broker's log file).
const LOG4J: &str = "rootLogger.level=INFO\n\
rootLogger.appenderRef.stdout.ref=STDOUT\n\
appender.stdout.type=Console\n\
appender.stdout.name=STDOUT\n\
appender.stdout.layout.type=PatternLayout\n\
appender.stdout.layout.pattern=[%d] %p %m (%c)%n\n\
logger.kafka.name=kafka\n\
logger.kafka.level=INFO\n\
logger.state.name=state.change.logger\n\
logger.state.level=WARN\n";

/// A running (or killed, to be restarted) broker.
pub struct KafkaBroker {
    dist: KafkaDist,
    dir: PathBuf,
    port: u16,
    controller_port: u16,
    child: Option<Child>,
}

impl KafkaBroker {
    /// Starts a broker on free ports with empty storage in a new temporary folder,
    /// and returns once it serves clients.
    pub fn start(dist: &KafkaDist) -> Result<KafkaBroker, RigError> {
        Self::start_on(dist, free_port()?)
    }

    /// As [`start`](Self::start), with clients on `port`.
    pub fn start_on(dist: &KafkaDist, port: u16) -> Result<KafkaBroker, RigError> {
        let dir = new_dir()?;
        let data = dir.join("data");
        copy_dir(&dist.storage_template(), &data)?;
        let mut controller_port = free_port()?;
        while controller_port == port {
            controller_port = free_port()?;
        }
        let props = dir.join("server.properties");
        std::fs::write(&props, server_properties(&data, port, controller_port))
            .map_err(|e| RigError::io("write", &props, e))?;
        let log4j = dir.join("log4j2.properties");
        std::fs::write(&log4j, LOG4J).map_err(|e| RigError::io("write", &log4j, e))?;
        let mut broker = KafkaBroker {
            dist: dist.clone(),
            dir,
            port,
            controller_port,
            child: None,
        };
        broker.launch()?;
        Ok(broker)
    }

    /// Spawns the JVM and waits for it to serve clients.
    fn launch(&mut self) -> Result<(), RigError> {
        let log = self.log();
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .map_err(|e| RigError::io("open", &log, e))?;
        let from = file.metadata().map(|m| m.len()).unwrap_or(0);
        let out = file
            .try_clone()
            .map_err(|e| RigError::io("open", &log, e))?;
        let mut cmd = Command::new(java());
        cmd.arg(format!("-Xmx{HEAP_MIB}m"))
            .args([
                "-Xms64m",
                "-XX:+UseSerialGC",
                // The client JIT only: a test broker lives minutes, and with C2
                // the JVM spent up to half of one of this machine's two cores
                // compiling while tests and benchmarks ran beside it (in-host
                // p99 at 50 000 ticks/s fell from 10-40 ms to 2.5-5 ms without
                // it; BENCHMARKS.md, "Issue 19, session 32").
                "-XX:TieredStopAtLevel=1",
                "-XX:+ExitOnOutOfMemoryError",
                "-Djava.awt.headless=true",
            ])
            .arg(format!(
                "-Dlog4j2.configurationFile={}",
                self.dir.join("log4j2.properties").display()
            ))
            .arg("-cp")
            .arg(self.dist.classpath())
            .arg("kafka.Kafka")
            .arg(self.dir.join("server.properties"))
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(file));
        // A process group of its own: a terminal's Ctrl-C reaches the broker's
        // owner, which stops it cleanly, not the JVM directly.
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        die_with_parent(&mut cmd);
        let child = cmd
            .spawn()
            .map_err(|e| RigError::io("start java (the broker)", java(), e))?;
        self.child = Some(child);
        self.wait_started(from)
    }

    /// Waits until the log, from byte `from` on, says the broker serves clients.
    fn wait_started(&mut self, from: u64) -> Result<(), RigError> {
        let log = self.log();
        let started = Instant::now();
        let mut seen = String::new();
        let mut at = from;
        loop {
            if let Ok(mut f) = std::fs::File::open(&log) {
                if f.seek(SeekFrom::Start(at)).is_ok() {
                    let mut more = String::new();
                    if let Ok(n) = f.read_to_string(&mut more) {
                        at += n as u64;
                        seen.push_str(&more);
                    }
                }
            }
            if seen.contains(STARTED) {
                return Ok(());
            }
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                self.child = None;
                return Err(RigError::Exited {
                    status: status.to_string(),
                    log: log.clone(),
                    tail: tail(&log, 40),
                });
            }
            if started.elapsed() > START_LIMIT {
                self.kill();
                return Err(RigError::NotReady {
                    secs: START_LIMIT.as_secs(),
                    log: log.clone(),
                    tail: tail(&log, 40),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `127.0.0.1:PORT`, what clients connect to.
    pub fn bootstrap(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn controller_port(&self) -> u16 {
        self.controller_port
    }

    /// The broker's log file (every start appends to it).
    pub fn log(&self) -> PathBuf {
        self.dir.join("broker.log")
    }

    /// The folder holding its configuration, storage and log.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The JVM's process id while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// SIGKILL: the broker dies at once, as in a crash; its storage stays for
    /// [`restart`](Self::restart).
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM and a wait for the clean shutdown (killed after a minute).
    pub fn stop(&mut self) -> Option<ExitStatus> {
        let mut c = self.child.take()?;
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(c.id() as libc::pid_t, libc::SIGTERM);
        }
        let until = Instant::now() + STOP_LIMIT;
        loop {
            match c.try_wait() {
                Ok(Some(st)) => return Some(st),
                Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(50)),
                _ => {
                    let _ = c.kill();
                    return c.wait().ok();
                }
            }
        }
    }

    /// Starts the broker again on the same storage and ports (after `kill` or
    /// `stop`), and returns once it serves clients.
    pub fn restart(&mut self) -> Result<(), RigError> {
        self.kill();
        self.launch()
    }

    /// The exit status, if the broker process has ended by itself.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        let st = self.child.as_mut()?.try_wait().ok().flatten()?;
        self.child = None;
        Some(st)
    }
}

impl Drop for KafkaBroker {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// All brokers' folders: `$TMPDIR/alpha-panda-kafka/PID-N`.
fn base_dir() -> PathBuf {
    std::env::temp_dir().join("alpha-panda-kafka")
}

/// A new broker folder; first removes the folders of processes that are gone (a
/// test binary killed before its brokers could clean up).
fn new_dir() -> Result<PathBuf, RigError> {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let base = base_dir();
    for entry in std::fs::read_dir(&base).into_iter().flatten().flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.split('-').next())
            .and_then(|p| p.parse::<libc::pid_t>().ok());
        // SAFETY: kill(pid, 0) only asks whether the process exists.
        if pid.is_some_and(|p| unsafe { libc::kill(p, 0) } != 0) {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
    let dir = base.join(format!(
        "{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| RigError::io("create", &dir, e))?;
    Ok(dir)
}

fn copy_dir(from: &Path, to: &Path) -> Result<(), RigError> {
    std::fs::create_dir_all(to).map_err(|e| RigError::io("create", to, e))?;
    let entries = std::fs::read_dir(from).map_err(|e| RigError::io("read", from, e))?;
    for entry in entries.flatten() {
        let dest = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &dest)?;
        } else {
            std::fs::copy(entry.path(), &dest)
                .map_err(|e| RigError::io("copy the storage template to", &dest, e))?;
        }
    }
    Ok(())
}

/// Makes the child die (SIGKILL) with the thread that spawned it.
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_properties_name_both_listeners_and_every_setting() {
        let text = server_properties(Path::new("/x/data"), 4001, 4002);
        assert!(text.contains("listeners=PLAINTEXT://127.0.0.1:4001,CONTROLLER://127.0.0.1:4002\n"));
        assert!(text.contains("controller.quorum.voters=1@127.0.0.1:4002\n"));
        assert!(text.contains("log.dirs=/x/data\n"));
        for (k, v) in BROKER_SETTINGS {
            assert!(text.contains(&format!("\n{k}={v}\n")), "{k}");
        }
    }
}
