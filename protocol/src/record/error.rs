//! [`RecordError`]: everything that can go wrong reading or writing a record
//! batch.

use crate::compression::CompressionError;

use super::varint::VarintError;

/// What went wrong while decoding or encoding a record batch.
///
/// Decoding errors name the batch's base offset, so a consumer can report
/// it or skip past the batch.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    /// A length inside the batch points past the end of the batch.
    #[error(
        "record batch at offset {base_offset}: {what} runs past the end of the batch; the batch \
         is corrupt (fetch it again; if it persists the log is damaged)"
    )]
    Truncated {
        /// Base offset of the batch.
        base_offset: i64,
        /// The field that did not fit.
        what: &'static str,
    },
    /// The stored CRC-32C does not match the batch's bytes.
    #[error(
        "record batch at offset {base_offset} is corrupt: stored CRC-32C {expected_crc:#010x} but \
         the bytes give {actual_crc:#010x}; fetch it again, and if the mismatch persists the log \
         is damaged at this offset"
    )]
    Corrupt {
        /// Base offset of the batch.
        base_offset: i64,
        /// The CRC stored in the batch header.
        expected_crc: u32,
        /// The CRC computed over the batch.
        actual_crc: u32,
    },
    /// A length or count field holds an impossible value (negative, below
    /// the minimum, or more than the bytes left could hold).
    #[error("record batch at offset {base_offset}: invalid {what} {value}; the batch is corrupt")]
    InvalidLength {
        /// Base offset of the batch.
        base_offset: i64,
        /// The field.
        what: &'static str,
        /// The value found.
        value: i64,
    },
    /// The batch is not record batch v2.
    #[error(
        "record batch at offset {base_offset} has magic {magic}, but only record batch v2 \
         (magic 2, written since Kafka 0.11) is supported; magic 0 and 1 are legacy message \
         sets from old segments, which this client cannot read"
    )]
    InvalidMagic {
        /// Base offset of the batch.
        base_offset: i64,
        /// The magic byte found.
        magic: i8,
    },
    /// A varint inside the batch is malformed.
    #[error("record batch at offset {base_offset}: malformed {what}: {source}")]
    Varint {
        /// Base offset of the batch.
        base_offset: i64,
        /// The field being read.
        what: &'static str,
        /// What was wrong with it.
        #[source]
        source: VarintError,
    },
    /// The records region could not be (de)compressed.
    #[error("record batch compression: {0}")]
    Compression(#[from] CompressionError),
    /// An offset or timestamp computed from the batch overflows `i64`.
    #[error("record batch at offset {base_offset}: {what} overflows a 64-bit integer; the batch is corrupt")]
    Overflow {
        /// Base offset of the batch.
        base_offset: i64,
        /// The computation that overflowed.
        what: &'static str,
    },
    /// The records region does not hold the number of records the header
    /// declares.
    #[error(
        "record batch at offset {base_offset} declares {declared} records but its records region \
         holds {found} followed by {trailing_bytes} unused bytes; the batch is corrupt"
    )]
    RecordCountMismatch {
        /// Base offset of the batch.
        base_offset: i64,
        /// The record count in the header.
        declared: i32,
        /// Records parsed before the region ended (or before the surplus).
        found: u32,
        /// Bytes left after the declared records.
        trailing_bytes: usize,
    },
    /// A record's length prefix disagrees with its fields.
    #[error(
        "record batch at offset {base_offset}: a record's length prefix leaves {trailing_bytes} \
         bytes after its last header; the batch is corrupt"
    )]
    RecordLengthMismatch {
        /// Base offset of the batch.
        base_offset: i64,
        /// Bytes inside the record's length that no field used.
        trailing_bytes: usize,
    },
    /// A control record's key or value is malformed.
    #[error("record batch at offset {base_offset}: invalid control record: {detail}")]
    InvalidControlRecord {
        /// Base offset of the batch.
        base_offset: i64,
        /// What was wrong.
        detail: &'static str,
    },
    /// (Encoding) a key, value, header or the batch is larger than the wire
    /// format can hold.
    #[error(
        "{what} of {len} bytes is too large for a record batch (lengths are signed 32-bit on the \
         wire); split the data or send it another way"
    )]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        len: usize,
    },
    /// (Encoding) the batch already holds `i32::MAX` records.
    #[error(
        "a record batch holds at most 2147483647 records; finish this batch and start another"
    )]
    TooManyRecords,
    /// (Encoding) `finish` was called before any record was appended.
    #[error("cannot finish a record batch with no records; append at least one record first")]
    EmptyBatch,
}
