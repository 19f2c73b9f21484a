//! A batch's outlet on the lanes (at-least-once): each call's signals encoded
//! and handed to the producer on the worker that ran the call, the moment it
//! returns, so a signal does not wait for the pipeline's thread to wake. The
//! pipeline gets the handed records back with the call and awaits their acks.

use std::sync::Arc;

use rdkafka::producer::FutureProducer;

use super::classify::Fresh;
use super::encode::signal_record;
use super::PipelineError;
use crate::clock::{self, Instant};
use crate::contract::BrokerNamespace;
use crate::emit::signal_envelope;
use crate::kafka::outbox::{enqueue, Enqueued};
use crate::observe::Metrics;
use crate::strategy::lanes::Outlet;
use crate::strategy::set::Processed;

/// What a lane call's outlet gives back: its records, handed to the producer.
pub(super) type Handed = Result<Enqueued, PipelineError>;

/// What every batch's outlet shares: the producer and what a signal names.
pub(super) struct Writer {
    pub producer: FutureProducer,
    /// `{broker}.signals.raw`.
    pub topic: String,
    pub broker: BrokerNamespace,
    pub service: String,
    pub metrics: Arc<Metrics>,
}

/// One batch's outlet: its answered ticks, for the signals' lineage.
pub(super) struct BatchOutlet {
    pub writer: Arc<Writer>,
    pub keep: Arc<Vec<Fresh>>,
    /// When the batch's first message was taken.
    pub received: Instant,
}

impl Outlet<Handed> for BatchOutlet {
    fn send(&self, processed: &Processed) -> Handed {
        let w = &self.writer;
        let now = clock::wall();
        let mut records = Vec::with_capacity(processed.signals.len());
        for s in &processed.signals {
            let tick = self.keep.get(s.tick_pos).ok_or_else(|| {
                PipelineError::Encode(format!(
                    "a signal for tick {} of a batch of {}",
                    s.tick_pos,
                    self.keep.len()
                ))
            })?;
            let env = signal_envelope(&tick.env, s, w.broker, &w.service, now);
            records.push(signal_record(&w.topic, env, tick.msg)?);
        }
        let enqueued = enqueue(&w.producer, records);
        w.metrics
            .batch_host
            .observe(self.received.elapsed().as_secs_f64());
        Ok(enqueued)
    }
}

#[cfg(test)]
mod tests {
    use rdkafka::ClientConfig;

    use super::*;
    use crate::strategy::set::SetOutput;
    use crate::wasm::output::StrategySignal;
    use alpha_panda_abi::Side;

    const TICK: &str = include_str!("../../../tests/fixtures/market_tick_full.json");

    fn outlet(metrics: &Arc<Metrics>) -> BatchOutlet {
        // Never connects: records only wait in its queue.
        let producer: FutureProducer = ClientConfig::new()
            .set("bootstrap.servers", "127.0.0.1:9")
            .set("message.timeout.ms", "1000")
            .create()
            .expect("a producer");
        let env = crate::contract::decode_tick(TICK.as_bytes()).expect("the fixture decodes");
        let writer = Writer {
            producer,
            topic: "paper.signals.raw".into(),
            broker: BrokerNamespace::Paper,
            service: "strategy_runner".into(),
            metrics: metrics.clone(),
        };
        let fresh = Fresh {
            msg: 3,
            partition: 0,
            env,
            catch_up: false,
        };
        BatchOutlet {
            writer: Arc::new(writer),
            keep: Arc::new(vec![fresh]),
            received: clock::now(),
        }
    }

    fn signal_at(tick_pos: usize, token: u32) -> SetOutput {
        SetOutput {
            tick_pos,
            strategy_id: "momentum_1".into(),
            sha256: "ab".repeat(32),
            artifacts: Default::default(),
            index: 0,
            signal: StrategySignal {
                tick_index: 0,
                instrument_token: token,
                side: Side::Buy,
                quantity: 1,
                price: None,
                confidence: None,
                metadata: Vec::new(),
            },
        }
    }

    #[test]
    fn a_calls_signals_are_handed_to_the_producer_as_records_of_their_ticks() {
        let metrics = Arc::new(Metrics::new());
        let o = outlet(&metrics);
        let token = o.keep[0].env.data.instrument_token;
        let mut processed = Processed::default();
        processed.signals.push(signal_at(0, token));
        let handed = o.send(&processed).expect("encoded");
        let records: Vec<_> = handed.records().collect();
        assert_eq!(records.len(), 1);
        let r = records[0];
        assert_eq!(r.topic, "paper.signals.raw");
        assert_eq!(r.origin, 3, "answers the tick's message");
        assert_eq!(r.correlation_id, o.keep[0].env.correlation_id);
        let key = format!("momentum_1:{token}");
        assert_eq!(r.key.as_deref(), Some(key.as_bytes()));
        assert_eq!(metrics.batch_host.get_sample_count(), 1);
    }

    #[test]
    fn a_signal_for_a_tick_the_batch_does_not_have_is_an_encode_error() {
        let metrics = Arc::new(Metrics::new());
        let o = outlet(&metrics);
        let mut processed = Processed::default();
        processed.signals.push(signal_at(1, 7));
        match o.send(&processed) {
            Err(PipelineError::Encode(m)) => assert!(m.contains("tick 1 of a batch of 1"), "{m}"),
            Err(e) => panic!("another error: {e}"),
            Ok(h) => panic!("{} records handed", h.records().count()),
        }
        assert_eq!(metrics.batch_host.get_sample_count(), 0, "nothing handed");
    }
}
