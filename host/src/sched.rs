//! Real-time scheduling of the threads a tick waits on (`plugins.realtime_priority`):
//! the pipeline's thread and the strategy workers at `SCHED_FIFO`, the epoch
//! ticker one above them so that a looping strategy's deadline still fires.
//!
//! Each thread sets its own policy (Linux only), with `SCHED_RESET_ON_FORK`: a
//! thread it starts later (librdkafka's, tokio's blocking pool) gets the normal
//! scheduler instead of inheriting the real-time one.

/// The highest `plugins.realtime_priority`: the ticker runs one above it, and
/// `SCHED_FIFO` priorities end at 99.
pub const MAX_PRIORITY: u8 = 98;

/// A thread could not take its real-time priority.
#[derive(Debug, thiserror::Error)]
pub enum SchedError {
    #[error(
        "plugins.realtime_priority: the {thread} thread may not run at SCHED_FIFO priority \
         {priority}: give the host CAP_SYS_NICE (`setcap cap_sys_nice+ep` on the binary, or \
         AmbientCapabilities=CAP_SYS_NICE in its systemd unit) or an RLIMIT_RTPRIO of at \
         least {priority} (`ulimit -r`, LimitRTPRIO=), or set plugins.realtime_priority = 0"
    )]
    NotPermitted { thread: String, priority: u8 },
    #[error("plugins.realtime_priority: the {thread} thread at SCHED_FIFO priority {priority}: {source}")]
    Os {
        thread: String,
        priority: u8,
        source: std::io::Error,
    },
    #[error("plugins.realtime_priority: real-time threads need Linux (the {thread} thread)")]
    Unsupported { thread: String },
    #[error("cannot start the {thread} thread: {source}")]
    Spawn {
        thread: String,
        source: std::io::Error,
    },
}

/// Starts a thread called `name` that takes `SCHED_FIFO` `priority` (0: stays on
/// the normal scheduler) before it runs `f`; if it cannot, `f` never runs and
/// the start fails with why.
pub fn spawn(
    name: &str,
    priority: u8,
    f: impl FnOnce() + Send + 'static,
) -> Result<std::thread::JoinHandle<()>, SchedError> {
    let (entered, result) = std::sync::mpsc::sync_channel(1);
    let thread = name.to_owned();
    let handle = std::thread::Builder::new()
        .name(thread.clone())
        .spawn(move || {
            let r = if priority == 0 {
                Ok(())
            } else {
                enter(&thread, priority)
            };
            let ok = r.is_ok();
            let _ = entered.send(r);
            if ok {
                f();
            }
        })
        .map_err(|source| SchedError::Spawn {
            thread: name.to_owned(),
            source,
        })?;
    // With a priority to take, the thread reports once, before anything else
    // it does (without one, nobody waits for it to start).
    match priority {
        0 => Ok(handle),
        _ => match result.recv() {
            Ok(Err(e)) => Err(e),
            _ => Ok(handle),
        },
    }
}

/// Puts the calling thread (called `thread` in errors) on `SCHED_FIFO` at
/// `priority`; the threads it starts from now on get the normal scheduler.
#[cfg(target_os = "linux")]
pub fn enter(thread: &str, priority: u8) -> Result<(), SchedError> {
    let param = libc::sched_param {
        sched_priority: i32::from(priority),
    };
    // SAFETY: pid 0 is the calling thread; `param` outlives the call.
    let rc = unsafe {
        libc::sched_setscheduler(0, libc::SCHED_FIFO | libc::SCHED_RESET_ON_FORK, &param)
    };
    if rc == 0 {
        return Ok(());
    }
    let source = std::io::Error::last_os_error();
    let thread = thread.to_owned();
    Err(match source.raw_os_error() {
        Some(libc::EPERM) => SchedError::NotPermitted { thread, priority },
        _ => SchedError::Os {
            thread,
            priority,
            source,
        },
    })
}

/// Real-time threads need Linux.
#[cfg(not(target_os = "linux"))]
pub fn enter(thread: &str, _priority: u8) -> Result<(), SchedError> {
    Err(SchedError::Unsupported {
        thread: thread.to_owned(),
    })
}

/// The calling thread's policy and priority (`SCHED_OTHER` is 0, `SCHED_FIFO` 1),
/// for the tests of the threads that take one.
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn current() -> (i32, i32) {
    let mut param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` outlives the calls.
    let policy = unsafe { libc::sched_getscheduler(0) };
    let _ = unsafe { libc::sched_getparam(0, &mut param) };
    (policy & !libc::SCHED_RESET_ON_FORK, param.sched_priority)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Whether this process may use real-time priorities at all, asked of the
    /// kernel on a thread of its own without this module.
    fn permitted(priority: u8) -> bool {
        std::thread::spawn(move || {
            let param = libc::sched_param {
                sched_priority: i32::from(priority),
            };
            unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) == 0 }
        })
        .join()
        .unwrap()
    }

    #[test]
    fn a_thread_that_enters_runs_at_fifo_and_the_threads_it_starts_do_not() {
        let may = permitted(3);
        let (entered, now, child) = std::thread::spawn(|| {
            let entered = enter("test", 3);
            let now = current();
            let child = std::thread::spawn(current).join().unwrap();
            (entered, now, child)
        })
        .join()
        .unwrap();
        if may {
            entered.expect("permitted");
            assert_eq!(now, (libc::SCHED_FIFO, 3));
            assert_eq!(child, (libc::SCHED_OTHER, 0), "no inherited FIFO");
        } else {
            let e = entered.expect_err("not permitted");
            assert!(
                matches!(e, SchedError::NotPermitted { priority: 3, .. }),
                "{e}"
            );
            assert!(e.to_string().contains("CAP_SYS_NICE"), "{e}");
            assert_eq!(now, (libc::SCHED_OTHER, 0));
        }
    }

    #[test]
    fn a_priority_the_kernel_does_not_have_is_an_error_naming_the_thread() {
        let (entered, now) = std::thread::spawn(|| (enter("lane", 100), current()))
            .join()
            .unwrap();
        // The kernel checks the range before the caller's rights: EINVAL either way.
        match entered.expect_err("100 is past SCHED_FIFO's range") {
            SchedError::Os { thread, source, .. } => {
                assert_eq!(thread, "lane");
                assert_eq!(source.raw_os_error(), Some(libc::EINVAL), "{source}");
            }
            other => panic!("{other}"),
        }
        assert_eq!(now, (libc::SCHED_OTHER, 0), "the thread's policy unchanged");
    }
}
