//! One read task (Spark's `KafkaBatchPartitionReader` with its
//! `KafkaDataConsumer.get` loop, §2.5 and §4.2): resolve the range's
//! sentinels right before reading, read the range once, and decide about
//! offsets that are gone.

use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use ferrokafka::{ErrorKind, ReadRange, Record, RecordStream, SharedFetcher, TopicPartition};
use futures::{FutureExt, Stream, StreamExt};

use super::Shared;
use crate::error::SourceError;
use crate::lookup::available_range;
use crate::planner::{DataLoss, OffsetRange, EARLIEST, LATEST};
use crate::row::drop_headers;

/// How often a task starts again at an offset the broker called out of
/// range although the log holds it (a topic deleted and recreated under
/// the read) before it gives the rest of its range up.
const MAX_RESTARTS_AT_SAME_OFFSET: u32 = 3;

pub(super) struct Task {
    shared: Arc<Shared>,
    /// The read's fetcher, shared by its tasks.
    fetcher: Arc<OnceLock<SharedFetcher>>,
    planned: OffsetRange,
    state: State,
}

enum State {
    Planned,
    Reading(Reading),
    Finished,
}

/// A task's range being read from `next` up to `until`.
struct Reading {
    stream: RecordStream,
    next: i64,
    until: i64,
    restarts_at_same_offset: u32,
}

/// What a task's record stream gave when it was not a record.
enum Interruption {
    /// The range is read.
    End,
    /// The client's error for the partition.
    Failed(ferrokafka::Error),
    /// Nothing for `kafkaConsumer.pollTimeoutMs`.
    Idle,
}

impl Task {
    pub(super) fn new(
        shared: Arc<Shared>,
        fetcher: Arc<OnceLock<SharedFetcher>>,
        planned: OffsetRange,
    ) -> Self {
        Task {
            shared,
            fetcher,
            planned,
            state: State::Planned,
        }
    }

    /// The task's rows, a fetched record batch's worth at a time (moving
    /// the task through the stream's state once per batch, not per row).
    pub(super) fn into_stream(
        self,
    ) -> Pin<Box<dyn Stream<Item = Result<Vec<Record>, SourceError>> + Send>> {
        futures::stream::unfold(self, |mut task| async move {
            let item = task.next().await?;
            Some((item, task))
        })
        .boxed()
    }

    fn tp(&self) -> &TopicPartition {
        &self.planned.partition
    }

    async fn next(&mut self) -> Option<Result<Vec<Record>, SourceError>> {
        loop {
            if let State::Reading(reading) = &mut self.state {
                let timeout = poll_timeout(self.shared.settings.poll_timeout_ms);
                let interruption = match next_records(&mut reading.stream, timeout).await {
                    Ok(mut records) => {
                        if let Some(last) = records.last() {
                            reading.next = last.offset + 1;
                        }
                        reading.restarts_at_same_offset = 0;
                        if !self.shared.settings.include_headers {
                            records.iter_mut().for_each(drop_headers);
                        }
                        return Some(Ok(records));
                    }
                    Err(interruption) => interruption,
                };
                let State::Reading(reading) = std::mem::replace(&mut self.state, State::Finished)
                else {
                    unreachable!("matched above")
                };
                match self.interrupted(reading, interruption).await {
                    Ok(Some(reading)) => self.state = State::Reading(reading),
                    Ok(None) => return None,
                    Err(error) => return Some(Err(error)),
                }
                continue;
            }
            match std::mem::replace(&mut self.state, State::Finished) {
                State::Planned => match self.start().await {
                    Ok(Some(reading)) => self.state = State::Reading(reading),
                    Ok(None) => return None,
                    Err(error) => return Some(Err(error)),
                },
                State::Reading(_) | State::Finished => return None,
            }
        }
    }

    /// Resolves the planned range and starts reading it; `None` for an
    /// empty range, which costs no fetch.
    async fn start(&mut self) -> Result<Option<Reading>, SourceError> {
        let planned = &self.planned;
        let (want_earliest, want_latest) = (planned.from == EARLIEST, planned.until == LATEST);
        let (earliest, latest) = if want_earliest || want_latest {
            let client = &self.shared.client;
            available_range(
                &client.admin(),
                &planned.partition,
                client.config().isolation_level(),
                want_earliest,
                want_latest,
            )
            .await
            .map_err(|source| SourceError::Read {
                partition: planned.partition.clone(),
                offset: planned.from,
                source: Box::new(source),
            })?
        } else {
            (None, None)
        };
        let range = planned.resolve_sentinels(
            earliest.unwrap_or(planned.from),
            latest.unwrap_or(planned.until),
        )?;
        if range.from == range.until {
            self.shared.counters.tasks_empty.fetch_add(1, Relaxed);
            return Ok(None);
        }
        self.shared.counters.tasks_fetched.fetch_add(1, Relaxed);
        Ok(Some(self.read_from(range.from, range.until)))
    }

    fn read_from(&self, from: i64, until: i64) -> Reading {
        let tp = self.tp();
        let fetcher = self
            .fetcher
            .get_or_init(|| self.shared.client.shared_fetcher());
        let stream = fetcher.read(vec![ReadRange {
            tp: tp.clone(),
            start: from,
            end: until,
        }]);
        Reading {
            stream,
            next: from,
            until,
            restarts_at_same_offset: 0,
        }
    }

    /// Decides what follows a stream that gave no record: the end, an
    /// error, or (for offsets that are gone) data-loss handling.
    async fn interrupted(
        &self,
        reading: Reading,
        interruption: Interruption,
    ) -> Result<Option<Reading>, SourceError> {
        let read_error = |source| SourceError::Read {
            partition: self.tp().clone(),
            offset: reading.next,
            source: Box::new(source),
        };
        match interruption {
            Interruption::End => Ok(None),
            Interruption::Failed(error) => match *error.kind() {
                ErrorKind::OffsetOutOfRange {
                    log_start_offset,
                    high_watermark,
                    ..
                } => {
                    let (earliest, latest) = if log_start_offset >= 0 && high_watermark >= 0 {
                        (log_start_offset, high_watermark)
                    } else {
                        self.available_range().await.map_err(read_error)?
                    };
                    self.offsets_gone(reading, earliest, latest)
                }
                _ => Err(read_error(error)),
            },
            Interruption::Idle => {
                // Spark's poll that returned nothing: out of range when the
                // offset is not in the log (any more), else a timeout.
                let (earliest, latest) = self.available_range().await.map_err(read_error)?;
                if reading.next < earliest || reading.next >= latest {
                    self.offsets_gone(reading, earliest, latest)
                } else {
                    Err(SourceError::FetchTimeout {
                        partition: self.tp().clone(),
                        offset: reading.next,
                        timeout_ms: self.shared.settings.poll_timeout_ms,
                    })
                }
            }
        }
    }

    async fn available_range(&self) -> Result<(i64, i64), ferrokafka::Error> {
        let client = &self.shared.client;
        let isolation = client.config().isolation_level();
        let (earliest, latest) =
            available_range(&client.admin(), self.tp(), isolation, true, true).await?;
        Ok((earliest.unwrap_or(0), latest.unwrap_or(0)))
    }

    /// Offsets from `reading.next` on are not in the log, which holds
    /// `[earliest, latest)`: fail (`failOnDataLoss=true`), or skip what is
    /// gone with a warning and go on with what is left (Spark's
    /// `getEarliestAvailableOffsetBetween`).
    fn offsets_gone(
        &self,
        mut reading: Reading,
        earliest: i64,
        latest: i64,
    ) -> Result<Option<Reading>, SourceError> {
        let settings = &self.shared.settings;
        let (from, until) = (reading.next, reading.until);
        let loss = DataLoss::CouldNotReadOffsetRange {
            partition: self.tp().clone(),
            start: from,
            end: until,
            group_id: settings.group_id.clone(),
        };
        if settings.fail_on_data_loss {
            return Err(loss.into());
        }
        let counters = &self.shared.counters;
        counters.data_loss.fetch_add(1, Relaxed);
        let skip = |to: i64| {
            counters
                .offsets_out_of_range
                .fetch_add(u64::try_from(to - from).unwrap_or(0), Relaxed);
            tracing::warn!(
                error_class = loss.error_class(),
                "{} Skipping offsets [{from}, {to}).",
                loss.warning()
            );
        };
        if from >= latest || earliest >= until {
            // Nothing of the rest of the range is in the log.
            skip(until);
            return Ok(None);
        }
        if from >= earliest {
            // The log holds the offset again (a topic recreated under the
            // read): start again there, a few times at most.
            if reading.restarts_at_same_offset >= MAX_RESTARTS_AT_SAME_OFFSET {
                skip(until);
                return Ok(None);
            }
            tracing::warn!(
                error_class = loss.error_class(),
                "{} Reading again from offset {from}.",
                loss.warning()
            );
            let restarts = reading.restarts_at_same_offset + 1;
            reading = self.read_from(from, until);
            reading.restarts_at_same_offset = restarts;
            return Ok(Some(reading));
        }
        skip(earliest);
        Ok(Some(self.read_from(earliest, until)))
    }
}

fn poll_timeout(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

/// The stream's next records (one record batch's, never none), or why
/// there are none; records already fetched are taken without arming a
/// timer.
async fn next_records(
    stream: &mut RecordStream,
    timeout: Duration,
) -> Result<Vec<Record>, Interruption> {
    let item = match stream.next_batch().now_or_never() {
        Some(item) => item,
        None => match tokio::time::timeout(timeout, stream.next_batch()).await {
            Ok(item) => item,
            Err(_) => return Err(Interruption::Idle),
        },
    };
    match item {
        Some(Ok(records)) => Ok(records),
        Some(Err(error)) => Err(Interruption::Failed(error)),
        None => Err(Interruption::End),
    }
}
