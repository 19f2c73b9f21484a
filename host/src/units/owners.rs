//! Who runs which strategy-scoped unit: a consumer in the namespace's owners group
//! (`{group}.owners`) subscribed to the state topic, whose partitions are the
//! units. Kafka's group protocol hands each unit to exactly one host; this
//! consumer reads nothing (every assigned partition is paused) and commits
//! nothing. It polls on a thread of its own; a unit about to be taken away is
//! first stopped by the host (its outputs, offsets and state written), so the
//! next owner starts where it stopped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc};
use std::thread::JoinHandle;
use std::time::Duration;

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::{ClientConfig, ClientContext, TopicPartitionList};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

/// How long a rebalance waits for the host to stop a unit it loses. Past it the
/// unit goes anyway (exactly-once, the next owner's producer fences this one).
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// A change of the units this host owns.
#[derive(Debug)]
pub enum OwnerEvent {
    Gained(Vec<i32>),
    /// `stopped` is to be sent once the units are stopped.
    Lost {
        units: Vec<i32>,
        stopped: std_mpsc::Sender<()>,
    },
}

struct OwnersContext {
    events: UnboundedSender<OwnerEvent>,
    /// The host is stopping: it stopped its units before leaving the group.
    leaving: Arc<AtomicBool>,
}

fn units_of(tpl: &TopicPartitionList) -> Vec<i32> {
    tpl.elements().iter().map(|e| e.partition()).collect()
}

impl ClientContext for OwnersContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", facility = fac, "owners group: {message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", facility = fac, "owners group: {message}")
            }
            _ => tracing::debug!(target: "librdkafka", facility = fac, "owners group: {message}"),
        }
    }
}

impl ConsumerContext for OwnersContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        let Rebalance::Revoke(tpl) = rebalance else {
            return;
        };
        let units = units_of(tpl);
        if units.is_empty() || self.leaving.load(Ordering::Acquire) {
            return;
        }
        tracing::info!(?units, "strategy-scoped units revoked; stopping them");
        let (tx, rx) = std_mpsc::channel();
        let sent = self.events.send(OwnerEvent::Lost {
            units: units.clone(),
            stopped: tx,
        });
        if sent.is_ok() && rx.recv_timeout(STOP_TIMEOUT).is_err() {
            tracing::warn!(?units, timeout = ?STOP_TIMEOUT, "units not stopped in time; handing them over anyway");
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                let units = units_of(tpl);
                if units.is_empty() {
                    return;
                }
                // Nothing is read from the state topic through this group.
                if let Err(e) = consumer.pause(tpl) {
                    tracing::warn!(error = %e, "owners group: could not pause the units");
                }
                tracing::info!(?units, "strategy-scoped units assigned");
                let _ = self.events.send(OwnerEvent::Gained(units));
            }
            Rebalance::Revoke(_) => {}
            Rebalance::Error(e) => tracing::warn!(error = %e, "owners group: rebalance error"),
        }
    }
}

/// The owners group membership of this host.
pub struct Owners {
    events: UnboundedReceiver<OwnerEvent>,
    leaving: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Owners {
    /// Joins `settings`' group over `topic` (the state topic).
    pub fn join(settings: &ClientConfig, topic: &str) -> Result<Self, rdkafka::error::KafkaError> {
        let (tx, events) = unbounded_channel();
        let leaving = Arc::new(AtomicBool::new(false));
        let context = OwnersContext {
            events: tx,
            leaving: leaving.clone(),
        };
        let consumer: BaseConsumer<OwnersContext> = settings.create_with_context(context)?;
        consumer.subscribe(&[topic])?;
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = stop.clone();
        let thread = std::thread::Builder::new()
            .name("owners-group".into())
            .spawn(move || {
                while !stopping.load(Ordering::Acquire) {
                    // Paused partitions: only rebalances and errors come out.
                    if let Some(Err(e)) = consumer.poll(Duration::from_millis(100)) {
                        tracing::debug!(error = %e, "owners group poll");
                    }
                }
                consumer.unsubscribe();
                drop(consumer);
            })
            .map_err(|e| rdkafka::error::KafkaError::ClientCreation(e.to_string()))?;
        Ok(Self {
            events,
            leaving,
            stop,
            thread: Some(thread),
        })
    }

    /// The next ownership change, if one is queued.
    pub fn try_next(&mut self) -> Option<OwnerEvent> {
        self.events.try_recv().ok()
    }

    /// Leaves the group (the host has stopped its units first).
    pub fn leave(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.leaving.store(true, Ordering::Release);
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Owners {
    fn drop(&mut self) {
        self.shutdown();
    }
}
