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

/// How many threads strategy calls may use (cheap to clone).
#[derive(Clone)]
pub struct Workers {
    pool: Option<Arc<rayon::ThreadPool>>,
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
        let n = if n == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            n
        };
        if n < 2 {
            return Self { pool: None };
        }
        // The caller works too: the pool has one thread fewer.
        Self {
            pool: pool_of(n - 1),
        }
    }

    /// A pool with as many threads as calls may use, for jobs that run apart
    /// from their caller ([`super::lanes`]); `None` if none could be started.
    pub fn detached(&self) -> Option<Arc<Pool>> {
        Pool::shared(self.threads())
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

/// The process's pool of `n` threads, started on first use.
fn pool_of(n: usize) -> Option<Arc<rayon::ThreadPool>> {
    static POOLS: OnceLock<Mutex<HashMap<usize, Arc<rayon::ThreadPool>>>> = OnceLock::new();
    let pools = POOLS.get_or_init(Default::default);
    let mut pools = pools.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = pools.get(&n) {
        return Some(p.clone());
    }
    let built = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("strategy-worker-{i}"))
        .build();
    match built {
        Ok(p) => {
            let p = Arc::new(p);
            pools.insert(n, p.clone());
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
