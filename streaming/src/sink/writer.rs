//! [`KafkaSink`]: rows to Kafka through a cached producer (§6.2).

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use ferrokafka::{DeliveryFuture, ProduceError, ProducerRecord, RecordMetadata};
use futures::stream::FuturesUnordered;
use futures::{FutureExt, Stream, StreamExt};

use super::cache::{ProducerCache, ProducerLease};
use super::error::SinkError;
use super::options::SinkSettings;
use super::row::SinkRow;

/// What a write did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct WriteSummary {
    /// Rows written and acknowledged (as `acks` asks).
    pub rows: u64,
}

/// A Kafka sink: writes rows with Spark's sink semantics through a
/// producer shared with every sink of the same `kafka.` properties (see
/// [`ProducerCache`]). Cloning is cheap; clones share everything.
///
/// Each write sends its rows in order without waiting, then waits until
/// every record sent has its outcome. The first failure (a record the
/// producer refused or the broker did not acknowledge, a row without a
/// topic, the input failing) stops the sending; the write still waits for
/// what was sent, then fails with that first error. There are no
/// transactions: rows sent before a failure may be in Kafka, so writing
/// again re-sends them (at-least-once, as Spark).
#[derive(Clone)]
pub struct KafkaSink {
    inner: Arc<Inner>,
}

struct Inner {
    settings: SinkSettings,
    /// The `topic` option, shared by every record.
    topic: Option<Arc<str>>,
    cache: ProducerCache,
}

impl fmt::Debug for KafkaSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaSink")
            .field("settings", &self.inner.settings)
            .field("cache", &self.inner.cache)
            .finish()
    }
}

/// A row waiting for its outcome: its position and its delivery.
struct Delivery {
    row: u64,
    future: DeliveryFuture,
}

impl Future for Delivery {
    type Output = (u64, Result<RecordMetadata, ProduceError>);

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let row = self.row;
        Pin::new(&mut self.future)
            .poll(cx)
            .map(|outcome| (row, outcome))
    }
}

impl KafkaSink {
    /// A sink with these settings, using the process's
    /// [`ProducerCache::global`]. Nothing connects until the first row is
    /// written.
    pub fn new(settings: SinkSettings) -> Self {
        Self::with_cache(settings, ProducerCache::global().clone())
    }

    /// A sink with these settings using `cache`.
    pub fn with_cache(settings: SinkSettings, cache: ProducerCache) -> Self {
        KafkaSink {
            inner: Arc::new(Inner {
                topic: settings.topic.as_deref().map(Arc::from),
                settings,
                cache,
            }),
        }
    }

    /// The validated options.
    pub fn settings(&self) -> &SinkSettings {
        &self.inner.settings
    }

    /// The producer cache it writes through.
    pub fn cache(&self) -> &ProducerCache {
        &self.inner.cache
    }

    /// Writes `rows` (see the [type documentation](Self)) and returns once
    /// each is acknowledged.
    pub async fn write<I>(&self, rows: I) -> Result<WriteSummary, SinkError>
    where
        I: IntoIterator,
        I::Item: Into<SinkRow>,
    {
        self.write_rows(futures::stream::iter(
            rows.into_iter().map(|row| Ok(row.into())),
        ))
        .await
    }

    /// Writes the rows of a stream, as [`write`](Self::write); an error
    /// from the stream stops the write ([`SinkError::Input`]) after the
    /// rows before it are acknowledged. The rows of a read
    /// ([`Rows`](crate::Rows)) write as they are: Kafka to Kafka.
    pub async fn write_stream<S, R, E>(&self, rows: S) -> Result<WriteSummary, SinkError>
    where
        S: Stream<Item = Result<R, E>>,
        R: Into<SinkRow>,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        let mut taken = 0u64;
        let rows = rows.map(move |row| match row {
            Ok(row) => {
                taken += 1;
                Ok(row.into())
            }
            Err(error) => Err(SinkError::Input {
                rows: taken,
                source: error.into(),
            }),
        });
        self.write_rows(rows).await
    }

    /// Writes one micro-batch of a streaming query: the call a query's
    /// batch handler makes, returning `Ok` only once every row of the
    /// batch is acknowledged, so the query commits the batch
    /// (`commits/<batch_id>`) only then.
    ///
    /// At-least-once: the sink keeps no record of batches written. A batch
    /// the query runs again (its offsets logged but not committed when the
    /// query stopped or crashed) is written again in full, so its rows may
    /// be in Kafka twice. Every call writes; Spark's streaming write does
    /// the same.
    pub async fn write_micro_batch<S, R, E>(
        &self,
        batch_id: u64,
        rows: S,
    ) -> Result<WriteSummary, SinkError>
    where
        S: Stream<Item = Result<R, E>>,
        R: Into<SinkRow>,
        E: Into<Box<dyn StdError + Send + Sync>>,
    {
        let result = self.write_stream(rows).await;
        match &result {
            Ok(summary) => tracing::debug!(batch_id, rows = summary.rows, "micro-batch written"),
            Err(error) => tracing::warn!(batch_id, "micro-batch not written: {error}"),
        }
        result
    }

    /// The write loop: Spark's `KafkaWriteTask` (send each row, keep the
    /// first failure, stop sending once there is one, then wait for what
    /// was sent).
    pub(crate) async fn write_rows<S>(&self, rows: S) -> Result<WriteSummary, SinkError>
    where
        S: Stream<Item = Result<SinkRow, SinkError>>,
    {
        let mut rows = std::pin::pin!(rows);
        let mut lease: Option<ProducerLease> = None;
        let mut pending: FuturesUnordered<Delivery> = FuturesUnordered::new();
        let mut acknowledged = 0u64;
        let mut failure: Option<SinkError> = None;
        let mut index = 0u64;
        while failure.is_none() {
            let row = match rows.next().await {
                None => break,
                Some(Ok(row)) => row,
                Some(Err(error)) => {
                    failure = Some(error);
                    break;
                }
            };
            let Some(topic) = self.inner.topic.clone().or(row.topic) else {
                failure = Some(SinkError::NullTopic { row: index });
                break;
            };
            // Connect on the first row: an empty write needs no cluster.
            let producer = match &lease {
                Some(lease) => lease,
                None => match self.inner.cache.acquire(&self.inner.settings).await {
                    Ok(acquired) => lease.insert(acquired),
                    Err(error) => {
                        failure = Some(error);
                        break;
                    }
                },
            };
            let mut record = ProducerRecord::new(topic);
            record.key = row.key;
            record.value = row.value;
            record.partition = row.partition;
            record.headers = row.headers;
            record.timestamp = row.timestamp;
            match producer.send(record).await {
                Ok(future) => pending.push(Delivery { row: index, future }),
                Err(error) => {
                    failure = Some(SinkError::Send {
                        row: index,
                        acknowledged,
                        source: Box::new(error),
                    });
                    break;
                }
            }
            index += 1;
            // Outcomes that arrived meanwhile, without waiting.
            while let Some(Some((row, outcome))) = pending.next().now_or_never() {
                settle(row, outcome, &mut acknowledged, &mut failure);
            }
        }
        while let Some((row, outcome)) = pending.next().await {
            settle(row, outcome, &mut acknowledged, &mut failure);
        }
        match failure {
            None => Ok(WriteSummary { rows: acknowledged }),
            Some(error) => {
                if let (SinkError::Send { .. }, Some(lease)) = (&error, &lease) {
                    // A fresh producer for the next write: this one may be
                    // in a state that fails again (fenced, out of sequence).
                    lease.invalidate();
                }
                Err(error)
            }
        }
    }
}

/// Counts an acknowledged row, or keeps the first failure.
fn settle(
    row: u64,
    outcome: Result<RecordMetadata, ProduceError>,
    acknowledged: &mut u64,
    failure: &mut Option<SinkError>,
) {
    match outcome {
        Ok(_) => *acknowledged += 1,
        Err(source) => {
            if failure.is_none() {
                *failure = Some(SinkError::Send {
                    row,
                    acknowledged: *acknowledged,
                    source: Box::new(source),
                });
            }
        }
    }
}
