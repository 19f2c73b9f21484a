//! Error classification and the retry policy of the contract: each failure has an
//! [`ErrorType`]; the type decides how many times a message is retried in place and
//! how long to wait between attempts, before it goes to the DLQ.

use std::time::Duration;

/// The contract's error types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorType {
    Transient,
    Poison,
    Business,
    Infrastructure,
    Authentication,
    RateLimit,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::Transient => "transient",
            ErrorType::Poison => "poison",
            ErrorType::Business => "business",
            ErrorType::Infrastructure => "infrastructure",
            ErrorType::Authentication => "authentication",
            ErrorType::RateLimit => "rate_limit",
        }
    }

    /// (attempts, base delay, max delay) from the contract's table.
    pub fn policy(self) -> RetryPolicy {
        let p = |attempts, base, max| RetryPolicy {
            attempts,
            base: Duration::from_secs(base),
            max: Duration::from_secs(max),
        };
        match self {
            ErrorType::Poison | ErrorType::Authentication => p(0, 0, 0),
            ErrorType::Transient => p(5, 1, 30),
            ErrorType::Infrastructure => p(3, 2, 60),
            ErrorType::RateLimit => p(8, 5, 300),
            ErrorType::Business => p(2, 1, 10),
        }
    }
}

/// How often and how patiently a failure is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// Delay before retry number `attempt` (0-based): min(base·2^attempt, max)·jitter,
    /// with `jitter` in [0.5, 1).
    pub fn delay(&self, attempt: u32, jitter: f64) -> Duration {
        crate::backoff::delay(self.base, self.max, attempt).mul_f64(jitter.clamp(0.5, 1.0))
    }

    /// Scales every delay (tests use tiny delays).
    pub fn scaled(self, factor: f64) -> Self {
        Self {
            attempts: self.attempts,
            base: self.base.mul_f64(factor),
            max: self.max.mul_f64(factor),
        }
    }
}

/// Classifies a Kafka error from producing or committing.
pub fn classify_kafka(err: &rdkafka::error::KafkaError) -> ErrorType {
    use rdkafka::types::RDKafkaErrorCode as C;
    match err.rdkafka_error_code() {
        Some(
            C::SaslAuthenticationFailed
            | C::TopicAuthorizationFailed
            | C::ClusterAuthorizationFailed
            | C::GroupAuthorizationFailed
            | C::Authentication,
        ) => ErrorType::Authentication,
        Some(C::ThrottlingQuotaExceeded | C::PolicyViolation) => ErrorType::RateLimit,
        Some(C::MessageSizeTooLarge | C::InvalidRecord | C::InvalidMessage) => ErrorType::Poison,
        Some(
            C::UnknownTopicOrPartition
            | C::UnknownTopic
            | C::AllBrokersDown
            | C::BrokerTransportFailure,
        ) => ErrorType::Infrastructure,
        _ => ErrorType::Transient,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_table() {
        let t = ErrorType::Transient.policy();
        assert_eq!(
            (t.attempts, t.base, t.max),
            (5, Duration::from_secs(1), Duration::from_secs(30))
        );
        assert_eq!(ErrorType::Poison.policy().attempts, 0);
        assert_eq!(ErrorType::Authentication.policy().attempts, 0);
        assert_eq!(ErrorType::Infrastructure.policy().attempts, 3);
        assert_eq!(ErrorType::RateLimit.policy().max, Duration::from_secs(300));
        assert_eq!(ErrorType::Business.policy().attempts, 2);
    }

    #[test]
    fn delay_doubles_caps_and_jitters() {
        let p = ErrorType::Transient.policy();
        assert_eq!(p.delay(0, 1.0), Duration::from_secs(1));
        assert_eq!(p.delay(3, 1.0), Duration::from_secs(8));
        assert_eq!(p.delay(10, 1.0), Duration::from_secs(30));
        assert_eq!(p.delay(3, 0.5), Duration::from_secs(4));
        assert_eq!(p.delay(3, 0.1), Duration::from_secs(4), "jitter floor 0.5");
    }
}
