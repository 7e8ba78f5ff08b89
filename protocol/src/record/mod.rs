//! Record batch v2 (magic 2): an encoder for the producer and a lazy,
//! zero-copy decoder for the consumer.
//!
//! # Layout
//!
//! All integers big-endian. Offsets are from the start of the batch.
//!
//! ```text
//!  0  baseOffset            i64
//!  8  batchLength           i32   bytes after this field
//! 12  partitionLeaderEpoch  i32
//! 16  magic                 i8    2
//! 17  crc                   u32   CRC-32C of bytes 21..end
//! 21  attributes            i16   bits 0-2 codec, 3 timestamp type (1 = LogAppendTime),
//!                                 4 transactional, 5 control, 6 hasDeleteHorizonMs
//! 23  lastOffsetDelta       i32
//! 27  baseTimestamp         i64
//! 35  maxTimestamp          i64
//! 43  producerId            i64
//! 51  producerEpoch         i16
//! 53  baseSequence          i32
//! 57  recordCount           i32
//! 61  records               (compressed as a whole when a codec is set)
//! ```
//!
//! A record is `length: varint` then, within `length` bytes,
//! `attributes: i8`, `timestampDelta: varlong`, `offsetDelta: varint`,
//! `keyLength: varint` (-1 = null) and key, `valueLength: varint` (-1 = null)
//! and value, `headerCount: varint`, and per header `keyLength: varint`,
//! key (UTF-8), `valueLength: varint` (-1 = null), value. See [`varint`].
//!
//! # Writing
//!
//! [`BatchEncoder::begin`] starts one batch in a caller-owned
//! [`bytes::BytesMut`]; [`BatchWriter::append`] adds records;
//! [`BatchWriter::finish`] fills in the header and CRC. Uncompressed records
//! are written straight into the output; compressed ones go through one
//! scratch buffer the encoder reuses. [`BatchBuilder`] is the owned form
//! (records buffered until `finish(&mut out)`, reusable batch after batch).
//! [`write_control_batch`] writes a transaction marker.
//! [`rewrite_producer_identity`] gives a sealed batch a new producer id,
//! epoch and base sequence (after an epoch bump) without re-encoding it.
//!
//! # Reading
//!
//! [`BatchDecoder`] iterates over the batches of a fetched records buffer
//! (a [`bytes::Bytes`]), verifying each CRC by default: each
//! [`RecordBatch`] exposes its header and, through [`RecordBatch::records`],
//! its records as [`RecordView`]s that borrow the buffer (or, for a
//! compressed batch, one decompressed buffer per batch, produced within the
//! decompression limit). Nothing is allocated per record; every length and
//! count is checked against the bytes left before use, every offset and
//! timestamp computed with checked arithmetic, and a truncated final batch
//! (brokers cut the last batch to the fetch size) ends iteration quietly
//! ([`BatchDecoder::partial_tail`]). A record's [`Headers`] are parsed only
//! when iterated, as `Result`s; their count is checked with the record.
//!
//! Legacy message sets (magic 0 and 1, before Kafka 0.11) are not read:
//! they are reported as [`RecordError::InvalidMagic`].

mod control;
mod decode;
mod encode;
mod error;
mod rewrite;
pub mod varint;

pub use control::{ControlRecordType, EndTransactionMarker};
pub use decode::{
    BatchDecoder, GetAll, Header, HeaderIter, Headers, PartialTail, RecordBatch, RecordIter,
    RecordView, Records,
};
pub use encode::{
    write_control_batch, BatchBuilder, BatchEncoder, BatchOptions, BatchSummary, BatchWriter,
};
pub use error::RecordError;
pub use rewrite::rewrite_producer_identity;
pub use varint::VarintError;

/// The magic byte of record batch v2.
pub const MAGIC_V2: i8 = 2;

/// Bytes before a batch's `batchLength` counts: `baseOffset` and
/// `batchLength` itself (Java's `LOG_OVERHEAD`).
pub const LOG_OVERHEAD: usize = 12;

/// Size of the v2 batch header, records excluded.
pub const BATCH_HEADER_SIZE: usize = 61;

/// Smallest valid `batchLength`: a header with no records.
pub const MIN_BATCH_LENGTH: i32 = (BATCH_HEADER_SIZE - LOG_OVERHEAD) as i32;

/// `producerId` of a batch written without idempotence.
pub const NO_PRODUCER_ID: i64 = -1;
/// `producerEpoch` of a batch written without idempotence.
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// `baseSequence` of a batch written without idempotence.
pub const NO_SEQUENCE: i32 = -1;
/// `partitionLeaderEpoch` a producer writes (the broker sets it).
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// Timestamp meaning "none".
pub const NO_TIMESTAMP: i64 = -1;

/// Field offsets within a batch.
pub(crate) mod layout {
    pub(crate) const BASE_OFFSET: usize = 0;
    pub(crate) const LENGTH: usize = 8;
    pub(crate) const LEADER_EPOCH: usize = 12;
    pub(crate) const MAGIC: usize = 16;
    pub(crate) const CRC: usize = 17;
    pub(crate) const ATTRIBUTES: usize = 21;
    pub(crate) const LAST_OFFSET_DELTA: usize = 23;
    pub(crate) const BASE_TIMESTAMP: usize = 27;
    pub(crate) const MAX_TIMESTAMP: usize = 35;
    pub(crate) const PRODUCER_ID: usize = 43;
    pub(crate) const PRODUCER_EPOCH: usize = 51;
    pub(crate) const BASE_SEQUENCE: usize = 53;
    pub(crate) const RECORD_COUNT: usize = 57;
    pub(crate) const RECORDS: usize = 61;
}

/// Attribute bits.
pub(crate) mod attr {
    pub(crate) const TIMESTAMP_TYPE: i16 = 1 << 3;
    pub(crate) const TRANSACTIONAL: i16 = 1 << 4;
    pub(crate) const CONTROL: i16 = 1 << 5;
    pub(crate) const DELETE_HORIZON: i16 = 1 << 6;
}

/// What a batch's timestamps mean (attribute bit 3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Set by the producer when the record was created (bit clear).
    #[default]
    CreateTime,
    /// Set by the broker when it appended the batch (bit set); every
    /// record's timestamp is then the batch's `maxTimestamp`.
    LogAppendTime,
}
