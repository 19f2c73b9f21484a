//! The CPU budget of a plugin call: what its deadline counts. The epoch ticker
//! counts wall time; when a call's epoch deadline passes, the budget is checked
//! against the CPU time the calling thread spent since the call began, and the call
//! goes on for what is left. A thread descheduled on a busy machine spends no
//! budget, so a healthy plugin is never stopped for the machine's load, and a loop
//! is stopped once it has used its budget.

use std::time::Duration;

/// CPU time (user and system) of the calling thread, or `None` where the clock
/// cannot be read.
pub fn thread_cpu_time() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `clock_gettime` writes only the `timespec` it is given, which lives
    // on this stack frame for the whole call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    if rc != 0 {
        return None;
    }
    let secs = u64::try_from(ts.tv_sec).ok()?;
    let nanos = u32::try_from(ts.tv_nsec).ok()?;
    Some(Duration::new(secs, nanos))
}

/// The budget of the call in progress. Reading the CPU clock is a system call
/// (about 250 ns), so a call does not read it when it starts: the first check comes
/// after `limit / 8` of wall time (most calls are long done), reads the clock, and
/// from there the call may use `limit` of CPU time. A call that uses less than its
/// budget is never stopped; a runaway one is stopped after at most 9/8 of it.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuBudget {
    limit: Duration,
    mark: Mark,
}

#[derive(Debug, Clone, Copy, Default)]
enum Mark {
    /// Not checked yet.
    #[default]
    Unchecked,
    /// The thread's CPU time at the first check.
    Cpu(Duration),
    /// No CPU clock: the rest of the limit counts wall time.
    Wall,
}

impl CpuBudget {
    /// A call allowed `limit` of CPU time.
    pub fn new(limit: Duration) -> Self {
        Self {
            limit,
            mark: Mark::Unchecked,
        }
    }

    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Wall time from the call's start to its first check.
    pub fn first_check(&self) -> Duration {
        self.limit / 8
    }

    /// At a check: the longest the call may still run before the next check (CPU
    /// time left, which is at least as much wall time), or `None` once it used its
    /// budget.
    pub fn check(&mut self) -> Option<Duration> {
        match self.mark {
            Mark::Unchecked => match thread_cpu_time() {
                Some(now) => {
                    self.mark = Mark::Cpu(now);
                    Some(self.limit)
                }
                None => {
                    self.mark = Mark::Wall;
                    Some(self.limit.saturating_sub(self.first_check()))
                }
            },
            Mark::Cpu(first) => {
                let used = thread_cpu_time()?.checked_sub(first)?;
                self.limit.checked_sub(used).filter(|left| !left.is_zero())
            }
            Mark::Wall => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spin_for(cpu: Duration) {
        let start = thread_cpu_time().unwrap();
        while thread_cpu_time().unwrap() - start < cpu {
            std::hint::black_box(0u64);
        }
    }

    #[test]
    fn the_budget_counts_this_threads_cpu_time_from_the_first_check() {
        let mut b = CpuBudget::new(Duration::from_millis(48));
        assert_eq!(b.first_check(), Duration::from_millis(6));
        assert_eq!(
            b.check(),
            Some(Duration::from_millis(48)),
            "the first check reads the clock"
        );
        spin_for(Duration::from_millis(20));
        let left = b.check().expect("some left");
        assert!(left <= Duration::from_millis(28), "{left:?}");
        spin_for(Duration::from_millis(29));
        assert_eq!(b.check(), None, "spent");
    }

    #[test]
    fn sleeping_spends_no_budget() {
        let mut b = CpuBudget::new(Duration::from_millis(20));
        b.check();
        // Wall time passes, the thread's CPU time does not.
        std::thread::sleep(Duration::from_millis(40));
        let left = b.check().expect("a sleeping thread spends nothing");
        assert!(left > Duration::from_millis(15), "{left:?}");
    }
}
