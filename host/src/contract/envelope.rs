//! `EventEnvelope`: the JSON object around every payload, and its encoding.

use serde::{de, Deserialize, Deserializer, Serialize};

use super::event_type::EventType;
use super::time::{self, Timestamp};

/// The envelope `version` this host writes.
pub const VERSION: u32 = 1;
/// The longest event id accepted on input, in characters.
pub const MAX_ID_CHARS: usize = 128;

/// One event as it travels: routing and lineage fields around a payload `data`.
/// Field order is the wire order. `ts` is written with exactly six fractional
/// digits. Unknown envelope fields are ignored on input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventEnvelope<T = serde_json::Value> {
    /// Opaque, 1..=128 characters (not necessarily a UUID on input).
    #[serde(deserialize_with = "opaque_id")]
    pub id: String,
    pub correlation_id: String,
    /// The parent envelope's `id`, for a derived event.
    pub causation_id: Option<String>,
    pub trace_id: String,
    /// The parent's `trace_id`, for a derived event.
    pub parent_trace_id: Option<String>,
    /// `shared`, `system`, or a [`BrokerNamespace`](super::BrokerNamespace) name.
    pub broker: String,
    #[serde(rename = "type")]
    pub event_type: EventType,
    /// When the envelope was made.
    #[serde(with = "time::micros")]
    pub ts: Timestamp,
    /// The same string as the Kafka message key.
    pub key: String,
    /// The producing service.
    pub source: String,
    pub version: u32,
    pub data: T,
}

/// An envelope that could not be written as JSON (only possible for a payload
/// whose own `Serialize` fails).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode envelope: {0}")]
pub struct EncodeError(#[from] serde_json::Error);

/// Why an event id is refused.
pub fn check_id(id: &str) -> Result<(), String> {
    let chars = id.chars().count();
    if (1..=MAX_ID_CHARS).contains(&chars) {
        Ok(())
    } else {
        Err(format!(
            "id must be 1..={MAX_ID_CHARS} characters, got {chars}"
        ))
    }
}

fn opaque_id<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    let id = String::deserialize(deserializer)?;
    check_id(&id).map_err(de::Error::custom)?;
    Ok(id)
}

impl<T> EventEnvelope<T> {
    /// The same envelope around another payload.
    pub fn map_data<U>(self, f: impl FnOnce(T) -> U) -> EventEnvelope<U> {
        EventEnvelope {
            id: self.id,
            correlation_id: self.correlation_id,
            causation_id: self.causation_id,
            trace_id: self.trace_id,
            parent_trace_id: self.parent_trace_id,
            broker: self.broker,
            event_type: self.event_type,
            ts: self.ts,
            key: self.key,
            source: self.source,
            version: self.version,
            data: f(self.data),
        }
    }
}

impl<T: Serialize> EventEnvelope<T> {
    /// Compact JSON, as it goes on the wire.
    pub fn to_vec(&self) -> Result<Vec<u8>, EncodeError> {
        let mut buf = Vec::with_capacity(512);
        self.write_to(&mut buf)?;
        Ok(buf)
    }

    /// Appends compact JSON to `buf`, to reuse one buffer across messages.
    pub fn write_to(&self, buf: &mut Vec<u8>) -> Result<(), EncodeError> {
        serde_json::to_writer(buf, self)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ENVELOPE: &str = r#"{"id":"0198f3a1c2b4e--4991-9c71-2ac97dc2d6f8","correlation_id":"c","causation_id":null,"trace_id":"t","parent_trace_id":null,"broker":"shared","type":"market_tick","ts":"2025-08-29T04:45:04.838356Z","key":"738561","source":"market_feed","version":1,"data":{"x":1}}"#;

    #[test]
    fn untyped_envelope_round_trips_byte_for_byte() {
        let env: EventEnvelope = serde_json::from_str(ENVELOPE).unwrap();
        assert_eq!(env.event_type, EventType::MarketTick);
        assert_eq!(env.to_vec().unwrap(), ENVELOPE.as_bytes());
    }

    #[test]
    fn ts_is_written_with_micros() {
        let text = ENVELOPE.replace("04.838356Z", "04Z");
        let env: EventEnvelope = serde_json::from_str(&text).unwrap();
        let out = String::from_utf8(env.to_vec().unwrap()).unwrap();
        assert!(
            out.contains(r#""ts":"2025-08-29T04:45:04.000000Z""#),
            "{out}"
        );
    }

    #[test]
    fn id_length_is_checked() {
        assert!(check_id("").is_err());
        assert!(check_id(&"x".repeat(128)).is_ok());
        assert!(check_id(&"x".repeat(129)).is_err());
        assert!(check_id(&"é".repeat(128)).is_ok());
    }

    #[test]
    fn other_versions_are_kept() {
        let text = ENVELOPE.replace(r#""version":1"#, r#""version":2"#);
        let env: EventEnvelope = serde_json::from_str(&text).unwrap();
        assert_eq!(env.version, 2);
        assert_eq!(env.to_vec().unwrap(), text.as_bytes());
    }
}
