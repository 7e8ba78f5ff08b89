//! Writes to Kafka with the semantics of Spark's Kafka sink (§6):
//! `df.write.format("kafka")` and `df.writeStream.format("kafka")`.
//!
//! * [`SinkOptions`] → [`SinkSettings`]: the `topic` option and the
//!   `kafka.` producer properties (`kafka.bootstrap.servers` required;
//!   the serializers refused with Spark's reasons; unknown options warned
//!   about with the closest known one).
//! * [`SinkRow`]: a row's `topic`, `key`, `value`, `partition` and
//!   `headers`. The `topic` option overrides the column; a row without a
//!   topic and no option fails the write with Spark's
//!   `KAFKA_NULL_TOPIC_IN_DATA` message. Rows of a read convert with
//!   `From`.
//! * [`KafkaSink`]: [`write`](KafkaSink::write) (rows),
//!   [`write_stream`](KafkaSink::write_stream) (a stream of rows, such as
//!   a read's), [`write_micro_batch`](KafkaSink::write_micro_batch) (one
//!   micro-batch of a streaming query) and, with the `arrow` feature,
//!   `write_record_batch`; it is also a query's
//!   [`BatchHandler`](crate::query::BatchHandler). Each returns once every row is acknowledged,
//!   or with the first failure, after waiting for what was sent.
//! * [`check_columns`]: Spark's checks of the input columns (missing
//!   `topic` or `value`, unsupported types), word for word, for inputs
//!   that have a schema (Arrow: `check_arrow_schema`).
//! * [`ProducerCache`]: producers shared per identical `kafka.`
//!   properties, closed after Spark's `spark.kafka.producer.cache.timeout`
//!   unused.
//!
//! **Partitions.** A row's `partition` is honoured (a partition the topic
//! does not have fails the write, naming it). Without one, the producer's
//! partitioner chooses as Kafka's Java producer does: murmur2 of the key,
//! positive, modulo the partition count; rows without a key go to a
//! sticky partition that changes as batches fill. Java partitioner
//! classes (`kafka.partitioner.class`) cannot be loaded here: naming one
//! other than the default only earns a warning.
//!
//! **Idempotence.** On by default, as with Spark on kafka-clients ≥ 3.0:
//! the producer gets a producer id and the broker drops retried
//! duplicates. `kafka.enable.idempotence=false` turns it off (needed
//! against brokers before 2.8 where the principal lacks the cluster's
//! `IDEMPOTENT_WRITE` permission). It does not make writes exactly-once.
//!
//! **At-least-once.** Like Spark's, the sink has no transactions and no
//! commit protocol: rows sent before a failure may be in Kafka, and a
//! write that is run again sends all its rows again. In a streaming
//! query, a micro-batch whose offsets were logged (`offsets/N`) but not
//! committed (`commits/N`) when the query stopped is run again on restart
//! and its rows written again; the query commits a batch only after
//! [`write_micro_batch`](KafkaSink::write_micro_batch) returned `Ok`, so
//! no row is lost, and some may be written twice. Deduplicate downstream
//! (for example on a key) where that matters.
//!
//! ```
//! use futures::TryStreamExt;
//! use ferrokafka_streaming::batch::BatchSource;
//! use ferrokafka_streaming::options::SourceOptions;
//! use ferrokafka_streaming::sink::{KafkaSink, SinkOptions, SinkRow};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let cluster = ferrokafka_fake::FakeCluster::builder().topic("orders", 2).topic("copy", 2).build()?;
//! # let bootstrap = cluster.bootstrap();
//! // `bootstrap` is "host:port": here an in-process fake cluster.
//! let sink = KafkaSink::new(
//!     SinkOptions::from_pairs([("kafka.bootstrap.servers", bootstrap.as_str()), ("topic", "orders")])
//!         .settings()?,
//! );
//! let rows = (0..10).map(|i| {
//!     SinkRow::new().key(format!("customer-{}", i % 3)).value(format!("order {i}")).header("source", Some("shop"))
//! });
//! let written = sink.write(rows).await?;
//! assert_eq!(written.rows, 10);
//!
//! // Kafka to Kafka: the rows of a read, with their topic replaced by the option.
//! let read = BatchSource::connect(
//!     SourceOptions::from_pairs([("kafka.bootstrap.servers", bootstrap.as_str()), ("subscribe", "orders"), ("includeHeaders", "true")])
//!         .batch()?,
//! )
//! .await?;
//! let copy = KafkaSink::new(
//!     SinkOptions::from_pairs([("kafka.bootstrap.servers", bootstrap.as_str()), ("topic", "copy")]).settings()?,
//! );
//! assert_eq!(copy.write_stream(read.rows().await?).await?.rows, 10);
//!
//! // Spark's errors.
//! let err = KafkaSink::new(SinkOptions::from_pairs([("kafka.bootstrap.servers", bootstrap.as_str())]).settings()?)
//!     .write([SinkRow::new().value("no topic")])
//!     .await
//!     .unwrap_err();
//! assert_eq!(
//!     err.to_string(),
//!     "The Kafka message data sent to the producer contains a null topic. Use the `topic` option for setting a default topic."
//! );
//! # Ok(()) }
//! ```
//!
//! A sink is a streaming query's batch handler (Spark's
//! `df.writeStream.format("kafka")`): each micro-batch is written with
//! [`write_micro_batch`](KafkaSink::write_micro_batch), and the query
//! commits it once every row is acknowledged. A handler of its own calls
//! `sink.write_micro_batch(batch.batch_id(), batch.into_rows())`.
//!
//! ```
//! use std::path::Path;
//! use ferrokafka_streaming::options::StreamSettings;
//! use ferrokafka_streaming::query::{QueryError, QueryOutcome, StreamingQuery};
//! use ferrokafka_streaming::sink::KafkaSink;
//!
//! async fn kafka_to_kafka(source: StreamSettings, sink: KafkaSink, checkpoint: &Path) -> Result<QueryOutcome, QueryError> {
//!     let query = StreamingQuery::builder(source, checkpoint).start(sink).await?;
//!     query.await_termination().await
//! }
//! ```

#[cfg(feature = "arrow")]
mod arrow;
mod cache;
mod error;
mod handler;
mod options;
mod pool;
mod row;
mod schema;
mod writer;

#[cfg(feature = "arrow")]
pub use arrow::check_arrow_schema;
pub use cache::{
    ConnectClient, ProducerCache, ProducerCacheConfig, ProducerLease, CACHE_EVICTOR_INTERVAL_CONF,
    CACHE_TIMEOUT_CONF,
};
pub use error::{SchemaError, SinkError};
pub use options::{SaveMode, SinkOptions, SinkSettings};
pub use row::SinkRow;
pub use schema::{check_columns, SinkColumns, SparkType};
pub use writer::{KafkaSink, WriteSummary};

#[cfg(test)]
mod tests;
