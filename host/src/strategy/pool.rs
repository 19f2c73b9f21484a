//! The threads [`super::lanes`] run their calls on: a queue of jobs and threads
//! that sleep on it when it is empty. Unlike a work-stealing pool, an idle thread
//! does not spin (rayon yields the CPU 32 times before it sleeps): at a steady
//! rate every batch leaves the workers idle, and on two cores shared with the
//! broker those spins took CPU the pipeline and the broker were waiting for.
//! Jobs start in the order they were handed in. One pool per size and
//! real-time priority, shared by every host of the process; its threads live as
//! long as the process.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError};

type Job = Box<dyn FnOnce() + Send + 'static>;

/// The jobs waiting, and how many threads sleep for want of one.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    sleeping: usize,
}

#[derive(Default)]
struct Shared {
    queue: Mutex<Queue>,
    ready: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Queue> {
        // Jobs run outside the lock: a poisoned queue is still whole.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A fixed set of threads that run jobs in the order they come.
pub struct Pool {
    shared: Arc<Shared>,
    threads: usize,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({})", self.threads)
    }
}

impl Pool {
    /// The process's pool of `n` threads (at least one) at `SCHED_FIFO`
    /// `priority` (0: the normal scheduler), started on first use.
    pub fn shared(n: usize, priority: u8) -> std::io::Result<Arc<Pool>> {
        type Pools = HashMap<(usize, u8), Arc<Pool>>;
        static POOLS: OnceLock<Mutex<Pools>> = OnceLock::new();
        let n = n.max(1);
        let pools = POOLS.get_or_init(Default::default);
        let mut pools = pools.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = pools.get(&(n, priority)) {
            return Ok(p.clone());
        }
        let pool = Arc::new(Pool::start(n, priority)?);
        pools.insert((n, priority), pool.clone());
        Ok(pool)
    }

    /// Starts `n` threads; each takes `priority` before it runs a job, and the
    /// first that cannot fails the start.
    fn start(n: usize, priority: u8) -> std::io::Result<Pool> {
        let shared = Arc::new(Shared::default());
        for i in 0..n {
            let shared = shared.clone();
            crate::sched::spawn(&format!("strategy-lane-{i}"), priority, move || {
                work(&shared)
            })
            .map_err(std::io::Error::other)?;
        }
        Ok(Pool { shared, threads: n })
    }

    /// How many threads run jobs.
    pub fn threads(&self) -> usize {
        self.threads
    }

    /// Queues `job`; a sleeping thread is woken for it, if there is one.
    pub fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        let mut q = self.shared.lock();
        q.jobs.push_back(Box::new(job));
        let wake = q.sleeping > 0;
        drop(q);
        if wake {
            self.shared.ready.notify_one();
        }
    }
}

/// A thread of the pool: the next job, or sleep until one comes. A job that
/// panics ends the process, as rayon's spawned jobs do: its lane's slot would
/// never come back, and the host would wait for it for ever.
fn work(shared: &Shared) {
    loop {
        let job = {
            let mut q = shared.lock();
            loop {
                if let Some(job) = q.jobs.pop_front() {
                    break job;
                }
                q.sleeping += 1;
                q = shared.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
                q.sleeping -= 1;
            }
        };
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("a strategy worker's job panicked: the host stops");
            std::process::abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc::channel;

    #[test]
    fn jobs_run_on_the_pools_threads_and_all_of_them_run() {
        let pool = Pool::start(2, 0).unwrap();
        let (tx, rx) = channel();
        for i in 0..100 {
            let tx = tx.clone();
            pool.spawn(move || {
                let name = std::thread::current().name().map(str::to_owned);
                tx.send((i, name)).unwrap();
            });
        }
        drop(tx);
        let wait = std::time::Duration::from_secs(10);
        let mut got: Vec<(i32, Option<String>)> = (0..100)
            .map(|_| rx.recv_timeout(wait).expect("every job ran"))
            .collect();
        got.sort();
        assert_eq!(got.len(), 100);
        assert!(got.iter().enumerate().all(|(i, (j, _))| i as i32 == *j));
        assert!(got.iter().all(|(_, n)| n
            .as_deref()
            .is_some_and(|n| n.starts_with("strategy-lane-"))));
    }

    /// Waits (up to 10 s) until `n` of the pool's threads sleep for want of a job.
    fn until_sleeping(pool: &Pool, n: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while pool.shared.lock().sleeping < n {
            assert!(
                std::time::Instant::now() < deadline,
                "{n} threads never slept"
            );
            std::thread::yield_now();
        }
    }

    #[test]
    fn a_job_wakes_a_sleeping_thread() {
        let pool = Pool::start(2, 0).unwrap();
        let (tx, rx) = channel();
        for round in 0..3 {
            until_sleeping(&pool, 2);
            let tx = tx.clone();
            pool.spawn(move || tx.send(round).unwrap());
            let got = rx.recv_timeout(std::time::Duration::from_secs(10));
            assert_eq!(
                got.ok(),
                Some(round),
                "a job handed to sleeping threads ran"
            );
        }
    }

    #[test]
    fn a_busy_thread_does_not_hold_up_jobs_another_can_run() {
        let pool = Pool::start(2, 0).unwrap();
        let (release, held) = channel::<()>();
        let (tx, rx) = channel();
        // The first job holds its thread until the second has run on the other.
        pool.spawn(move || {
            held.recv().unwrap();
        });
        pool.spawn(move || tx.send(()).unwrap());
        rx.recv_timeout(std::time::Duration::from_secs(10))
            .expect("the second job ran while the first held its thread");
        release.send(()).unwrap();
    }

    #[test]
    fn a_job_that_panics_ends_the_process() {
        const CHILD: &str = "ALPHA_PANDA_POOL_PANIC_CHILD";
        if std::env::var_os(CHILD).is_some() {
            let pool = Pool::start(1, 0).unwrap();
            pool.spawn(|| panic!("a planted panic"));
            // The abort ends this wait; returning means the process went on.
            let (_keep, never) = channel::<()>();
            let _ = never.recv_timeout(std::time::Duration::from_secs(30));
            return;
        }
        let me = std::env::current_exe().unwrap();
        let out = std::process::Command::new(me)
            .args([
                "--exact",
                "--nocapture",
                "strategy::pool::tests::a_job_that_panics_ends_the_process",
            ])
            .env(CHILD, "1")
            .output()
            .unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(out.status.signal(), Some(6), "SIGABRT: {:?}", out.status);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("a planted panic"), "{stderr}");
    }

    #[test]
    fn pools_of_one_size_are_shared_and_sizes_start_at_one() {
        let (a, b) = (Pool::shared(3, 0).unwrap(), Pool::shared(3, 0).unwrap());
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.threads(), 3);
        assert_eq!(Pool::shared(0, 0).unwrap().threads(), 1);
    }

    /// Every job of a pool with a priority runs at it; or, where the process may
    /// not use real-time priorities, the pool does not start and says why.
    #[test]
    fn a_pools_threads_run_their_jobs_at_its_priority() {
        let may = std::thread::spawn(|| crate::sched::enter("probe", 4).is_ok())
            .join()
            .unwrap();
        let pool = match Pool::start(2, 4) {
            Ok(pool) => pool,
            Err(e) => {
                assert!(!may, "permitted, yet: {e}");
                assert!(e.to_string().contains("CAP_SYS_NICE"), "{e}");
                return;
            }
        };
        assert!(may, "started without the right to");
        let (tx, rx) = channel();
        for _ in 0..20 {
            let tx = tx.clone();
            pool.spawn(move || tx.send(crate::sched::current()).unwrap());
        }
        drop(tx);
        let wait = std::time::Duration::from_secs(10);
        for _ in 0..20 {
            let got = rx.recv_timeout(wait).expect("every job ran");
            assert_eq!(got, (libc::SCHED_FIFO, 4));
        }
        let plain = Pool::start(1, 0).unwrap();
        let (tx, rx) = channel();
        plain.spawn(move || tx.send(crate::sched::current()).unwrap());
        assert_eq!(rx.recv_timeout(wait).unwrap(), (libc::SCHED_OTHER, 0));
    }
}
