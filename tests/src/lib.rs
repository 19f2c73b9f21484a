//! The integration-test harness: a real Kafka broker (Apache Kafka in KRaft mode,
//! one per test binary, or the cluster named by `ALPHA_PANDA_TEST_BOOTSTRAP`), Redis
//! (the machine's, isolated by key prefix, or a private `redis-server`), and paths
//! to the built plugins. Everything it starts stops when the test process ends.
//!
//! - [`broker`]: the shared Kafka broker of a test binary, or a private one.
//! - [`redis_server`]: the shared Redis with a unique prefix, or a private server.
//! - [`paths`]: the workspace, the sample and test plugins.
//! - [`http`]: a request to a host's `/metrics`, `/health` or operator endpoint.
pub mod broker;
pub mod http;
pub mod paths;
pub mod redis_server;

use std::net::TcpListener;

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free local port")
}

/// A name unique to this process and call, for topics, groups and key prefixes.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
