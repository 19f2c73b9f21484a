//! Strategy signals into `trading_signal` envelopes: children of the tick envelope
//! (correlation and trace inherited, causation = tick id, deterministic id), keyed
//! `{strategy_id}:{instrument_token}`, stamped with the plugin version and the
//! hashes of its artifacts; and each envelope as the record the producer writes.

use alpha_panda_abi::Side;
use serde_json::{Map, Value};

use crate::contract::{
    BrokerNamespace, EncodeError, EventEnvelope, EventType, Lineage, MarketTick, NewEvent,
    SignalType, Timestamp, TradingSignal,
};
use crate::kafka::outbox::OutRecord;
use crate::strategy::SetOutput;
use crate::topics::TopicRegistry;

/// Metadata key carrying the sha256 of the plugin that produced a signal.
pub const PLUGIN_HASH_KEY: &str = "plugin_sha256";

/// The signal envelope answering `tick` for `out`, made at `ts`.
pub fn signal_envelope(
    tick: &EventEnvelope<MarketTick>,
    out: &SetOutput,
    namespace: BrokerNamespace,
    source: &str,
    ts: Timestamp,
) -> EventEnvelope<TradingSignal> {
    let s = &out.signal;
    let mut metadata = Map::new();
    for (k, v) in &s.metadata {
        metadata.insert(k.clone(), Value::String(v.clone()));
    }
    metadata.insert(
        PLUGIN_HASH_KEY.to_owned(),
        Value::String(out.sha256.clone()),
    );
    for (key, sha) in out.artifacts.hash_tags() {
        metadata.insert(key, Value::String(sha.to_owned()));
    }
    let data = TradingSignal {
        strategy_id: out.strategy_id.clone(),
        instrument_token: s.instrument_token,
        signal_type: match s.side {
            Side::Buy => SignalType::Buy,
            Side::Sell => SignalType::Sell,
        },
        quantity: s.quantity,
        price: s.price,
        timestamp: tick.data.timestamp,
        confidence: s.confidence,
        metadata,
    };
    tick.child(
        &Lineage {
            namespace,
            strategy_id: &out.strategy_id,
            index: out.index,
        },
        NewEvent {
            event_type: EventType::TradingSignal,
            key: TopicRegistry::signal_key(&out.strategy_id, s.instrument_token),
            source: source.to_owned(),
            ts,
            data,
        },
    )
}

/// The record of signal envelope `env` for `topic` (key `strategy:instrument`,
/// the tick's correlation and trace ids as headers), answering input message
/// `origin`.
pub fn signal_record(
    env: EventEnvelope<TradingSignal>,
    topic: &str,
    origin: usize,
) -> Result<OutRecord, EncodeError> {
    let payload = env.to_vec()?;
    Ok(OutRecord {
        partition: None,
        topic: topic.to_owned(),
        key: Some(env.key.into_bytes()),
        payload,
        headers: vec![
            (
                "correlation_id".into(),
                Some(env.correlation_id.clone().into_bytes()),
            ),
            ("trace_id".into(), Some(env.trace_id.into_bytes())),
        ],
        origin,
        event_id: env.id,
        correlation_id: env.correlation_id,
    })
}
