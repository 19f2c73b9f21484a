//! `log`: structured logging through the host (`host.log` on Wasm, stderr in native tests).

use std::fmt;

/// Severity of a log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        })
    }
}

/// Logs one record with key/value fields. Each call crosses into the host (~130 ns):
/// keep it off the per-tick path.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    imp::log(level, message, fields);
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use super::Level;
    use crate::__bindings::alpha_panda::strategy::{host, types::LogLevel};

    pub(super) fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        host::log(level, message, &fields);
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use super::Level;
    use std::fmt::Write as _;

    pub(super) fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
        let mut line = format!("[{level}] {message}");
        for (k, v) in fields {
            let _ = write!(line, " {k}={v:?}");
        }
        eprintln!("{line}");
    }
}
