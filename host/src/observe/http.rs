//! The operator's HTTP endpoint: `GET /metrics` (Prometheus text), `GET /health`
//! (200 once the consumer has partitions and every configured plugin is loaded)
//! and `POST /plugins/ID/release`, which sends an [`OperatorCommand`] to the
//! stream loop (applied at its next batch boundary). Nothing secret is exported.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc::UnboundedSender;

use super::metrics::Metrics;
use crate::registry::Readiness;

/// What an operator asks of a running host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OperatorCommand {
    /// Lift the quarantine of a strategy (by its `strategy_id`).
    Release(String),
}

/// What the endpoint serves from.
#[derive(Clone)]
pub struct Endpoint {
    pub metrics: Arc<Metrics>,
    pub readiness: Readiness,
    pub commands: UnboundedSender<OperatorCommand>,
}

impl Endpoint {
    /// True when the host can serve: partitions assigned and plugins loaded.
    pub fn healthy(&self) -> bool {
        self.metrics.assigned_partitions.get() > 0 && self.readiness.is_ready()
    }

    /// `/health`'s body: the verdict, then where each strategy-scoped strategy
    /// of this host runs and how far behind it is.
    fn health_body(&self, verdict: &str) -> String {
        let mut body = format!("{verdict}\n");
        if let Ok(lines) = self.metrics.units.placements.lock() {
            for l in lines.iter() {
                body.push_str(l);
                body.push('\n');
            }
        }
        body
    }

    /// The status line, body and content type of a request.
    fn answer(&self, method: &str, path: &str) -> (&'static str, String, &'static str) {
        let release = path
            .strip_prefix("/plugins/")
            .and_then(|p| p.strip_suffix("/release"))
            .filter(|id| method == "POST" && !id.is_empty() && !id.contains('/'));
        if let Some(id) = release {
            if self
                .commands
                .send(OperatorCommand::Release(id.to_owned()))
                .is_err()
            {
                return (
                    "503 Service Unavailable",
                    "the host is stopping\n".into(),
                    "text/plain",
                );
            }
            return (
                "202 Accepted",
                format!("release of {id} requested\n"),
                "text/plain",
            );
        }
        match path {
            "/metrics" => ("200 OK", self.metrics.render(), "text/plain; version=0.0.4"),
            "/health" if self.healthy() => ("200 OK", self.health_body("ready"), "text/plain"),
            "/health" => (
                "503 Service Unavailable",
                self.health_body("not ready"),
                "text/plain",
            ),
            _ => ("404 Not Found", "not found\n".into(), "text/plain"),
        }
    }
}

/// Serves `endpoint` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, endpoint: Endpoint) {
    loop {
        let Ok((sock, _)) = listener.accept().await else {
            continue;
        };
        let endpoint = endpoint.clone();
        tokio::spawn(async move { handle(sock, &endpoint).await });
    }
}

/// Reads one request head (whole: clients may send it in several segments,
/// within 5 s) and writes the answer.
async fn handle(mut sock: TcpStream, endpoint: &Endpoint) {
    let mut buf = Vec::with_capacity(512);
    let mut chunk = [0u8; 512];
    let read_head = async {
        while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 8192 {
            match sock.read(&mut chunk).await {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(5), read_head)
        .await
        .is_err()
    {
        return;
    }
    let request = String::from_utf8_lossy(&buf);
    let mut words = request.split_whitespace();
    let method = words.next().unwrap_or("GET");
    let path = words.next().unwrap_or("/");
    let (status, body, ctype) = endpoint.answer(method, path);
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = sock.write_all(head.as_bytes()).await;
    let _ = sock.write_all(body.as_bytes()).await;
    let _ = sock.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> (
        Endpoint,
        tokio::sync::mpsc::UnboundedReceiver<OperatorCommand>,
    ) {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let e = Endpoint {
            metrics: Arc::new(Metrics::new()),
            readiness: Readiness::default(),
            commands: tx,
        };
        (e, rx)
    }

    #[test]
    fn a_release_is_sent_to_the_stream_loop_once() {
        let (e, mut rx) = endpoint();
        let (status, body, _) = e.answer("POST", "/plugins/momentum_1/release");
        assert_eq!(status, "202 Accepted");
        assert!(body.contains("momentum_1"));
        assert_eq!(
            rx.try_recv().ok(),
            Some(OperatorCommand::Release("momentum_1".into()))
        );
        assert!(rx.try_recv().is_err());
        for (method, path) in [
            ("GET", "/plugins/momentum_1/release"),
            ("POST", "/plugins//release"),
            ("POST", "/plugins/a/b/release"),
        ] {
            assert_eq!(e.answer(method, path).0, "404 Not Found", "{method} {path}");
        }
        assert!(rx.try_recv().is_err(), "nothing else was sent");
    }

    #[test]
    fn a_release_to_a_stopping_host_is_refused() {
        let (e, rx) = endpoint();
        drop(rx);
        assert_eq!(
            e.answer("POST", "/plugins/x/release").0,
            "503 Service Unavailable"
        );
    }

    #[test]
    fn health_needs_partitions_and_plugins() {
        let (e, _rx) = endpoint();
        assert_eq!(e.answer("GET", "/health").0, "503 Service Unavailable");
        e.metrics.assigned_partitions.set(2);
        assert_eq!(e.answer("GET", "/health").0, "503 Service Unavailable");
        let dir = tempfile::tempdir().expect("temp dir");
        e.readiness
            .update(dir.path(), crate::contract::BrokerNamespace::Paper, []);
        assert_eq!(e.answer("GET", "/health").0, "200 OK");
        let (status, body, ctype) = e.answer("GET", "/metrics");
        assert_eq!(status, "200 OK");
        assert!(ctype.starts_with("text/plain"));
        assert!(body.contains("alpha_panda_assigned_partitions 2"), "{body}");
    }
}
