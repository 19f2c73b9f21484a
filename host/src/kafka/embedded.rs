//! The embedded broker of the default profile: librdkafka's in-process mock
//! cluster, for a first run with nothing installed. Never used by the real-broker tests.

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

use super::KafkaError;
use crate::topics::TopicSpec;

/// A running in-process cluster; dropped, it stops.
pub struct EmbeddedBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
}

impl EmbeddedBroker {
    /// Starts a one-broker cluster and creates `topics` on it.
    pub fn start(topics: &[TopicSpec]) -> Result<Self, KafkaError> {
        let cluster = MockCluster::new(1).map_err(KafkaError::Client)?;
        for t in topics {
            cluster
                .create_topic(&t.name, t.partitions, 1)
                .map_err(|e| KafkaError::Embedded(format!("create {}: {e}", t.name)))?;
        }
        Ok(Self { cluster })
    }

    /// The address list clients connect to.
    pub fn bootstrap_servers(&self) -> String {
        self.cluster.bootstrap_servers()
    }
}
