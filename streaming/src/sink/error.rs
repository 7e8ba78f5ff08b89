//! Why a write failed.

use super::options::SaveMode;
use crate::options::OptionError;

/// Input columns a Kafka sink cannot take, in Spark's words
/// (`KafkaWriter.validateQuery`, reported by Spark as an
/// `AnalysisException` before any record is sent).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// No `topic` column and no `topic` option.
    #[error(
        "topic option required when no 'topic' attribute is present. Use the topic option for \
         setting a topic."
    )]
    MissingTopic,
    /// No `value` column.
    #[error("Required attribute 'value' not found")]
    MissingValue,
    /// A column of a type the sink does not take.
    #[error("{attribute} attribute unsupported type {found}. {attribute} must be a(n) {expected}")]
    UnsupportedType {
        /// The column: `topic`, `key`, `value`, `headers` or `partition`.
        attribute: &'static str,
        /// Its type, by its Spark name.
        found: String,
        /// What the column takes, as Spark says it.
        expected: &'static str,
    },
}

/// A write that failed. Rows sent before the failure may be in Kafka:
/// the sink is at-least-once, and writing the rows again re-sends them.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SinkError {
    /// The options cannot be used.
    #[error(transparent)]
    Options(#[from] OptionError),
    /// The input's columns do not fit (nothing was sent).
    #[error(transparent)]
    Schema(#[from] SchemaError),
    /// A batch write's save mode Kafka does not take (nothing was sent).
    #[error(
        "Save mode {mode} not allowed for Kafka. Allowed save modes are Append and \
         ErrorIfExists (default)."
    )]
    SaveModeNotAllowed {
        /// The mode given.
        mode: SaveMode,
    },
    /// A row without a topic, with no `topic` option (Spark 4's
    /// `KAFKA_NULL_TOPIC_IN_DATA`; Spark 3 said "null topic present in the
    /// data"). The rows before it were sent and acknowledged first.
    #[error(
        "The Kafka message data sent to the producer contains a null topic. Use the `topic` \
         option for setting a default topic."
    )]
    NullTopic {
        /// The row's position in the write, from 0.
        row: u64,
    },
    /// A header that is null or has a null key (Arrow input). The rows
    /// before it were sent and acknowledged first.
    #[error(
        "header {header} of row {row} is null or has a null key; Kafka header keys cannot be \
         null: give each header a key or leave it out"
    )]
    NullHeaderKey {
        /// The row's position in the write, from 0.
        row: u64,
        /// The header's position in the row, from 0.
        header: usize,
    },
    /// The producer could not be started: the cluster did not answer, or
    /// refused the producer (with idempotence on, a principal without the
    /// `IDEMPOTENT_WRITE` permission on brokers before 2.8).
    #[error("the Kafka producer could not be started: {0}{hint}", hint = sink_option_names(.0))]
    Producer(#[source] Box<ferrokafka::Error>),
    /// A record was refused or not acknowledged. The sink stopped sending
    /// and waited for the records already sent.
    #[error(
        "writing row {row} to Kafka failed: {source}. {acknowledged} rows of this write were \
         acknowledged before; the sink is at-least-once, so writing the rows again re-sends \
         them"
    )]
    Send {
        /// The row's position in the write, from 0.
        row: u64,
        /// Rows of this write acknowledged when the failure was seen.
        acknowledged: u64,
        /// The producer's error, with the topic-partition and what to do.
        source: Box<ferrokafka::ProduceError>,
    },
    /// The rows to write failed to come (the input stream's error). The
    /// rows before it were sent and acknowledged first.
    #[error("the rows to write failed after {rows} rows: {source}")]
    Input {
        /// Rows taken from the input before it failed.
        rows: u64,
        /// The input's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The client's hints name its own settings (`enable.idempotence=false`);
/// a sink takes them with Spark's `kafka.` prefix, so say that too.
fn sink_option_names(error: &ferrokafka::Error) -> &'static str {
    if error.to_string().contains("enable.idempotence=false") {
        " (as a sink option: kafka.enable.idempotence=false)"
    } else {
        ""
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_naming_a_client_setting_is_given_with_the_sink_option_name() {
        let refused = ferrokafka::Error::new(ferrokafka::ErrorKind::InvalidArgument(
            "the broker refused an idempotent producer id: … or set enable.idempotence=false"
                .into(),
        ));
        let text = SinkError::Producer(Box::new(refused)).to_string();
        assert!(
            text.ends_with("(as a sink option: kafka.enable.idempotence=false)"),
            "{text}"
        );
        let other =
            ferrokafka::Error::new(ferrokafka::ErrorKind::InvalidArgument("no route".into()));
        let text = SinkError::Producer(Box::new(other)).to_string();
        assert!(!text.contains("kafka.enable.idempotence"), "{text}");
    }
}
