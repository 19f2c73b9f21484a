//! Bytes → typed envelope. Every outcome for any input bytes is a value: a
//! decoded envelope or a [`DecodeError`], never a panic. Decoding is one pass of
//! `serde_json` straight into the typed payload (a tick of the common shape is
//! read by hand first, `fast_tick`); only a failed message is read again, with
//! path tracking, to name the offending field.

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_path_to_error::Segment;

use super::downstream::{
    OrderFailed, OrderFilled, OrderPlaced, PnlSnapshot, RejectedSignal, ValidatedSignal,
};
use super::envelope::EventEnvelope;
use super::event_type::EventType;
use super::payload::Payload;
use super::signal::TradingSignal;
use super::tick::MarketTick;

/// The largest message value decoded; a larger one is poison without parsing.
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// At most this much of a reason or an unknown value is kept in an error.
const REASON_MAX: usize = 256;

/// Why a message value is not a valid event. Every variant is poison: the
/// same bytes will fail the same way again.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message of {len} bytes exceeds the {max}-byte limit")]
    Oversize { len: usize, max: usize },
    #[error("message is not UTF-8 (valid up to byte {valid_up_to})")]
    NotUtf8 { valid_up_to: usize },
    #[error("not JSON at line {line} column {column}: {reason}")]
    NotJson {
        line: usize,
        column: usize,
        reason: String,
    },
    #[error("message is JSON but not an object")]
    NotAnObject,
    #[error("unknown event type `{0}`")]
    UnknownEventType(String),
    #[error("missing required field `{field}`")]
    MissingField { field: String },
    #[error("invalid field `{field}`: {reason}")]
    InvalidField { field: String, reason: String },
    #[error("expected a `{expected}` event, found `{found}`")]
    UnexpectedType {
        expected: EventType,
        found: EventType,
    },
}

impl DecodeError {
    /// A stable short name for the error class, for DLQ records and metrics.
    pub fn class(&self) -> &'static str {
        match self {
            DecodeError::Oversize { .. } => "oversize",
            DecodeError::NotUtf8 { .. } => "not_utf8",
            DecodeError::NotJson { .. } => "not_json",
            DecodeError::NotAnObject => "not_object",
            DecodeError::UnknownEventType(_) => "unknown_event_type",
            DecodeError::MissingField { .. } => "missing_field",
            DecodeError::InvalidField { .. } => "invalid_field",
            DecodeError::UnexpectedType { .. } => "unexpected_type",
        }
    }
}

/// Decodes any event, choosing the payload type by the envelope `type`.
pub fn decode_envelope(bytes: &[u8]) -> Result<EventEnvelope<Payload>, DecodeError> {
    let text = check_bytes(bytes)?;
    let event_type = head_type(text)?;
    let env = match event_type {
        EventType::MarketTick => {
            decode_text::<MarketTick>(text, event_type)?.map_data(Payload::MarketTick)
        }
        EventType::TradingSignal => {
            decode_text::<TradingSignal>(text, event_type)?.map_data(Payload::TradingSignal)
        }
        EventType::ValidatedSignal => {
            decode_text::<ValidatedSignal>(text, event_type)?.map_data(Payload::ValidatedSignal)
        }
        EventType::RejectedSignal => {
            decode_text::<RejectedSignal>(text, event_type)?.map_data(Payload::RejectedSignal)
        }
        EventType::OrderPlaced => {
            decode_text::<OrderPlaced>(text, event_type)?.map_data(Payload::OrderPlaced)
        }
        EventType::OrderFilled => {
            decode_text::<OrderFilled>(text, event_type)?.map_data(Payload::OrderFilled)
        }
        EventType::OrderFailed => {
            decode_text::<OrderFailed>(text, event_type)?.map_data(Payload::OrderFailed)
        }
        EventType::PnlSnapshot => {
            decode_text::<PnlSnapshot>(text, event_type)?.map_data(Payload::PnlSnapshot)
        }
        EventType::SystemError => {
            decode_text::<serde_json::Value>(text, event_type)?.map_data(Payload::SystemError)
        }
    };
    Ok(env)
}

/// The hot path for `market.ticks`: the common shape read by hand
/// (`fast_tick`), anything else by serde in one pass. Any other `type` is
/// [`DecodeError::UnexpectedType`].
pub fn decode_tick(bytes: &[u8]) -> Result<EventEnvelope<MarketTick>, DecodeError> {
    let text = check_bytes(bytes)?;
    match super::fast_tick::read(text) {
        Some(env) => Ok(env),
        None => decode_text(text, EventType::MarketTick),
    }
}

/// Decodes an event whose payload type the caller knows (`T` must be the
/// payload of `expected`).
pub fn decode_as<T: DeserializeOwned>(
    bytes: &[u8],
    expected: EventType,
) -> Result<EventEnvelope<T>, DecodeError> {
    decode_text(check_bytes(bytes)?, expected)
}

fn check_bytes(bytes: &[u8]) -> Result<&str, DecodeError> {
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(DecodeError::Oversize {
            len: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    std::str::from_utf8(bytes).map_err(|e| DecodeError::NotUtf8 {
        valid_up_to: e.valid_up_to(),
    })
}

fn decode_text<T: DeserializeOwned>(
    text: &str,
    expected: EventType,
) -> Result<EventEnvelope<T>, DecodeError> {
    match serde_json::from_str::<EventEnvelope<T>>(text) {
        Ok(env) if env.event_type == expected => Ok(env),
        Ok(env) => Err(DecodeError::UnexpectedType {
            expected,
            found: env.event_type,
        }),
        Err(err) => Err(diagnose::<T>(text, expected, err)),
    }
}

/// Just the `type` of an envelope; the rest is skipped without being built.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "type", borrow, default)]
    event_type: Option<Cow<'a, str>>,
}

fn head_type(text: &str) -> Result<EventType, DecodeError> {
    match serde_json::from_str::<Head>(text) {
        Ok(Head {
            event_type: Some(t),
        }) => EventType::parse(&t)
            .map_err(|e| DecodeError::UnknownEventType(clip(&e.value).to_owned())),
        Ok(Head { event_type: None }) => Err(DecodeError::MissingField {
            field: "type".to_owned(),
        }),
        Err(err) if !err.is_data() => Err(not_json(&err)),
        Err(_) if !is_object(text) => Err(not_an_object(text)),
        Err(err) => Err(
            locate::<Head>(text).unwrap_or_else(|| DecodeError::InvalidField {
                field: "type".to_owned(),
                reason: message(&err),
            }),
        ),
    }
}

/// The slow path, for a message that failed: classify it and name the field.
fn diagnose<T: DeserializeOwned>(
    text: &str,
    expected: EventType,
    err: serde_json::Error,
) -> DecodeError {
    if !err.is_data() {
        return not_json(&err);
    }
    if !is_object(text) {
        return not_an_object(text);
    }
    match head_type(text) {
        Err(e) => return e,
        Ok(found) if found != expected => return DecodeError::UnexpectedType { expected, found },
        Ok(_) => {}
    }
    locate::<EventEnvelope<T>>(text).unwrap_or_else(|| DecodeError::InvalidField {
        field: String::new(),
        reason: message(&err),
    })
}

/// Reads `text` again as `T`, tracking the path, and turns the failure into an
/// error naming the field (`data.last_price`, `data.depth.buy[0].price`).
fn locate<'de, T: Deserialize<'de>>(text: &'de str) -> Option<DecodeError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let err = serde_path_to_error::deserialize::<_, T>(&mut de).err()?;
    let path = render_path(err.path());
    let msg = message(err.inner());
    if let Some(name) = quoted_after(&msg, "missing field `") {
        return Some(DecodeError::MissingField {
            field: join(&path, name),
        });
    }
    if let Some(name) = quoted_after(&msg, "duplicate field `") {
        return Some(DecodeError::InvalidField {
            field: join(&path, name),
            reason: "duplicate field".to_owned(),
        });
    }
    Some(DecodeError::InvalidField {
        field: path,
        reason: msg,
    })
}

fn render_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for seg in path {
        match seg {
            Segment::Seq { index } => {
                let _ = write!(out, "[{index}]");
            }
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(clip(key));
            }
            Segment::Unknown => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push('?');
            }
        }
    }
    out
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn quoted_after<'m>(msg: &'m str, prefix: &str) -> Option<&'m str> {
    let rest = msg.strip_prefix(prefix)?;
    rest.split('`').next()
}

fn is_object(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

/// For text that is not an object: valid JSON of another kind, or not JSON.
fn not_an_object(text: &str) -> DecodeError {
    match serde_json::from_str::<serde::de::IgnoredAny>(text) {
        Ok(_) => DecodeError::NotAnObject,
        Err(err) => not_json(&err),
    }
}

fn not_json(err: &serde_json::Error) -> DecodeError {
    DecodeError::NotJson {
        line: err.line(),
        column: err.column(),
        reason: message(err),
    }
}

/// serde_json's message without its " at line L column C" suffix, clipped.
fn message(err: &serde_json::Error) -> String {
    let full = err.to_string();
    let bare = match full.rfind(" at line ") {
        Some(cut) if err.line() > 0 => &full[..cut],
        _ => full.as_str(),
    };
    clip(bare).to_owned()
}

fn clip(text: &str) -> &str {
    match text.char_indices().nth(REASON_MAX) {
        Some((cut, _)) => &text[..cut],
        None => text,
    }
}
