//! The query's checkpoint, in Spark's layout (§2.2, §2.3):
//!
//! | file | written | holds |
//! |---|---|---|
//! | `metadata` | when the checkpoint is created | `{"id":"<query uuid>"}` |
//! | `sources/0/0` | before the first batch | NUL, `v1`, the initial offsets |
//! | `offsets/<N>` | before batch N reads | `v1`, the [`BatchMetadata`], batch N's end offsets |
//! | `commits/<N>` | after batch N is written out | `v1`, `{"nextBatchWatermarkMs":0}` |
//!
//! Every file is written whole or not at all
//! ([`CheckpointStore::write_atomically`]). A batch whose offsets were
//! logged but not committed is run again over exactly the same range, so a
//! crash anywhere repeats at most one batch (at-least-once). Old batches are
//! purged as Spark purges them: after logging batch N, batches below
//! N − `minBatchesToRetain` (default 100) are deleted.
//!
//! ```
//! use ferrokafka_streaming::checkpoint::{BatchMetadata, Checkpoint, MemoryCheckpoint, Resume};
//! use ferrokafka_streaming::planner::PartitionOffsets;
//!
//! let store = MemoryCheckpoint::new();
//! let mut checkpoint = Checkpoint::open(store.clone()).unwrap();
//! assert!(matches!(checkpoint.resume().unwrap(), Resume::New { initial: None }));
//!
//! // A new query resolves its starting offsets and records them first.
//! let initial = PartitionOffsets::from_json(r#"{"orders":{"0":0}}"#).unwrap();
//! checkpoint.write_initial_offsets(&initial).unwrap();
//! // Batch 0 is logged, then read, then committed.
//! let end = PartitionOffsets::from_json(r#"{"orders":{"0":100}}"#).unwrap();
//! checkpoint.write_offsets(0, &end, &BatchMetadata::new(1_700_000_000_000)).unwrap();
//! // … the process dies before the commit: the next run re-reads 0..100.
//! let mut reopened = Checkpoint::open(store).unwrap();
//! let Resume::Rerun(batch) = reopened.resume().unwrap() else { panic!() };
//! assert_eq!((batch.batch_id, &batch.start, &batch.end), (0, &initial, &end));
//! reopened.commit(0, 0).unwrap();
//! ```

mod error;
mod files;
mod store;

use std::num::NonZeroU64;

pub use error::CheckpointError;
pub use files::BatchMetadata;
pub use store::{CheckpointStore, LocalCheckpoint, MemoryCheckpoint};

use files::{
    batch_id_of, commits_path, decode_commit, decode_initial_offsets, decode_metadata,
    decode_offsets, encode_commit, encode_initial_offsets, encode_metadata, encode_offsets,
    is_temporary, is_uuid, offsets_path, OffsetsFile, Problem, COMMITS_DIR, INITIAL_OFFSETS,
    METADATA, OFFSETS_DIR, SOURCE_DIR,
};

use crate::java::random_uuid;
use crate::planner::PartitionOffsets;

/// Spark's default `spark.sql.streaming.minBatchesToRetain`.
pub const DEFAULT_MIN_BATCHES_TO_RETAIN: NonZeroU64 = match NonZeroU64::new(100) {
    Some(n) => n,
    None => unreachable!(),
};

/// Where a query (re)starts, from what its checkpoint holds.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Resume {
    /// No batch was logged yet: batch 0 starts at the initial offsets.
    New {
        /// The initial offsets, when an earlier run already recorded them
        /// (the starting options are then ignored, as in Spark); `None`:
        /// resolve the starting options and
        /// [`write_initial_offsets`](Checkpoint::write_initial_offsets).
        initial: Option<PartitionOffsets>,
    },
    /// The last logged batch was not committed: run it again over exactly
    /// this range, even if more data has arrived or the options changed.
    Rerun(LoggedBatch),
    /// The last logged batch was committed: plan the next one from its end.
    Next {
        /// The next batch's id.
        batch_id: u64,
        /// Where it starts: the committed batch's end offsets.
        start: PartitionOffsets,
        /// The watermark the commit recorded for it.
        watermark_ms: i64,
    },
}

/// A batch recorded in `offsets/`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedBatch {
    /// Its id.
    pub batch_id: u64,
    /// Where it starts: the previous batch's end, or the initial offsets.
    pub start: PartitionOffsets,
    /// Where it ends.
    pub end: PartitionOffsets,
    /// What was recorded with it.
    pub metadata: BatchMetadata,
}

/// A query's checkpoint: its id, its initial offsets and its log of
/// batches, kept in a [`CheckpointStore`].
///
/// One query at a time may use a checkpoint; a second writer is noticed
/// when both write the same file ([`CheckpointError::ConcurrentUpdate`]).
/// The calls do blocking I/O: from async code, run them on a blocking
/// thread.
#[derive(Debug)]
pub struct Checkpoint {
    store: Box<dyn CheckpointStore>,
    query_id: String,
    created: bool,
    min_batches_to_retain: u64,
    last_logged: Option<u64>,
    last_committed: Option<u64>,
    has_initial_offsets: bool,
    /// Batches below this were purged by this run.
    purged_below: u64,
}

impl Checkpoint {
    /// Opens the checkpoint in `store`, creating it (with a new random query
    /// id) when it holds nothing.
    pub fn open(store: impl CheckpointStore + 'static) -> Result<Self, CheckpointError> {
        Self::open_inner(Box::new(store), None)
    }

    /// Opens the checkpoint of query `query_id` (a UUID), creating it with
    /// that id when the store holds nothing; a checkpoint of another query
    /// is refused.
    pub fn open_for_query(
        store: impl CheckpointStore + 'static,
        query_id: &str,
    ) -> Result<Self, CheckpointError> {
        if !is_uuid(query_id) {
            return Err(CheckpointError::InvalidQueryId {
                file: store.location(METADATA),
                id: query_id.to_owned(),
            });
        }
        Self::open_inner(Box::new(store), Some(query_id))
    }

    fn open_inner(
        store: Box<dyn CheckpointStore>,
        expected_id: Option<&str>,
    ) -> Result<Self, CheckpointError> {
        let mut names = Vec::new();
        for dir in ["", OFFSETS_DIR, COMMITS_DIR, SOURCE_DIR] {
            let listed = store.list(dir).map_err(|source| CheckpointError::Io {
                file: store.location(dir),
                source,
            })?;
            for name in listed {
                let path = if dir.is_empty() {
                    name
                } else {
                    format!("{dir}/{name}")
                };
                names.push(path);
            }
        }
        // Temporary files are left only by crashes mid-write: never read.
        for path in names.iter().filter(|path| is_temporary(file_name(path))) {
            store.delete(path).map_err(|source| CheckpointError::Io {
                file: store.location(path),
                source,
            })?;
        }
        let last_in = |dir: &str| {
            names
                .iter()
                .filter_map(|path| path.strip_prefix(dir)?.strip_prefix('/'))
                .filter_map(batch_id_of)
                .max()
        };
        let last_logged = last_in(OFFSETS_DIR);
        let last_committed = last_in(COMMITS_DIR);
        let has_initial_offsets = names.iter().any(|path| path == INITIAL_OFFSETS);

        let metadata = store.read(METADATA).map_err(|source| CheckpointError::Io {
            file: store.location(METADATA),
            source,
        })?;
        let (query_id, created) = match metadata {
            Some(contents) => {
                let id = decode_metadata(&contents)
                    .map_err(|problem| problem_error(store.as_ref(), METADATA, problem))?;
                if let Some(expected) = expected_id.filter(|expected| *expected != id) {
                    return Err(CheckpointError::OtherQuery {
                        file: store.location(METADATA),
                        expected: expected.to_owned(),
                        found: id,
                    });
                }
                (id, false)
            }
            None if last_logged.is_some() || last_committed.is_some() || has_initial_offsets => {
                return Err(CheckpointError::Corrupt {
                    file: store.location(METADATA),
                    problem: "it is missing, but the checkpoint holds offsets of a query".into(),
                });
            }
            None => {
                let id = expected_id.map_or_else(random_uuid, str::to_owned);
                write_new(store.as_ref(), METADATA, &encode_metadata(&id))?;
                (id, true)
            }
        };
        let checkpoint = Checkpoint {
            store,
            query_id,
            created,
            min_batches_to_retain: DEFAULT_MIN_BATCHES_TO_RETAIN.get(),
            last_logged,
            last_committed,
            has_initial_offsets,
            purged_below: 0,
        };
        // Refuse a checkpoint this library cannot resume now, not later.
        checkpoint.resume()?;
        Ok(checkpoint)
    }

    /// Keeps the files of the last `batches` batches instead of 100
    /// (`spark.sql.streaming.minBatchesToRetain`).
    pub fn with_min_batches_to_retain(mut self, batches: NonZeroU64) -> Self {
        self.min_batches_to_retain = batches.get();
        self
    }

    /// The query's id, kept across restarts.
    pub fn query_id(&self) -> &str {
        &self.query_id
    }

    /// Whether this open created the checkpoint.
    pub fn created(&self) -> bool {
        self.created
    }

    /// The store's location of a checkpoint file, for messages.
    pub fn location(&self, path: &str) -> String {
        self.store.location(path)
    }

    /// The initial offsets (`sources/0/0`), if recorded.
    pub fn initial_offsets(&self) -> Result<Option<PartitionOffsets>, CheckpointError> {
        match self.read(INITIAL_OFFSETS)? {
            None => Ok(None),
            Some(contents) => decode_initial_offsets(&contents)
                .map(Some)
                .map_err(|problem| self.problem(INITIAL_OFFSETS, problem)),
        }
    }

    /// Records the initial offsets a new query resolved from its starting
    /// options. They are written once; later runs read them instead.
    pub fn write_initial_offsets(
        &mut self,
        offsets: &PartitionOffsets,
    ) -> Result<(), CheckpointError> {
        write_new(
            self.store.as_ref(),
            INITIAL_OFFSETS,
            &encode_initial_offsets(offsets),
        )?;
        tracing::info!(initial_offsets = %offsets, "Initial offsets: {offsets}");
        self.has_initial_offsets = true;
        Ok(())
    }

    /// Where the query (re)starts (§2.3): see [`Resume`]. When commits lag
    /// more than one batch behind the offsets (Spark warns and goes on),
    /// the last logged batch is re-run.
    pub fn resume(&self) -> Result<Resume, CheckpointError> {
        let Some(last) = self.last_logged else {
            if let Some(committed) = self.last_committed {
                return Err(self.commit_without_offsets(committed));
            }
            return Ok(Resume::New {
                initial: self.initial_offsets()?,
            });
        };
        let (end, metadata) = self.logged_offsets(last)?;
        match self.last_committed {
            Some(committed) if committed > last => Err(self.commit_without_offsets(committed)),
            Some(committed) if committed == last => {
                let path = commits_path(last);
                let contents = self.read(&path)?.unwrap_or_default();
                let watermark_ms =
                    decode_commit(&contents).map_err(|problem| self.problem(&path, problem))?;
                Ok(Resume::Next {
                    batch_id: last + 1,
                    start: end,
                    watermark_ms,
                })
            }
            committed => {
                if last > 0 && committed.is_none_or(|c| c + 1 < last) {
                    tracing::warn!(
                        latest_batch_id = last,
                        latest_committed_batch_id = ?committed,
                        "Batch completion log latest batch id is {committed:?}, which is not \
                         trailing batch id {last} by one"
                    );
                }
                let start = match last.checked_sub(1) {
                    None => self
                        .initial_offsets()?
                        .ok_or_else(|| CheckpointError::Corrupt {
                            file: self.store.location(INITIAL_OFFSETS),
                            problem: "it is missing, but batch 0 was logged from it".into(),
                        })?,
                    Some(previous) => self.logged_offsets(previous)?.0,
                };
                Ok(Resume::Rerun(LoggedBatch {
                    batch_id: last,
                    start,
                    end,
                    metadata,
                }))
            }
        }
    }

    /// The end offsets and metadata logged for `batch_id`.
    pub fn logged_offsets(
        &self,
        batch_id: u64,
    ) -> Result<(PartitionOffsets, BatchMetadata), CheckpointError> {
        let path = offsets_path(batch_id);
        let contents = self.read(&path)?.ok_or_else(|| CheckpointError::Corrupt {
            file: self.store.location(&path),
            problem: format!(
                "it is missing, but batch {} was logged after it",
                self.last_logged.unwrap_or(batch_id)
            ),
        })?;
        match decode_offsets(&contents).map_err(|problem| self.problem(&path, problem))? {
            OffsetsFile::Offsets(end, metadata) => Ok((end, metadata)),
            OffsetsFile::SourceCount(sources) => Err(CheckpointError::OtherSources {
                file: self.store.location(&path),
                sources,
            }),
        }
    }

    /// Logs batch `batch_id`'s end offsets before it is read (Spark's
    /// `walCommit`), then purges batches older than the retained ones.
    ///
    /// Batches are logged in order: 0 after the initial offsets, then each
    /// one after the previous one's commit. A re-run batch is not logged
    /// again.
    pub fn write_offsets(
        &mut self,
        batch_id: u64,
        end: &PartitionOffsets,
        metadata: &BatchMetadata,
    ) -> Result<(), CheckpointError> {
        let path = offsets_path(batch_id);
        let expected = self.last_logged.map_or(0, |last| last + 1);
        let problem = if batch_id != expected {
            Some(format!("the next batch to log is {expected}"))
        } else if self.last_logged.is_some() && self.last_committed != self.last_logged {
            Some(format!("batch {} is not committed yet", expected - 1))
        } else if !self.has_initial_offsets {
            Some("the initial offsets (sources/0/0) must be written first".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(CheckpointError::OutOfOrder {
                file: self.store.location(&path),
                problem,
            });
        }
        write_new(self.store.as_ref(), &path, &encode_offsets(end, metadata))?;
        self.last_logged = Some(batch_id);
        if self.min_batches_to_retain < batch_id {
            self.purge(batch_id - self.min_batches_to_retain)?;
        }
        Ok(())
    }

    /// Records that batch `batch_id` was written out (Spark's commit log),
    /// with the watermark for the next batch (0 without event time).
    pub fn commit(
        &mut self,
        batch_id: u64,
        next_batch_watermark_ms: i64,
    ) -> Result<(), CheckpointError> {
        let path = commits_path(batch_id);
        if self.last_logged != Some(batch_id) || self.last_committed == Some(batch_id) {
            return Err(CheckpointError::OutOfOrder {
                file: self.store.location(&path),
                problem: match self.last_logged {
                    Some(last) if self.last_committed == Some(last) => {
                        format!("batch {last} is already committed; log the next batch first")
                    }
                    Some(last) => format!("the batch to commit is {last}"),
                    None => "no batch was logged yet".to_owned(),
                },
            });
        }
        write_new(
            self.store.as_ref(),
            &path,
            &encode_commit(next_batch_watermark_ms),
        )?;
        self.last_committed = Some(batch_id);
        Ok(())
    }

    /// Deletes the offsets and commits of batches below `threshold`, as
    /// Spark's `purge`: by name when at most three are due since the last
    /// purge, else by listing (the first purge of a run lists).
    fn purge(&mut self, threshold: u64) -> Result<(), CheckpointError> {
        for dir in [OFFSETS_DIR, COMMITS_DIR] {
            let due: Vec<u64> = if threshold.saturating_sub(self.purged_below) <= 3 {
                (self.purged_below..threshold).collect()
            } else {
                self.store
                    .list(dir)
                    .map_err(|source| CheckpointError::Io {
                        file: self.store.location(dir),
                        source,
                    })?
                    .iter()
                    .filter_map(|name| batch_id_of(name))
                    .filter(|batch_id| *batch_id < threshold)
                    .collect()
            };
            for batch_id in due {
                let path = format!("{dir}/{batch_id}");
                self.store
                    .delete(&path)
                    .map_err(|source| CheckpointError::Io {
                        file: self.store.location(&path),
                        source,
                    })?;
            }
        }
        self.purged_below = self.purged_below.max(threshold);
        Ok(())
    }

    fn read(&self, path: &str) -> Result<Option<Vec<u8>>, CheckpointError> {
        self.store.read(path).map_err(|source| CheckpointError::Io {
            file: self.store.location(path),
            source,
        })
    }

    fn problem(&self, path: &str, problem: Problem) -> CheckpointError {
        problem_error(self.store.as_ref(), path, problem)
    }

    fn commit_without_offsets(&self, batch_id: u64) -> CheckpointError {
        CheckpointError::Corrupt {
            file: self.store.location(&commits_path(batch_id)),
            problem: format!(
                "it commits batch {batch_id}, whose offsets (offsets/{batch_id}) were never logged"
            ),
        }
    }
}

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn problem_error(store: &dyn CheckpointStore, path: &str, problem: Problem) -> CheckpointError {
    let file = store.location(path);
    match problem {
        Problem::Malformed(problem) => CheckpointError::Corrupt { file, problem },
        Problem::Newer { found, max } => CheckpointError::NewerVersion { file, found, max },
    }
}

/// Writes a file that must not exist yet.
fn write_new(
    store: &dyn CheckpointStore,
    path: &str,
    contents: &[u8],
) -> Result<(), CheckpointError> {
    store
        .write_atomically(path, contents, false)
        .map_err(|source| {
            let file = store.location(path);
            if source.kind() == std::io::ErrorKind::AlreadyExists {
                CheckpointError::ConcurrentUpdate { file }
            } else {
                CheckpointError::Io { file, source }
            }
        })
}

#[cfg(test)]
mod tests;
