//! Why a checkpoint cannot be used or written.

use std::io;

/// What to do about a damaged checkpoint file.
const RESTORE: &str = "Restore the file from a backup, or start the query with a new \
    checkpoint location (it then starts over from its starting offsets)";

/// A checkpoint that cannot be used or written. Each error names the file
/// (its [`location`](super::CheckpointStore::location)) and says what to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// Reading, writing or listing failed.
    #[error(
        "checkpoint file {file}: {source}. Check that the checkpoint location exists, is \
         reachable and is writable by this process"
    )]
    Io {
        /// The file or directory.
        file: String,
        /// The failure.
        #[source]
        source: io::Error,
    },
    /// The file is not in the expected format.
    #[error("checkpoint file {file} is corrupt: {problem}. {RESTORE}")]
    Corrupt {
        /// The file.
        file: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The file was written by a newer version (Spark's message).
    #[error(
        "checkpoint file {file} cannot be read: UnsupportedLogVersion: maximum supported log \
         version is v{max}, but encountered v{found}. The log file was written by a newer \
         version of Spark (or of this library) and cannot be read by this version. Please \
         upgrade, or start the query with a new checkpoint location"
    )]
    NewerVersion {
        /// The file.
        file: String,
        /// Its version.
        found: u32,
        /// The newest version this library reads.
        max: u32,
    },
    /// The checkpoint belongs to another query.
    #[error(
        "checkpoint file {file} belongs to query {found}, not to query {expected}. Give each \
         query its own checkpoint location, or resume query {found} with its id"
    )]
    OtherQuery {
        /// The `metadata` file.
        file: String,
        /// The id the caller expected.
        expected: String,
        /// The id in the checkpoint.
        found: String,
    },
    /// The checkpoint was written by a query with another number of
    /// sources than this query's one Kafka source.
    #[error(
        "checkpoint file {file} records {sources} sources, but this query has one Kafka source: \
         the checkpoint belongs to another query. Give each query its own checkpoint location"
    )]
    OtherSources {
        /// The offsets file.
        file: String,
        /// How many sources it records.
        sources: usize,
    },
    /// The file appeared while this query was about to write it.
    #[error(
        "checkpoint file {file} already exists: another query, or another run of this one, is \
         writing to the same checkpoint location. Stop the other run, or give this query its \
         own checkpoint location"
    )]
    ConcurrentUpdate {
        /// The file.
        file: String,
    },
    /// The query id given to
    /// [`open_for_query`](super::Checkpoint::open_for_query) is not a UUID.
    #[error(
        "cannot open checkpoint {file}: the query id {id:?} is not a UUID; give the id as 32 \
         hexadecimal digits grouped 8-4-4-4-12, as Java's UUID.toString writes it"
    )]
    InvalidQueryId {
        /// The `metadata` file.
        file: String,
        /// The id given.
        id: String,
    },
    /// A write out of Spark's order (the driver's mistake, not the
    /// checkpoint's).
    #[error("cannot write checkpoint file {file}: {problem}")]
    OutOfOrder {
        /// The file that was to be written.
        file: String,
        /// What must come first.
        problem: String,
    },
}
