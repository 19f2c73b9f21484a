//! The worker threads strategy calls run on (`plugins.workers`, default one per
//! core): a batch's strategies run side by side, each instance on one worker at a
//! time, and their outputs come back in the order they were handed out, so what a
//! batch produces does not depend on the pool. The calling thread is one of the
//! workers: it starts on the first job at once while the pool's threads wake up
//! (a wake-up costs tens of microseconds on a virtual machine), and every thread
//! takes the next job left until none is. One pool per size, shared by every set
//! of the process.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::pool::Pool;

/// How many threads strategy calls may use, and at which real-time priority
/// (cheap to clone).
#[derive(Clone)]
pub struct Workers {
    pool: Option<Arc<rayon::ThreadPool>>,
    /// `SCHED_FIFO` priority of the threads (0: the normal scheduler).
    priority: u8,
}

impl std::fmt::Debug for Workers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Workers({})", self.threads())
    }
}

impl Default for Workers {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Workers {
    /// `n` threads, the caller's included; 0 = one per core. One thread runs calls
    /// on the caller's thread alone.
    pub fn new(n: usize) -> Self {
        Self::with_priority(n, 0)
    }

    /// `n` threads as [`Workers::new`], at `SCHED_FIFO` `priority` (0: the
    /// normal scheduler; `plugins.realtime_priority`).
    pub fn with_priority(n: usize, priority: u8) -> Self {
        let n = if n == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            n
        };
        if n < 2 {
            return Self {
                pool: None,
                priority,
            };
        }
        // The caller works too: the pool has one thread fewer.
        Self {
            pool: pool_of(n - 1, priority),
            priority,
        }
    }

    /// A pool with as many threads as calls may use, for jobs that run apart
    /// from their caller ([`super::lanes`]); `None` if none could be started.
    pub fn detached(&self) -> Option<Arc<Pool>> {
        Pool::shared(self.threads(), self.priority)
            .map_err(|e| {
                tracing::warn!(threads = self.threads(), error = %e, "no strategy lanes' pool: calls run on the pipeline's thread");
            })
            .ok()
    }

    /// Threads calls may use at once, the caller's included.
    pub fn threads(&self) -> usize {
        self.pool
            .as_ref()
            .map_or(1, |p| p.current_num_threads() + 1)
    }

    /// `f` over every job, side by side when there is more than one; results in
    /// the jobs' order.
    pub fn run_all<J: Send, R: Send>(
        &self,
        jobs: Vec<J>,
        f: impl Fn(J) -> R + Sync + Send,
    ) -> Vec<R> {
        let pool = match &self.pool {
            Some(pool) if jobs.len() > 1 => pool,
            _ => return jobs.into_iter().map(f).collect(),
        };
        let n = jobs.len();
        let queue: Vec<Mutex<Option<J>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
        let results: Vec<Mutex<Option<R>>> = (0..n).map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let work = || loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = queue.get(i) else {
                break;
            };
            let job = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(job) = job {
                let r = f(job);
                *results[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(r);
            }
        };
        let helpers = pool.current_num_threads().min(n - 1);
        pool.in_place_scope(|s| {
            for _ in 0..helpers {
                s.spawn(|_| work());
            }
            work();
        });
        // The scope returns once every job ran (a panic in one is re-raised above).
        results
            .into_iter()
            .map(|m| m.into_inner().unwrap_or_else(|e| e.into_inner()))
            .map(|r| r.expect("every job of the scope ran"))
            .collect()
    }
}

/// The process's pool of `n` threads at `priority`, started on first use. A
/// thread that cannot take its priority says so and runs on at the normal
/// scheduler (the pipeline's thread took the same one first, or the host did
/// not start).
fn pool_of(n: usize, priority: u8) -> Option<Arc<rayon::ThreadPool>> {
    type Pools = HashMap<(usize, u8), Arc<rayon::ThreadPool>>;
    static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
    let pools = POOLS.get_or_init(Default::default);
    let mut pools = pools.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&(n, priority)) {
        return Some(p.clone());
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("strategy-worker-{i}"))
        .start_handler(move |i| {
            if priority > 0 {
                if let Err(e) = crate::sched::enter(&format!("strategy-worker-{i}"), priority) {
                    tracing::error!(error = %e, "a strategy worker runs at the normal scheduler");
                }
            }
        })
        .build();
    match built {
        Ok(p) => {
            let p = Arc::new(p);
            pools.insert((n, priority), p.clone());
            Some(p)
        }
        Err(e) => {
            tracing::warn!(threads = n, error = %e, "no strategy worker pool: strategies run one after another");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_job_order_whatever_the_pool() {
        let jobs: Vec<u64> = (0..64).collect();
        let square = |x: u64| x * x;
        let one = Workers::new(1).run_all(jobs.clone(), square);
        let two = Workers::new(2).run_all(jobs.clone(), square);
        assert_eq!(one, two);
        assert_eq!(one[7], 49);
        assert_eq!(Workers::new(1).threads(), 1);
        assert_eq!(Workers::new(2).threads(), 2);
    }

    /// The pool's threads run at the workers' priority (where the process may
    /// use real-time priorities; else at the normal scheduler, said in the log);
    /// the caller's thread is left as it is.
    #[test]
    fn the_pools_threads_run_at_the_workers_priority() {
        let may = std::thread::spawn(|| crate::sched::enter("probe", 6).is_ok())
            .join()
            .unwrap();
        let w = Workers::with_priority(2, 6);
        let barrier = std::sync::Barrier::new(2);
        let got = w.run_all(vec![0, 1], |_| {
            barrier.wait();
            let name = std::thread::current().name().unwrap_or_default().to_owned();
            (name, crate::sched::current())
        });
        let on = |prefix: &str| {
            got.iter()
                .find(|(n, _)| n.starts_with(prefix))
                .map(|(_, p)| *p)
        };
        let expected = if may {
            (libc::SCHED_FIFO, 6)
        } else {
            (libc::SCHED_OTHER, 0)
        };
        assert_eq!(on("strategy-worker-"), Some(expected), "{got:?}");
        assert_eq!(
            crate::sched::current(),
            (libc::SCHED_OTHER, 0),
            "the caller's"
        );
    }

    #[test]
    fn pools_of_one_size_are_shared() {
        let (a, b) = (Workers::new(3), Workers::new(3));
        assert!(Arc::ptr_eq(
            a.pool.as_ref().unwrap(),
            b.pool.as_ref().unwrap()
        ));
    }

    #[test]
    fn jobs_run_side_by_side_on_the_caller_and_the_pool() {
        let w = Workers::new(2);
        // Each job waits until both have started: only two threads at once can
        // finish, so this returning at all proves they ran side by side.
        let barrier = std::sync::Barrier::new(2);
        let names = w.run_all(vec![0, 1], |_| {
            barrier.wait();
            std::thread::current().name().unwrap_or_default().to_owned()
        });
        let caller = std::thread::current().name().unwrap_or_default().to_owned();
        assert!(names.contains(&caller), "the caller worked: {names:?}");
        assert!(
            names.iter().any(|n| n.starts_with("strategy-worker-")),
            "{names:?}"
        );
    }
}
