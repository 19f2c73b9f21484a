//! The broker rule as types: an instance's namespace, and the two fixed envelope
//! `broker` values. No code derives a broker from a topic name.

use std::fmt;
use std::str::FromStr;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// Envelope `broker` on `market.ticks`, which every namespace reads.
pub const SHARED: &str = "shared";
/// Envelope `broker` on dead-letter records.
pub const SYSTEM: &str = "system";

/// The broker namespace an instance runs in: the prefix of its topics, the
/// `broker` of the envelopes it writes, part of its group id and dedup keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BrokerNamespace {
    Paper,
    Zerodha,
}

/// Text that names no broker namespace.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown broker namespace `{value}` (expected `paper` or `zerodha`)")]
pub struct UnknownBroker {
    pub value: String,
}

impl BrokerNamespace {
    pub const ALL: [BrokerNamespace; 2] = [BrokerNamespace::Paper, BrokerNamespace::Zerodha];

    /// The wire name, lower case.
    pub const fn as_str(self) -> &'static str {
        match self {
            BrokerNamespace::Paper => "paper",
            BrokerNamespace::Zerodha => "zerodha",
        }
    }

    /// Parses `paper` / `zerodha` in any letter case.
    pub fn parse(text: &str) -> Result<BrokerNamespace, UnknownBroker> {
        Self::ALL
            .into_iter()
            .find(|b| b.as_str().eq_ignore_ascii_case(text))
            .ok_or_else(|| UnknownBroker {
                value: text.to_owned(),
            })
    }
}

impl fmt::Display for BrokerNamespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for BrokerNamespace {
    type Err = UnknownBroker;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        BrokerNamespace::parse(s)
    }
}

impl Serialize for BrokerNamespace {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BrokerNamespace {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl de::Visitor<'_> for V {
            type Value = BrokerNamespace;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`paper` or `zerodha`")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<BrokerNamespace, E> {
                BrokerNamespace::parse(v).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_namespaces_and_names_unknown() {
        assert_eq!("paper".parse(), Ok(BrokerNamespace::Paper));
        assert_eq!("Zerodha".parse(), Ok(BrokerNamespace::Zerodha));
        let err = "shared".parse::<BrokerNamespace>().unwrap_err();
        assert_eq!(err.value, "shared");
        assert!(err.to_string().contains("`shared`"));
    }

    #[test]
    fn serde_is_lower_case() {
        let b: BrokerNamespace = serde_json::from_str("\"zerodha\"").unwrap();
        assert_eq!(serde_json::to_string(&b).unwrap(), "\"zerodha\"");
        assert!(serde_json::from_str::<BrokerNamespace>("\"kite\"").is_err());
    }
}
