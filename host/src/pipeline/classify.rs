//! Stage 1, classify: each message's route from the partition state machine (run,
//! skip as answered, hold while its partition's state is read, leave to another
//! owner), then each message to run decoded into a tick or marked poison.

use std::collections::BTreeMap;

use rdkafka::message::Message;

use super::Host;
use crate::contract::{decode_tick, DecodeError, EventEnvelope, MarketTick};
use crate::dlq::Failure;
use crate::errors::ErrorType;
use crate::partitions::Route;

/// A decoded tick of the batch to run.
pub(super) struct Fresh {
    /// Its message's index in the batch.
    pub msg: usize,
    /// Its message's partition.
    pub partition: i32,
    pub env: EventEnvelope<MarketTick>,
    /// Answered by a previous owner if the dedup store has seen it (fed only).
    pub catch_up: bool,
}

/// A batch classified.
pub(super) struct Classified<M> {
    pub msgs: Vec<M>,
    pub fresh: Vec<Fresh>,
    /// Messages that cannot be processed, for the DLQ.
    pub poison: Vec<(usize, Failure)>,
    /// Per partition: the offset after its last message run or skipped, and the
    /// partition's ownership epoch.
    pub offsets: BTreeMap<i32, (i64, u64)>,
}

impl Host {
    pub(super) fn classify<M: Message>(&mut self, msgs: Vec<M>) -> Classified<M> {
        let epochs: BTreeMap<i32, u64> = self.states.running().collect();
        let mut out = Classified {
            fresh: Vec::with_capacity(msgs.len()),
            poison: Vec::new(),
            offsets: BTreeMap::new(),
            msgs: Vec::new(),
        };
        let (mut taken, mut skipped, mut left) = (0u64, 0u64, 0u64);
        for (i, m) in msgs.iter().enumerate() {
            let (p, o) = (m.partition(), m.offset());
            let catch_up = match self.states.route(p, o) {
                Route::NotOurs | Route::Hold => {
                    left += 1;
                    continue;
                }
                Route::Skip => None,
                Route::Run { catch_up } => Some(catch_up),
            };
            taken += 1;
            self.states.ran(p, o);
            let epoch = epochs.get(&p).copied().unwrap_or(0);
            let next = out.offsets.entry(p).or_insert((o + 1, epoch));
            next.0 = next.0.max(o + 1);
            // Answered before and in the restored state: counted as a repeat.
            let Some(catch_up) = catch_up else {
                skipped += 1;
                continue;
            };
            match m.payload() {
                None => out
                    .poison
                    .push((i, poison("empty_value", "message has no value"))),
                Some(bytes) => match decode_tick(bytes) {
                    Ok(env) => out.fresh.push(Fresh {
                        msg: i,
                        partition: p,
                        env,
                        catch_up,
                    }),
                    Err(e) => out.poison.push((i, decode_failure(&e))),
                },
            }
        }
        if left > 0 {
            tracing::debug!(
                messages = left,
                "messages of partitions revoked or being read left in the log"
            );
        }
        out.msgs = msgs;
        let metrics = &self.shared.metrics;
        metrics.ticks_consumed.inc_by(taken);
        metrics.dedup_hits.inc_by(skipped);
        self.summary.ticks += taken;
        self.summary.duplicates += skipped;
        out
    }
}

pub(super) fn poison(class: &str, message: &str) -> Failure {
    Failure {
        error_type: ErrorType::Poison,
        error_class: class.to_owned(),
        message: message.to_owned(),
        retries: 0,
        exhausted: false,
    }
}

fn decode_failure(e: &DecodeError) -> Failure {
    poison(e.class(), &e.to_string())
}
