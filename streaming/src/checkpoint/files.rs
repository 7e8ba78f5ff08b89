//! The checkpoint files' formats, as Spark writes and reads them (§2.2).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::planner::PartitionOffsets;

/// The query id file.
pub(crate) const METADATA: &str = "metadata";
/// The Kafka source's initial-offset log (one batch, 0).
pub(crate) const INITIAL_OFFSETS: &str = "sources/0/0";
/// Directories whose files are named by batch id.
pub(crate) const OFFSETS_DIR: &str = "offsets";
pub(crate) const COMMITS_DIR: &str = "commits";
pub(crate) const SOURCE_DIR: &str = "sources/0";

/// Newest version of each file this crate reads. Spark 4 may write `v2`
/// offset and commit logs (source ids before the offsets; state store ids
/// in commits), both readable here; it never writes a `v2` initial-offset
/// log.
pub(crate) const MAX_OFFSETS_VERSION: u32 = 2;
pub(crate) const MAX_COMMITS_VERSION: u32 = 2;
pub(crate) const MAX_INITIAL_OFFSETS_VERSION: u32 = 1;

pub(crate) fn offsets_path(batch_id: u64) -> String {
    format!("{OFFSETS_DIR}/{batch_id}")
}

pub(crate) fn commits_path(batch_id: u64) -> String {
    format!("{COMMITS_DIR}/{batch_id}")
}

/// A file name that is a batch id (Spark's `isBatchFile`; digits only here,
/// so that Hadoop's `.crc` and temporary files never count).
pub(crate) fn batch_id_of(name: &str) -> Option<u64> {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    name.parse().ok()
}

/// A temporary file of an atomic write (`.<name>.<uuid>.tmp`), left behind
/// only by a crash.
pub(crate) fn is_temporary(name: &str) -> bool {
    name.starts_with('.') && name.ends_with(".tmp") && name.len() > ".tmp".len() + 1
}

/// Why a file's contents cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Problem {
    /// Not in the expected format.
    Malformed(String),
    /// A version this crate does not know yet.
    Newer { found: u32, max: u32 },
}

type Decoded<T> = Result<T, Problem>;

fn malformed<T>(detail: impl Into<String>) -> Decoded<T> {
    Err(Problem::Malformed(detail.into()))
}

/// Spark's `validateVersion`: `v` then a positive number no greater than
/// `max`.
fn version(line: &str, max: u32) -> Decoded<u32> {
    let number = line
        .strip_prefix('v')
        .and_then(|digits| digits.parse::<i64>().ok())
        .filter(|version| *version > 0);
    match number {
        Some(version) if version > i64::from(max) => Err(Problem::Newer {
            found: u32::try_from(version).unwrap_or(u32::MAX),
            max,
        }),
        Some(version) => Ok(version as u32),
        None => malformed(format!("failed to read correct log version from {line:?}")),
    }
}

fn utf8(contents: &[u8]) -> Decoded<&str> {
    std::str::from_utf8(contents).or_else(|err| malformed(format!("not UTF-8 text: {err}")))
}

fn offsets_json(text: &str) -> Decoded<PartitionOffsets> {
    PartitionOffsets::from_json(text).or_else(|err| malformed(err.to_string()))
}

fn json_object(text: &str, what: &str) -> Decoded<Map<String, Value>> {
    match serde_json::from_str(text) {
        Ok(Value::Object(object)) => Ok(object),
        Ok(_) => malformed(format!("{what} {text:?} is not a JSON object")),
        Err(err) => malformed(format!("{what} {text:?} is not valid JSON: {err}")),
    }
}

/// A whole-number field of a JSON object, `default` when absent.
fn long_field(object: &Map<String, Value>, key: &str, default: i64) -> Decoded<i64> {
    match object.get(key) {
        None => Ok(default),
        Some(value) => value.as_i64().map_or_else(
            || malformed(format!("\"{key}\" is {value}, not a whole number")),
            Ok,
        ),
    }
}

/// `metadata`: `{"id":"<uuid>"}`, no version line.
pub(crate) fn encode_metadata(query_id: &str) -> Vec<u8> {
    format!("{{\"id\":{}}}", Value::String(query_id.to_owned())).into_bytes()
}

pub(crate) fn decode_metadata(contents: &[u8]) -> Decoded<String> {
    let object = json_object(utf8(contents)?, "the content")?;
    match object.get("id") {
        Some(Value::String(id)) if is_uuid(id) => Ok(id.clone()),
        Some(Value::String(id)) => malformed(format!("the query id {id:?} is not a UUID")),
        _ => malformed("it has no \"id\" string"),
    }
}

/// Java's `UUID.toString` shape: 8-4-4-4-12 hexadecimal digits.
pub(crate) fn is_uuid(text: &str) -> bool {
    let groups: Vec<&str> = text.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(group, len)| group.len() == len && group.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// `sources/0/0`: one NUL byte (SPARK-19517: Spark 2.1.0 wrote a byte
/// there), `v1`, a newline, the offset JSON.
pub(crate) fn encode_initial_offsets(offsets: &PartitionOffsets) -> Vec<u8> {
    let mut bytes = vec![0];
    bytes.extend_from_slice(b"v1\n");
    bytes.extend_from_slice(offsets.to_json().as_bytes());
    bytes
}

/// Reads both forms Spark reads: the first byte is skipped whatever it is;
/// then either a version line and the JSON, or (Spark 2.1.0) only the JSON.
pub(crate) fn decode_initial_offsets(contents: &[u8]) -> Decoded<PartitionOffsets> {
    let Some((_, rest)) = contents.split_first() else {
        return malformed("the file is empty");
    };
    let content = utf8(rest)?;
    if content.is_empty() {
        return malformed("there is nothing after the first byte");
    }
    if !content.starts_with('v') {
        return offsets_json(content);
    }
    match content.find('\n') {
        Some(newline) if newline > 0 => {
            version(&content[..newline], MAX_INITIAL_OFFSETS_VERSION)?;
            offsets_json(&content[newline + 1..])
        }
        _ => malformed("failed to detect the log file version line"),
    }
}

/// What Spark records with each batch's offsets (its `OffsetSeqMetadata`):
/// the event-time watermark, the batch's timestamp and the session
/// settings a restarted query must keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchMetadata {
    /// `batchWatermarkMs`: the event-time watermark (0: none).
    pub batch_watermark_ms: i64,
    /// `batchTimestampMs`: when the batch was planned, in ms since the epoch.
    pub batch_timestamp_ms: i64,
    /// `conf`: settings that must not change across restarts.
    pub conf: BTreeMap<String, String>,
}

/// The settings Spark 4 records in every offsets file, with a Spark
/// session's default values. This source has no state, so they only let
/// Spark read such a checkpoint as one of its own.
const SPARK_SESSION_DEFAULTS: [(&str, &str); 11] = [
    (
        "spark.sql.optimizer.pruneFiltersCanPruneStreamingSubplan",
        "false",
    ),
    ("spark.sql.shuffle.partitions", "200"),
    ("spark.sql.streaming.aggregation.stateFormatVersion", "2"),
    (
        "spark.sql.streaming.flatMapGroupsWithState.stateFormatVersion",
        "2",
    ),
    ("spark.sql.streaming.join.stateFormatVersion", "2"),
    ("spark.sql.streaming.multipleWatermarkPolicy", "min"),
    ("spark.sql.streaming.stateStore.compression.codec", "lz4"),
    ("spark.sql.streaming.stateStore.encodingFormat", "unsaferow"),
    (
        "spark.sql.streaming.stateStore.providerClass",
        "org.apache.spark.sql.execution.streaming.state.HDFSBackedStateStoreProvider",
    ),
    ("spark.sql.streaming.stateStore.rocksdb.formatVersion", "5"),
    (
        "spark.sql.streaming.statefulOperator.useStrictDistribution",
        "true",
    ),
];

impl BatchMetadata {
    /// The metadata of a batch planned at `batch_timestamp_ms`: no
    /// watermark, and the settings a Spark 4 session records by default.
    ///
    /// ```
    /// use ferrokafka_streaming::checkpoint::BatchMetadata;
    /// let metadata = BatchMetadata::new(1_700_000_000_000);
    /// assert!(metadata.to_json().starts_with(r#"{"batchWatermarkMs":0,"batchTimestampMs":1700000000000,"conf":{"#));
    /// assert_eq!(metadata.conf["spark.sql.shuffle.partitions"], "200");
    /// ```
    pub fn new(batch_timestamp_ms: i64) -> Self {
        BatchMetadata {
            batch_watermark_ms: 0,
            batch_timestamp_ms,
            conf: SPARK_SESSION_DEFAULTS
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }

    /// Spark's JSON: `{"batchWatermarkMs":…,"batchTimestampMs":…,"conf":{…}}`.
    pub fn to_json(&self) -> String {
        let conf: Map<String, Value> = self
            .conf
            .iter()
            .map(|(key, value)| (key.clone(), Value::String(value.clone())))
            .collect();
        format!(
            "{{\"batchWatermarkMs\":{},\"batchTimestampMs\":{},\"conf\":{}}}",
            self.batch_watermark_ms,
            self.batch_timestamp_ms,
            Value::Object(conf)
        )
    }

    /// Reads Spark's JSON; absent fields take Spark's defaults (0, 0, no
    /// settings) and unknown fields are ignored, as Spark's reader does.
    fn from_json(text: &str) -> Decoded<Self> {
        let object = json_object(text, "the batch metadata")?;
        let mut conf = BTreeMap::new();
        match object.get("conf") {
            None => {}
            Some(Value::Object(entries)) => {
                for (key, value) in entries {
                    let Value::String(value) = value else {
                        return malformed(format!("conf \"{key}\" is {value}, not a string"));
                    };
                    conf.insert(key.clone(), value.clone());
                }
            }
            Some(other) => return malformed(format!("\"conf\" is {other}, not an object")),
        }
        Ok(BatchMetadata {
            batch_watermark_ms: long_field(&object, "batchWatermarkMs", 0)?,
            batch_timestamp_ms: long_field(&object, "batchTimestampMs", 0)?,
            conf,
        })
    }
}

/// `offsets/<batch>`: `v1`, the metadata JSON, then the source's offsets,
/// one per line, without a final newline.
pub(crate) fn encode_offsets(end: &PartitionOffsets, metadata: &BatchMetadata) -> Vec<u8> {
    format!("v1\n{}\n{}", metadata.to_json(), end.to_json()).into_bytes()
}

/// What an offsets file holds for this one-source query.
#[derive(Debug)]
pub(crate) enum OffsetsFile {
    Offsets(PartitionOffsets, BatchMetadata),
    /// A checkpoint of a query with this many sources.
    SourceCount(usize),
}

/// Reads `v1` (an offset per line, `-` for a source without one) and `v2`
/// (`<sourceId>:<offset>` lines). A missing metadata line (empty) gives the
/// defaults, as Spark does.
pub(crate) fn decode_offsets(contents: &[u8]) -> Decoded<OffsetsFile> {
    let mut lines = utf8(contents)?.lines();
    let Some(version_line) = lines.next() else {
        return malformed("incomplete log file: it is empty");
    };
    let version = version(version_line, MAX_OFFSETS_VERSION)?;
    let Some(metadata_line) = lines.next() else {
        return malformed("incomplete log file: no metadata line");
    };
    let metadata = match metadata_line.trim() {
        "" => BatchMetadata {
            batch_watermark_ms: 0,
            batch_timestamp_ms: 0,
            conf: BTreeMap::new(),
        },
        json => BatchMetadata::from_json(json)?,
    };
    let sources: Vec<&str> = lines.collect();
    let [source] = sources[..] else {
        return Ok(OffsetsFile::SourceCount(sources.len()));
    };
    let offset = if version == 2 {
        match source.split_once(':') {
            Some((_, offset)) => offset,
            None => return malformed(format!("invalid OffsetMap format: {source}")),
        }
    } else {
        source
    };
    if offset == "-" {
        return malformed("it records no offset for the Kafka source");
    }
    Ok(OffsetsFile::Offsets(offsets_json(offset)?, metadata))
}

/// `commits/<batch>`: `v1` and `{"nextBatchWatermarkMs":…}`.
pub(crate) fn encode_commit(next_batch_watermark_ms: i64) -> Vec<u8> {
    format!("v1\n{{\"nextBatchWatermarkMs\":{next_batch_watermark_ms}}}").into_bytes()
}

/// Reads a commit (`v1` or `v2`, whose state store ids a stateless source
/// has no use for): the next batch's watermark, 0 when absent.
pub(crate) fn decode_commit(contents: &[u8]) -> Decoded<i64> {
    let mut lines = utf8(contents)?.lines();
    let Some(version_line) = lines.next() else {
        return malformed("incomplete log file in the offset commit log: it is empty");
    };
    version(version_line.trim(), MAX_COMMITS_VERSION)?;
    let object = json_object(lines.next().unwrap_or("{}"), "the commit metadata")?;
    long_field(&object, "nextBatchWatermarkMs", 0)
}
