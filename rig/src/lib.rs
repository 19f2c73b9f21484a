//! The test rig: a real Apache Kafka broker (KRaft mode, one process, jars from
//! Maven Central) on free ports, for the integration tests, `cargo xtask kafka`,
//! the end-to-end run and the soak. Everything it starts stops when its owner drops.
//!
//! Layout:
//! - [`command`]: running a set-up command and keeping its output for the error.
//! - [`install`]: resolving the broker's jars with Maven into a per-machine cache,
//!   and the formatted storage template every broker starts from.
//! - [`broker`]: one KRaft broker process: configuration, start, clean stop,
//!   SIGKILL and restart on the same storage and ports.

pub mod broker;
pub mod command;
pub mod install;

pub use broker::{die_with_parent, KafkaBroker, BROKER_SETTINGS};
pub use command::CommandError;
pub use install::{KafkaDist, KAFKA_VERSION};

use std::path::PathBuf;

/// What went wrong in the rig, with the command, file or port at fault.
#[derive(Debug, thiserror::Error)]
pub enum RigError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error("the Kafka broker's jars are not installed in {dir}: run `cargo xtask setup` (it resolves them from Maven Central once per machine)")]
    NotInstalled { dir: PathBuf },
    #[error("{what}: {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no free local port: {0}")]
    NoPort(std::io::Error),
    #[error("the Kafka broker did not start within {secs} s; the last lines of {log}:\n{tail}")]
    NotReady {
        secs: u64,
        log: PathBuf,
        tail: String,
    },
    #[error("the Kafka broker exited while starting ({status}); the last lines of {log}:\n{tail}")]
    Exited {
        status: String,
        log: PathBuf,
        tail: String,
    },
}

impl RigError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RigError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> Result<u16, RigError> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(RigError::NoPort)
}

/// The last `n` lines of a text file (empty when unreadable).
pub fn tail(path: &std::path::Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}
