//! [`RecordStream`]: the consumer's end of a read. Whole fetched batches
//! arrive from the fetch source as chunks; records are decoded as they are
//! polled, so a slow consumer holds compact batches, not decoded records.

use std::collections::{HashMap, HashSet, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use ferrokafka_protocol::record::RecordBatch;
use ferrokafka_protocol::ProtocolError;
use futures::Stream;
use tokio::sync::{mpsc, OwnedSemaphorePermit};

use super::budget::Held;
use super::fetcher::FetcherTask;
use super::record::{PartitionWatermarks, Record, RecordHeader};
use crate::error::{Error, ErrorKind, Result};
use crate::types::TopicPartition;

/// Fetched batches of one partition, handed from the source to the stream.
pub(crate) struct Chunk {
    pub(crate) tp: TopicPartition,
    pub(crate) batches: VecDeque<RecordBatch>,
    /// Records below this offset are trimmed.
    pub(crate) low: i64,
    /// Records at or above this offset are cut.
    pub(crate) high: i64,
    pub(crate) verify: bool,
    /// The fetch's budget bytes, shared by the chunks of one answer (whose
    /// records are slices of one buffer) and given back when the last of
    /// them is consumed.
    pub(crate) _budget: Option<Arc<OwnedSemaphorePermit>>,
    /// Counts the chunk as waiting for this reader's consumer.
    pub(crate) _held: Held,
}

/// What the source sends the stream.
pub(crate) enum Event {
    Chunk(Chunk),
    Failed(Error),
}

/// What the source and the stream share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Partitions that ended with an error (their later chunks are dropped,
    /// and the source stops fetching them).
    pub(crate) failed: Mutex<HashSet<TopicPartition>>,
    /// The latest watermarks each partition's fetch answers reported.
    pub(crate) watermarks: Mutex<HashMap<TopicPartition, PartitionWatermarks>>,
}

impl Shared {
    pub(crate) fn has_failed(&self, tp: &TopicPartition) -> bool {
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(tp)
    }

    fn mark_failed(&self, tp: TopicPartition) {
        self.failed
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(tp);
    }

    pub(crate) fn set_watermarks(&self, tp: &TopicPartition, watermarks: PartitionWatermarks) {
        let mut map = self.watermarks.lock().unwrap_or_else(|e| e.into_inner());
        match map.get_mut(tp) {
            Some(known) => *known = watermarks,
            None => {
                map.insert(tp.clone(), watermarks);
            }
        }
    }
}

/// The records of a [`Client::read`](crate::Client::read), as a stream of
/// `Result<Record, Error>`. An error concerns one partition (see
/// [`Error::topic_partition`]); the others go on. The stream ends when
/// every range is read or has failed.
///
/// Besides records, it tells where each partition's log stood at the
/// broker as of its last fetch answer ([`watermarks`](Self::watermarks)),
/// which is what lag metrics need.
pub struct RecordStream {
    events: mpsc::UnboundedReceiver<Event>,
    chunk: Option<Chunk>,
    ready: VecDeque<Record>,
    shared: Arc<Shared>,
    /// Keeps the fetcher's fetch loop running.
    _fetcher: Arc<FetcherTask>,
}

impl std::fmt::Debug for RecordStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordStream")
            .field("ready", &self.ready.len())
            .finish_non_exhaustive()
    }
}

impl RecordStream {
    pub(crate) fn new(
        events: mpsc::UnboundedReceiver<Event>,
        shared: Arc<Shared>,
        fetcher: Arc<FetcherTask>,
    ) -> Self {
        RecordStream {
            events,
            chunk: None,
            ready: VecDeque::new(),
            shared,
            _fetcher: fetcher,
        }
    }

    /// The next records, a fetched record batch's worth at a time: all of
    /// one partition, in offset order, never empty. Errors and the end are
    /// as for the stream's items; records and batches may be taken
    /// alternately. Taking a batch at a time costs less per record than
    /// polling each.
    ///
    /// ```
    /// # use futures::StreamExt;
    /// # async fn count(mut records: ferrokafka::RecordStream) -> Result<usize, ferrokafka::Error> {
    /// let mut count = 0;
    /// while let Some(batch) = records.next_batch().await {
    ///     count += batch?.len();
    /// }
    /// # Ok(count) }
    /// ```
    pub async fn next_batch(&mut self) -> Option<Result<Vec<Record>>> {
        std::future::poll_fn(|cx| self.poll_next_batch(cx)).await
    }

    /// Polls for [`next_batch`](Self::next_batch).
    pub fn poll_next_batch(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Vec<Record>>>> {
        loop {
            if !self.ready.is_empty() {
                return Poll::Ready(Some(Ok(self.ready.drain(..).collect())));
            }
            let records = self
                .chunk
                .as_ref()
                .and_then(|c| c.batches.front())
                .map_or(0, |b| b.record_count().clamp(0, 4096) as usize);
            let mut out = Vec::with_capacity(records);
            match decode_next_batch(&mut self.chunk, &self.shared, |record| out.push(record)) {
                Some(Ok(())) if out.is_empty() => continue,
                Some(Ok(())) => return Poll::Ready(Some(Ok(out))),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {}
            }
            if let Err(end) = ready!(self.poll_chunk(cx)) {
                return Poll::Ready(end.map(Err));
            }
        }
    }

    /// Drops the consumed chunk (giving its budget back) and takes the
    /// next event: `Ok` when a chunk (or nothing usable) came, else the
    /// stream's error item, or `None` at its end.
    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Option<Error>>> {
        self.chunk = None;
        Poll::Ready(match ready!(self.events.poll_recv(cx)) {
            Some(Event::Chunk(chunk)) => {
                if !self.shared.has_failed(&chunk.tp) {
                    self.chunk = Some(chunk);
                }
                Ok(())
            }
            Some(Event::Failed(e)) => Err(Some(e)),
            None => Err(None),
        })
    }

    /// The high watermark, last stable offset and log start offset of
    /// `tp` as of its last fetch answer; `None` before the first one.
    pub fn watermarks(&self, tp: &TopicPartition) -> Option<PartitionWatermarks> {
        self.shared
            .watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(tp)
            .copied()
    }

    /// The watermarks of every partition that has had a fetch answer.
    pub fn all_watermarks(&self) -> Vec<(TopicPartition, PartitionWatermarks)> {
        let mut all: Vec<_> = self
            .shared
            .watermarks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(tp, w)| (tp.clone(), *w))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// Decodes the next batch of `chunk`, handing its records to `out`; `None`
/// when the chunk has no batch left. A corrupt batch ends the chunk and
/// its partition.
fn decode_next_batch(
    chunk: &mut Option<Chunk>,
    shared: &Shared,
    out: impl FnMut(Record),
) -> Option<Result<()>> {
    let current = chunk.as_mut()?;
    let batch = current.batches.pop_front()?;
    let decoded = decode_batch(
        &current.tp,
        &batch,
        current.low,
        current.high,
        current.verify,
        out,
    );
    if decoded.is_err() {
        let tp = current.tp.clone();
        *chunk = None;
        shared.mark_failed(tp);
    }
    Some(decoded)
}

/// Decodes the records of `batch` in `[low, high)`, handing each to `out`.
pub(crate) fn decode_batch(
    tp: &TopicPartition,
    batch: &RecordBatch,
    low: i64,
    high: i64,
    verify: bool,
    mut out: impl FnMut(Record),
) -> Result<()> {
    let corrupt = |offset: i64, e: ferrokafka_protocol::record::RecordError| {
        Error::new(ErrorKind::CorruptRecords {
            offset,
            source: ProtocolError::Record(e),
        })
        .with_topic_partition(tp.clone())
    };
    if verify {
        batch
            .verify_crc()
            .map_err(|e| corrupt(batch.base_offset(), e))?;
    }
    let records = batch
        .records()
        .map_err(|e| corrupt(batch.base_offset(), e))?;
    let epoch = batch.partition_leader_epoch();
    let timestamp_type = batch.timestamp_type();
    let batch_buffer = records.data();
    for record in records.iter() {
        let record = record.map_err(|e| corrupt(batch.base_offset(), e))?;
        let offset = record.offset();
        if offset < low {
            continue;
        }
        if offset >= high {
            break;
        }
        out(Record {
            topic: Arc::clone(&tp.topic),
            partition: tp.partition,
            offset,
            timestamp: record.timestamp(),
            timestamp_type,
            key: record.key_bytes(),
            value: record.value_bytes(),
            headers: record_headers(&record).map_err(|e| corrupt(offset, e))?,
            leader_epoch: (epoch >= 0).then_some(epoch),
            batch_buffer: batch_buffer.clone(),
        });
    }
    Ok(())
}

/// A record's headers; most records have none, which costs no iteration
/// set-up (the first step still reports bytes left after the last header).
#[inline]
fn record_headers(
    record: &ferrokafka_protocol::record::RecordView<'_>,
) -> std::result::Result<Vec<RecordHeader>, ferrokafka_protocol::record::RecordError> {
    let mut headers = record.headers().iter();
    let Some(first) = headers.next() else {
        return Ok(Vec::new());
    };
    let convert = |h: ferrokafka_protocol::record::Header<'_>| RecordHeader {
        key: h.key_bytes(),
        value: h.value_bytes(),
    };
    let mut out = Vec::with_capacity(headers.size_hint().0.saturating_add(1));
    out.push(convert(first?));
    for header in headers {
        out.push(convert(header?));
    }
    Ok(out)
}

impl Stream for RecordStream {
    type Item = Result<Record>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(record) = this.ready.pop_front() {
                return Poll::Ready(Some(Ok(record)));
            }
            let ready = &mut this.ready;
            match decode_next_batch(&mut this.chunk, &this.shared, |r| ready.push_back(r)) {
                Some(Ok(())) => continue,
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                None => {}
            }
            // The chunk is consumed: its budget goes back.
            if let Err(end) = ready!(this.poll_chunk(cx)) {
                return Poll::Ready(end.map(Err));
            }
        }
    }
}
