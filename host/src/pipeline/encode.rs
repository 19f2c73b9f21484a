//! Stage 4, encode: each signal into a `trading_signal` child envelope for
//! `{broker}.signals.raw` (key `strategy:instrument`, the tick's correlation and
//! trace ids as headers), each poison message (and tick no plugin could be
//! given) into a DLQ record that keeps every byte. Counts the signals per
//! strategy and side and keeps the last lines for the terminal view.

use rdkafka::message::{Headers, Message};

use super::classify::{poison, Fresh};
use super::{Host, PipelineError};
use crate::clock;
use crate::contract::Timestamp;
use crate::dlq::{dlq_envelope, FailedMessage, Failure};
use crate::emit::{signal_envelope, signal_record};
use crate::kafka::outbox::OutRecord;
use crate::observe::compat::SignalSeen;
use crate::observe::recent::RECENT;
use crate::strategy::set::{Processed, SetOutput};
use alpha_panda_abi::Side;

/// A batch's output records.
pub(super) struct Encoded {
    pub records: Vec<OutRecord>,
    pub signals: u64,
    pub dlq: u64,
}

/// `BUY` or `SELL`: the metric label and the display's word.
pub(super) fn side_label(s: &SetOutput) -> &'static str {
    match s.signal.side {
        Side::Buy => "BUY",
        Side::Sell => "SELL",
    }
}

impl Host {
    pub(super) fn encode<M: Message>(
        &self,
        msgs: &[M],
        keep: &[Fresh],
        processed: &Processed,
        mut poisoned: Vec<(usize, Failure)>,
    ) -> Result<Encoded, PipelineError> {
        for (pos, e) in &processed.unconvertible {
            poisoned.push((keep[*pos].msg, poison("abi_range", &e.to_string())));
        }
        let now = clock::wall();
        let mut records = Vec::with_capacity(processed.signals.len() + poisoned.len());
        for s in &processed.signals {
            records.push(self.signal_record(&keep[s.tick_pos], s, now)?);
        }
        for (i, failure) in &poisoned {
            records.push(self.dlq_record(&msgs[*i], *i, failure, &now)?);
        }
        self.count_signals(&processed.signals);
        Ok(Encoded {
            records,
            signals: processed.signals.len() as u64,
            dlq: poisoned.len() as u64,
        })
    }

    fn signal_record(
        &self,
        tick: &Fresh,
        s: &SetOutput,
        now: Timestamp,
    ) -> Result<OutRecord, PipelineError> {
        let env = signal_envelope(&tick.env, s, self.config.broker, &self.config.service, now);
        self.signal_out(env, tick.msg)
    }

    /// The record of a signal envelope for `{broker}.signals.raw` (key
    /// `strategy:instrument`, lineage headers), answering message `origin`.
    pub(super) fn signal_out(
        &self,
        env: crate::contract::EventEnvelope<crate::contract::TradingSignal>,
        origin: usize,
    ) -> Result<OutRecord, PipelineError> {
        signal_record(env, &self.topics.signals, origin)
            .map_err(|e| PipelineError::Encode(e.to_string()))
    }

    /// Counts a batch's signals (and, with `compat.python_monitoring`, the Python
    /// runner's way) and keeps display lines for the last of them.
    pub(super) fn count_signals(&self, signals: &[SetOutput]) {
        let metrics = &self.shared.metrics;
        metrics.count_signals(
            signals
                .iter()
                .map(|s| (s.strategy_id.as_str(), side_label(s))),
        );
        if let Some(c) = &metrics.compat {
            c.signals(
                signals
                    .iter()
                    .map(|s| SignalSeen {
                        strategy_id: s.strategy_id.clone(),
                        instrument_token: s.signal.instrument_token,
                        side: side_label(s),
                    })
                    .collect(),
            );
        }
        let last = &signals[signals.len().saturating_sub(RECENT)..];
        metrics.recent.signals(last.iter().map(|s| {
            let price = s
                .signal
                .price
                .map(|p| p.to_string())
                .unwrap_or_else(|| "market".into());
            format!(
                "{} {} {} {} @ {price}",
                s.strategy_id,
                side_label(s),
                s.signal.quantity,
                s.signal.instrument_token,
            )
        }));
    }

    /// A DLQ record of message `m` (the batch's `origin`-th) that keeps every byte.
    pub(super) fn dlq_record(
        &self,
        m: &impl Message,
        origin: usize,
        failure: &Failure,
        now: &Timestamp,
    ) -> Result<OutRecord, PipelineError> {
        let headers: Vec<(String, Option<Vec<u8>>)> = m
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                    .collect()
            })
            .unwrap_or_default();
        let failed = FailedMessage {
            topic: m.topic(),
            partition: m.partition(),
            offset: m.offset(),
            timestamp_ms: m.timestamp().to_millis(),
            key: m.key(),
            value: m.payload(),
            headers: &headers,
        };
        let env = dlq_envelope(&failed, failure, &self.config.service, &self.group, *now);
        tracing::warn!(
            topic = m.topic(),
            partition = m.partition(),
            offset = m.offset(),
            dlq_event_id = %env.id,
            error_class = %failure.error_class,
            "message to the DLQ: {}",
            failure.message
        );
        let (event_id, correlation_id) = (env.id.clone(), env.correlation_id.clone());
        Ok(OutRecord {
            partition: None,
            topic: self.topics.dlq.clone(),
            key: m.key().map(<[u8]>::to_vec),
            payload: env
                .to_vec()
                .map_err(|e| PipelineError::Encode(e.to_string()))?,
            headers,
            origin,
            event_id,
            correlation_id,
        })
    }
}
