//! The lazy, zero-copy record batch decoder.
//!
//! Records and headers are read by a fast path for the common case (varints
//! of up to three bytes, every field well formed) that hands anything else
//! to the checked parser, which then says exactly what is wrong; the two
//! agree on every input (see the tests at the end).

use std::fmt;
use std::str::Utf8Error;

use bytes::Bytes;

use crate::compression::{self, Compression, CompressionError, DEFAULT_MAX_DECOMPRESSED_BYTES};

use super::control::ControlRecordType;
use super::varint::{take_varint, take_varlong, zigzag_decode32, VarintError};
use super::{
    attr, layout, RecordError, TimestampType, BATCH_HEADER_SIZE, LOG_OVERHEAD, MAGIC_V2,
    MIN_BATCH_LENGTH,
};

/// Fewest bytes a record takes: a one-byte varint for the length and for
/// each of the six fields after it.
const MIN_RECORD_SIZE: usize = 7;

/// Reads `N` bytes at `at` as an array; zeros if out of range (callers
/// check the length first, so this never happens).
#[inline(always)]
fn array_at<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    b.get(at..at.saturating_add(N))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .unwrap_or([0; N])
}

#[inline(always)]
fn i64_at(b: &[u8], at: usize) -> i64 {
    i64::from_be_bytes(array_at(b, at))
}

#[inline(always)]
fn i32_at(b: &[u8], at: usize) -> i32 {
    i32::from_be_bytes(array_at(b, at))
}

#[inline(always)]
fn i16_at(b: &[u8], at: usize) -> i16 {
    i16::from_be_bytes(array_at(b, at))
}

/// A batch cut short at the end of a fetched buffer, which
/// [`BatchDecoder`] skipped.
///
/// Brokers fill a fetch response up to the requested size and may cut the
/// last batch; the consumer fetches it again from its base offset. If the
/// cut batch is the first one in the response, the fetch size is smaller
/// than the batch (`batch_length + 12` bytes are needed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PartialTail {
    /// Bytes skipped at the end of the buffer.
    pub bytes: usize,
    /// Base offset of the cut batch, if at least 8 bytes of it arrived.
    pub base_offset: Option<i64>,
    /// Its `batchLength`, if at least 12 bytes of it arrived.
    pub batch_length: Option<i32>,
}

/// Iterates over the record batches of a fetched records buffer.
///
/// Yields each complete batch as a [`RecordBatch`] (its CRC verified unless
/// [`verify_crc(false)`](Self::verify_crc)). Stops at the end of the buffer;
/// a batch cut short at the end is skipped and reported by
/// [`partial_tail`](Self::partial_tail). After an error, iteration ends:
/// the boundaries of the following batches cannot be trusted.
///
/// ```
/// # use bytes::{Bytes, BytesMut};
/// # use ferrokafka_protocol::record::{BatchDecoder, BatchEncoder, BatchOptions};
/// # let mut out = BytesMut::new();
/// # let mut enc = BatchEncoder::new();
/// # let mut w = enc.begin(&mut out, &BatchOptions::default()).unwrap();
/// # w.append(1, Some(b"k"), Some(b"v"), &[]).unwrap();
/// # w.finish().unwrap();
/// # let fetched: Bytes = out.freeze();
/// for batch in BatchDecoder::new(fetched) {
///     let batch = batch?;
///     let records = batch.records()?;
///     for record in &records {
///         let record = record?;
///         println!("{} {:?}", record.offset(), record.value());
///     }
/// }
/// # Ok::<(), ferrokafka_protocol::record::RecordError>(())
/// ```
#[derive(Debug, Clone)]
pub struct BatchDecoder {
    buf: Bytes,
    pos: usize,
    max_decompressed_bytes: usize,
    partial_tail: Option<PartialTail>,
    verify_crc: bool,
    done: bool,
}

impl BatchDecoder {
    /// A decoder over `buf`, with CRC verification on and the
    /// decompression limit at [`DEFAULT_MAX_DECOMPRESSED_BYTES`].
    pub fn new(buf: Bytes) -> Self {
        BatchDecoder {
            buf,
            pos: 0,
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            partial_tail: None,
            verify_crc: true,
            done: false,
        }
    }

    /// Turns CRC verification of each batch on (the default) or off.
    pub fn verify_crc(mut self, verify: bool) -> Self {
        self.verify_crc = verify;
        self
    }

    /// Sets the cap on each batch's decompressed records (see
    /// [`crate::compression`]); it is passed on to the batches.
    pub fn max_decompressed_bytes(mut self, limit: usize) -> Self {
        self.max_decompressed_bytes = limit;
        self
    }

    /// Bytes of the buffer consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// The batch cut short at the end of the buffer, once iteration has
    /// reached it; `None` if the buffer ended on a batch boundary (or
    /// iteration has not got there).
    pub fn partial_tail(&self) -> Option<PartialTail> {
        self.partial_tail
    }

    fn fail(&mut self, e: RecordError) -> Option<Result<RecordBatch, RecordError>> {
        self.done = true;
        Some(Err(e))
    }
}

impl Iterator for BatchDecoder {
    type Item = Result<RecordBatch, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        if rest.len() < LOG_OVERHEAD {
            self.done = true;
            if !rest.is_empty() {
                self.partial_tail = Some(PartialTail {
                    bytes: rest.len(),
                    base_offset: (rest.len() >= 8).then(|| i64_at(rest, layout::BASE_OFFSET)),
                    batch_length: None,
                });
            }
            return None;
        }
        let base_offset = i64_at(rest, layout::BASE_OFFSET);
        let batch_length = i32_at(rest, layout::LENGTH);
        if batch_length < MIN_BATCH_LENGTH {
            return self.fail(RecordError::InvalidLength {
                base_offset,
                what: "batch length",
                value: i64::from(batch_length),
            });
        }
        if let Some(&magic) = rest.get(layout::MAGIC) {
            let magic = magic as i8;
            if magic != MAGIC_V2 {
                return self.fail(RecordError::InvalidMagic { base_offset, magic });
            }
        }
        // batch_length >= 49, so the cast is lossless.
        let total = LOG_OVERHEAD + batch_length as usize;
        if rest.len() < total {
            self.done = true;
            self.partial_tail = Some(PartialTail {
                bytes: rest.len(),
                base_offset: Some(base_offset),
                batch_length: Some(batch_length),
            });
            return None;
        }
        let data = self.buf.slice(self.pos..self.pos + total);
        self.pos += total;
        let mut batch = match RecordBatch::parse(data) {
            Ok(batch) => batch.with_max_decompressed_bytes(self.max_decompressed_bytes),
            Err(e) => return self.fail(e),
        };
        if self.verify_crc {
            if let Err(e) = batch.verify_crc() {
                return self.fail(e);
            }
            batch.crc_verified = true;
        }
        Some(Ok(batch))
    }
}

impl std::iter::FusedIterator for BatchDecoder {}

/// One record batch: its header, decoded, and its records, not yet.
///
/// Holds the batch's bytes (a [`Bytes`] sharing the fetched buffer).
#[derive(Clone)]
pub struct RecordBatch {
    data: Bytes,
    base_offset: i64,
    last_offset: i64,
    base_timestamp: i64,
    max_timestamp: i64,
    producer_id: i64,
    max_decompressed_bytes: usize,
    partition_leader_epoch: i32,
    last_offset_delta: i32,
    base_sequence: i32,
    record_count: i32,
    crc: u32,
    attributes: i16,
    producer_epoch: i16,
    /// Set by [`BatchDecoder`] once it verified the CRC: the bytes are
    /// immutable, so [`RecordBatch::verify_crc`] need not hash them again.
    crc_verified: bool,
}

impl fmt::Debug for RecordBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordBatch")
            .field("base_offset", &self.base_offset)
            .field("last_offset", &self.last_offset)
            .field("record_count", &self.record_count)
            .field("size_in_bytes", &self.data.len())
            .field("attributes", &format_args!("{:#06x}", self.attributes))
            .field("base_timestamp", &self.base_timestamp)
            .field("max_timestamp", &self.max_timestamp)
            .field("producer_id", &self.producer_id)
            .field("producer_epoch", &self.producer_epoch)
            .field("base_sequence", &self.base_sequence)
            .field("partition_leader_epoch", &self.partition_leader_epoch)
            .field("crc", &format_args!("{:#010x}", self.crc))
            .finish()
    }
}

impl RecordBatch {
    /// Decodes the header of one complete batch (`batch` must be exactly
    /// `12 + batchLength` bytes). Does not verify the CRC: see
    /// [`verify_crc`](Self::verify_crc).
    pub fn parse(batch: Bytes) -> Result<Self, RecordError> {
        let b = &batch[..];
        let base_offset = if b.len() >= 8 {
            i64_at(b, layout::BASE_OFFSET)
        } else {
            -1
        };
        if b.len() < BATCH_HEADER_SIZE {
            return Err(RecordError::Truncated {
                base_offset,
                what: "batch header",
            });
        }
        let batch_length = i32_at(b, layout::LENGTH);
        if i64::from(batch_length) != (b.len() - LOG_OVERHEAD) as i64 {
            return Err(RecordError::InvalidLength {
                base_offset,
                what: "batch length (it disagrees with the bytes given)",
                value: i64::from(batch_length),
            });
        }
        let magic = b[layout::MAGIC] as i8;
        if magic != MAGIC_V2 {
            return Err(RecordError::InvalidMagic { base_offset, magic });
        }
        let record_count = i32_at(b, layout::RECORD_COUNT);
        if record_count < 0 {
            return Err(RecordError::InvalidLength {
                base_offset,
                what: "record count",
                value: i64::from(record_count),
            });
        }
        let last_offset_delta = i32_at(b, layout::LAST_OFFSET_DELTA);
        let last_offset = base_offset
            .checked_add(i64::from(last_offset_delta))
            .ok_or(RecordError::Overflow {
                base_offset,
                what: "last offset (base offset + last offset delta)",
            })?;
        Ok(RecordBatch {
            base_offset,
            last_offset,
            base_timestamp: i64_at(b, layout::BASE_TIMESTAMP),
            max_timestamp: i64_at(b, layout::MAX_TIMESTAMP),
            producer_id: i64_at(b, layout::PRODUCER_ID),
            max_decompressed_bytes: DEFAULT_MAX_DECOMPRESSED_BYTES,
            partition_leader_epoch: i32_at(b, layout::LEADER_EPOCH),
            last_offset_delta,
            base_sequence: i32_at(b, layout::BASE_SEQUENCE),
            record_count,
            crc: u32::from_be_bytes(array_at(b, layout::CRC)),
            attributes: i16_at(b, layout::ATTRIBUTES),
            producer_epoch: i16_at(b, layout::PRODUCER_EPOCH),
            crc_verified: false,
            data: batch,
        })
    }

    /// Sets the cap on the decompressed records of this batch.
    pub fn with_max_decompressed_bytes(mut self, limit: usize) -> Self {
        self.max_decompressed_bytes = limit;
        self
    }

    /// Offset of the first record (`baseOffset`).
    #[inline]
    pub fn base_offset(&self) -> i64 {
        self.base_offset
    }

    /// Offset of the last record: `baseOffset + lastOffsetDelta`. After
    /// compaction the batch may hold fewer records, but still spans these
    /// offsets.
    #[inline]
    pub fn last_offset(&self) -> i64 {
        self.last_offset
    }

    /// `lastOffsetDelta` as stored.
    #[inline]
    pub fn last_offset_delta(&self) -> i32 {
        self.last_offset_delta
    }

    /// The offset after this batch, where a consumer resumes
    /// (`last_offset + 1`, saturating).
    #[inline]
    pub fn next_offset(&self) -> i64 {
        self.last_offset.saturating_add(1)
    }

    /// `batchLength`: bytes after the length field.
    #[inline]
    pub fn batch_length(&self) -> i32 {
        // parse checked it equals data.len() - 12.
        (self.data.len() - LOG_OVERHEAD) as i32
    }

    /// Size of the whole batch in bytes (`batchLength + 12`).
    #[inline]
    pub fn size_in_bytes(&self) -> usize {
        self.data.len()
    }

    /// `partitionLeaderEpoch`.
    #[inline]
    pub fn partition_leader_epoch(&self) -> i32 {
        self.partition_leader_epoch
    }

    /// The magic byte: always [`MAGIC_V2`].
    #[inline]
    pub fn magic(&self) -> i8 {
        MAGIC_V2
    }

    /// The CRC stored in the header.
    #[inline]
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// The raw attributes.
    #[inline]
    pub fn attributes(&self) -> i16 {
        self.attributes
    }

    /// The codec of the records region; an unknown codec id is an error
    /// (the header stays readable, so a consumer can skip the batch).
    #[inline]
    pub fn compression(&self) -> Result<Compression, CompressionError> {
        Compression::from_attributes(self.attributes)
    }

    /// What the timestamps mean (attribute bit 3).
    #[inline]
    pub fn timestamp_type(&self) -> TimestampType {
        if self.attributes & attr::TIMESTAMP_TYPE != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    /// Whether the batch belongs to a transaction (attribute bit 4).
    #[inline]
    pub fn is_transactional(&self) -> bool {
        self.attributes & attr::TRANSACTIONAL != 0
    }

    /// Whether the batch holds control records (attribute bit 5).
    #[inline]
    pub fn is_control(&self) -> bool {
        self.attributes & attr::CONTROL != 0
    }

    /// Whether `baseTimestamp` holds a compaction delete horizon (attribute
    /// bit 6).
    #[inline]
    pub fn has_delete_horizon(&self) -> bool {
        self.attributes & attr::DELETE_HORIZON != 0
    }

    /// The delete horizon set by compaction, if any (it is stored in
    /// `baseTimestamp`).
    #[inline]
    pub fn delete_horizon_ms(&self) -> Option<i64> {
        self.has_delete_horizon().then_some(self.base_timestamp)
    }

    /// `producerId` (-1 without idempotence).
    #[inline]
    pub fn producer_id(&self) -> i64 {
        self.producer_id
    }

    /// `producerEpoch`.
    #[inline]
    pub fn producer_epoch(&self) -> i16 {
        self.producer_epoch
    }

    /// `baseSequence` (-1 without idempotence).
    #[inline]
    pub fn base_sequence(&self) -> i32 {
        self.base_sequence
    }

    /// `recordCount` as declared (never negative).
    #[inline]
    pub fn record_count(&self) -> i32 {
        self.record_count
    }

    /// `baseTimestamp`: the first record's timestamp (or the delete
    /// horizon, see [`has_delete_horizon`](Self::has_delete_horizon)).
    #[inline]
    pub fn base_timestamp(&self) -> i64 {
        self.base_timestamp
    }

    /// `maxTimestamp`: the largest record timestamp, or the broker's append
    /// time for [`TimestampType::LogAppendTime`].
    #[inline]
    pub fn max_timestamp(&self) -> i64 {
        self.max_timestamp
    }

    /// The batch's bytes, header included, as received.
    #[inline]
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }

    /// The CRC-32C of the batch from the attributes to the end.
    pub fn compute_crc(&self) -> u32 {
        crc32c::crc32c(self.data.get(layout::ATTRIBUTES..).unwrap_or_default())
    }

    /// Checks the stored CRC against the batch's bytes.
    ///
    /// Returns at once for a batch that [`BatchDecoder`] already verified
    /// (its default), so calling it again costs nothing.
    pub fn verify_crc(&self) -> Result<(), RecordError> {
        if self.crc_verified {
            return Ok(());
        }
        let actual_crc = self.compute_crc();
        if actual_crc == self.crc {
            Ok(())
        } else {
            Err(RecordError::Corrupt {
                base_offset: self.base_offset,
                expected_crc: self.crc,
                actual_crc,
            })
        }
    }

    /// The records, decompressed if needed (within the batch's
    /// decompression limit).
    pub fn records(&self) -> Result<Records, RecordError> {
        self.records_with_limit(self.max_decompressed_bytes)
    }

    /// The records, decompressed within `limit` bytes.
    ///
    /// Uncompressed records share the batch's buffer; compressed ones are
    /// decompressed into one new buffer that every record view borrows.
    /// The declared record count is checked against what the records region
    /// could hold before anything is decoded.
    pub fn records_with_limit(&self, limit: usize) -> Result<Records, RecordError> {
        let codec = self.compression()?;
        // parse checked the count is not negative.
        let count = self.record_count as u32;
        let too_many = |bytes: usize| (count as usize) > bytes / MIN_RECORD_SIZE;
        let data = if codec == Compression::None {
            self.data.slice(layout::RECORDS..)
        } else {
            if too_many(limit) {
                return Err(self.bad_count());
            }
            let region = self.data.get(layout::RECORDS..).unwrap_or_default();
            Bytes::from(compression::decompress(codec, region, limit)?)
        };
        if too_many(data.len()) {
            return Err(self.bad_count());
        }
        Ok(Records {
            data,
            ctx: Ctx {
                base_offset: self.base_offset,
                base_timestamp: self.base_timestamp,
                max_timestamp: self.max_timestamp,
                count,
                log_append_time: self.timestamp_type() == TimestampType::LogAppendTime,
            },
        })
    }

    fn bad_count(&self) -> RecordError {
        RecordError::InvalidLength {
            base_offset: self.base_offset,
            what: "record count (more than the records region can hold)",
            value: i64::from(self.record_count),
        }
    }

    /// For a control batch, the type of its control record (commit, abort,
    /// …); `None` for a data batch, or a control batch emptied by compaction.
    pub fn control_type(&self) -> Result<Option<ControlRecordType>, RecordError> {
        if !self.is_control() {
            return Ok(None);
        }
        let records = self.records()?;
        let Some(first) = records.iter().next() else {
            return Ok(None);
        };
        first?.control_type().map(Some)
    }
}

/// What every record of a batch needs from its header.
#[derive(Debug, Clone, Copy)]
struct Ctx {
    base_offset: i64,
    base_timestamp: i64,
    max_timestamp: i64,
    count: u32,
    log_append_time: bool,
}

/// The largest timestamp delta (either sign) the fast path reads: a
/// three-byte zigzag varint holds 21 bits.
const FAST_TIMESTAMP_DELTA: i64 = 1 << 20;

impl Ctx {
    /// Whether no record the fast path accepts can overflow its offset or
    /// timestamp: then they are computed without checks, when asked for.
    /// Batches for which this fails (a base offset within 2^31 of the
    /// `i64` limits, a base timestamp within 2^20) take the checked
    /// parser, which reports the overflow.
    fn fast_path_safe(&self) -> bool {
        let offsets = self.base_offset.checked_add(i64::from(i32::MAX)).is_some()
            && self.base_offset.checked_add(i64::from(i32::MIN)).is_some();
        let timestamps = self.log_append_time
            || (self
                .base_timestamp
                .checked_add(FAST_TIMESTAMP_DELTA)
                .is_some()
                && self
                    .base_timestamp
                    .checked_sub(FAST_TIMESTAMP_DELTA)
                    .is_some());
        offsets && timestamps
    }
}

/// The records of one batch, ready to iterate ([`Records::iter`]).
///
/// Owns the records region (shared with the fetched buffer, or the batch's
/// decompressed buffer); the [`RecordView`]s borrow it.
#[derive(Debug, Clone)]
pub struct Records {
    data: Bytes,
    ctx: Ctx,
}

impl Records {
    /// Iterates over the records, in order.
    #[inline]
    pub fn iter(&self) -> RecordIter<'_> {
        RecordIter {
            rest: &self.data,
            records: self,
            left: self.ctx.count,
            fast: self.ctx.fast_path_safe(),
        }
    }

    /// The record count the batch declares.
    #[inline]
    pub fn len(&self) -> usize {
        self.ctx.count as usize
    }

    /// Whether the batch declares no records.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.ctx.count == 0
    }

    /// The (decompressed) records region.
    #[inline]
    pub fn data(&self) -> &Bytes {
        &self.data
    }
}

impl<'a> IntoIterator for &'a Records {
    type Item = Result<RecordView<'a>, RecordError>;
    type IntoIter = RecordIter<'a>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over the records of a batch; yields an error (then ends) on a
/// malformed record or when the records region does not hold exactly the
/// declared number of records.
#[derive(Debug, Clone)]
pub struct RecordIter<'a> {
    rest: &'a [u8],
    records: &'a Records,
    /// Records still to yield.
    left: u32,
    /// Whether the fast path may be tried ([`Ctx::fast_path_safe`]).
    fast: bool,
}

impl<'a> Iterator for RecordIter<'a> {
    type Item = Result<RecordView<'a>, RecordError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            if self.rest.is_empty() {
                return None;
            }
            let (error, state) = self.clone().count_mismatch();
            *self = state;
            return Some(Err(error));
        }
        if self.fast {
            if let Some((record, rest)) = parse_record_fast(self.rest, self.records) {
                self.rest = rest;
                self.left -= 1;
                return Some(Ok(record));
            }
        }
        let (result, state) = self.clone().next_checked();
        *self = state;
        Some(result)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.left as usize;
        (left.min(1), Some(left + 1))
    }
}

// The out-of-line steps take the iterator by value and return its new
// state, so that `next` never takes its address: the iterator then stays
// in registers across the loop.
impl<'a> RecordIter<'a> {
    /// The record at the front, read by the checked parser: for the rare
    /// record the fast path declines (long varints, a malformed field),
    /// so that every error is reported exactly.
    #[inline(never)]
    fn next_checked(mut self) -> (Result<RecordView<'a>, RecordError>, Self) {
        if self.rest.is_empty() {
            let (e, state) = self.count_mismatch();
            return (Err(e), state);
        }
        match parse_record(&mut self.rest, self.records) {
            Ok(record) => {
                self.left -= 1;
                (Ok(record), self)
            }
            Err(e) => {
                self.rest = &[];
                self.left = 0;
                (Err(e), self)
            }
        }
    }

    #[cold]
    #[inline(never)]
    fn count_mismatch(mut self) -> (RecordError, Self) {
        let ctx = &self.records.ctx;
        let e = RecordError::RecordCountMismatch {
            base_offset: ctx.base_offset,
            declared: ctx.count as i32,
            found: ctx.count - self.left,
            trailing_bytes: self.rest.len(),
        };
        self.rest = &[];
        self.left = 0;
        (e, self)
    }
}

impl std::iter::FusedIterator for RecordIter<'_> {}

/// The `map_err` adaptor for a varint error; building it costs nothing, the
/// error itself is built out of line.
#[inline(always)]
fn varint_error(base_offset: i64, what: &'static str) -> impl FnOnce(VarintError) -> RecordError {
    move |source| varint_error_cold(base_offset, what, source)
}

#[cold]
fn varint_error_cold(base_offset: i64, what: &'static str, source: VarintError) -> RecordError {
    RecordError::Varint {
        base_offset,
        what,
        source,
    }
}

#[cold]
fn truncated(base_offset: i64, what: &'static str) -> RecordError {
    RecordError::Truncated { base_offset, what }
}

#[cold]
fn invalid(base_offset: i64, what: &'static str, value: i64) -> RecordError {
    RecordError::InvalidLength {
        base_offset,
        what,
        value,
    }
}

/// Reads a nullable length-prefixed byte string.
#[inline(always)]
fn take_nullable<'a>(
    body: &mut &'a [u8],
    base_offset: i64,
    len_what: &'static str,
    what: &'static str,
) -> Result<Option<&'a [u8]>, RecordError> {
    let len = take_varint(body).map_err(varint_error(base_offset, len_what))?;
    if len < 0 {
        if len == -1 {
            return Ok(None);
        }
        return Err(invalid(base_offset, len_what, i64::from(len)));
    }
    let len = len as usize;
    if len > body.len() {
        return Err(truncated(base_offset, what));
    }
    let (data, rest) = body.split_at(len);
    *body = rest;
    Ok(Some(data))
}

/// The raw (still zigzag-encoded) value of a varint of one to three bytes
/// at the front of `buf`, and the bytes after it; `None` for anything else
/// (a longer or cut varint), which the checked parser then reads.
///
/// Three bytes hold lengths below 1 MiB and deltas within ±2^20, so nearly
/// every field of nearly every record takes this path.
#[inline(always)]
fn short_varint(buf: &[u8]) -> Option<(u32, &[u8])> {
    match *buf {
        [b0, ref rest @ ..] if b0 < 0x80 => Some((u32::from(b0), rest)),
        [b0, b1, ref rest @ ..] if b1 < 0x80 => {
            Some((u32::from(b0 & 0x7f) | (u32::from(b1) << 7), rest))
        }
        [b0, b1, b2, ref rest @ ..] if b2 < 0x80 => Some((
            u32::from(b0 & 0x7f) | (u32::from(b1 & 0x7f) << 7) | (u32::from(b2) << 14),
            rest,
        )),
        _ => None,
    }
}

/// A nullable length-prefixed byte string with a short length varint: in
/// zigzag form an even value is a length, 1 is -1 (null); anything else is
/// left to the checked parser.
#[inline(always)]
fn short_nullable(buf: &[u8]) -> Option<(Option<&[u8]>, &[u8])> {
    let (raw, rest) = short_varint(buf)?;
    if raw & 1 == 0 {
        let (data, rest) = rest.split_at_checked((raw >> 1) as usize)?;
        Some((Some(data), rest))
    } else if raw == 1 {
        Some((None, rest))
    } else {
        None
    }
}

/// A varint of one to three bytes at `*at` in a record's first 16 bytes
/// (see [`parse_record_fast`]), in raw (zigzag) form; advances `*at`.
/// `None` for a longer varint.
///
/// The indexes are masked, so no bounds check is needed: callers keep
/// `*at + 2 < 16`, so the mask never changes them.
#[inline(always)]
fn head_varint(head: &[u8; 16], at: &mut usize) -> Option<u32> {
    let i = *at;
    let b0 = head[i & 15];
    if b0 < 0x80 {
        *at = i + 1;
        return Some(u32::from(b0));
    }
    let b1 = head[(i + 1) & 15];
    if b1 < 0x80 {
        *at = i + 2;
        return Some(u32::from(b0 & 0x7f) | (u32::from(b1) << 7));
    }
    let b2 = head[(i + 2) & 15];
    if b2 < 0x80 {
        *at = i + 3;
        return Some(u32::from(b0 & 0x7f) | (u32::from(b1 & 0x7f) << 7) | (u32::from(b2) << 14));
    }
    None
}

/// The fast path of [`parse_record`]: the same record from the front of
/// `rest` (and the bytes after it) when every field is well formed and its
/// varints are short; `None` otherwise, and [`parse_record`] then reads the
/// record again and says exactly what is wrong. It never accepts what
/// [`parse_record`] would reject. Only for batches where
/// [`Ctx::fast_path_safe`] holds: offset and timestamp cannot overflow.
///
/// The fields before the key (length, attributes, timestamp and offset
/// deltas, key length: at most 13 bytes as short varints) are read from a
/// 16-byte window without a bounds check each; records within 16 bytes of
/// the end of the region take [`parse_record_short`].
#[inline(always)]
fn parse_record_fast<'a>(
    rest: &'a [u8],
    records: &'a Records,
) -> Option<(RecordView<'a>, &'a [u8])> {
    let Some(head) = rest.first_chunk::<16>() else {
        return parse_record_short(rest, records);
    };
    let mut at = 0;
    let len = head_varint(head, &mut at)?;
    if len & 1 != 0 {
        return None;
    }
    let body_start = at;
    let attributes = head[at & 15];
    at += 1;
    let timestamp_delta = head_varint(head, &mut at)?;
    let offset_delta = head_varint(head, &mut at)?;
    let key_len = head_varint(head, &mut at)?;
    let end = body_start + (len >> 1) as usize;
    let tail = rest.get(end..)?;
    // The head fields must lie within the record.
    let body = rest.get(at..end)?;
    let (key, body) = if key_len & 1 == 0 {
        let (key, body) = body.split_at_checked((key_len >> 1) as usize)?;
        (Some(key), body)
    } else if key_len == 1 {
        (None, body)
    } else {
        return None;
    };
    let (value, body) = short_nullable(body)?;
    let (header_count, headers) = short_varint(body)?;
    record_view(
        records,
        attributes,
        timestamp_delta,
        offset_delta,
        key,
        value,
        header_count,
        headers,
    )
    .map(|record| (record, tail))
}

/// [`parse_record_fast`] for a record within 16 bytes of the end of the
/// records region.
#[inline(never)]
fn parse_record_short<'a>(
    rest: &'a [u8],
    records: &'a Records,
) -> Option<(RecordView<'a>, &'a [u8])> {
    let (len, rest) = short_varint(rest)?;
    if len & 1 != 0 {
        return None;
    }
    let (body, tail) = rest.split_at_checked((len >> 1) as usize)?;
    let (&attributes, body) = body.split_first()?;
    let (timestamp_delta, body) = short_varint(body)?;
    let (offset_delta, body) = short_varint(body)?;
    let (key, body) = short_nullable(body)?;
    let (value, body) = short_nullable(body)?;
    let (header_count, headers) = short_varint(body)?;
    record_view(
        records,
        attributes,
        timestamp_delta,
        offset_delta,
        key,
        value,
        header_count,
        headers,
    )
    .map(|record| (record, tail))
}

/// The fast paths' last checks (header count) and their record.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn record_view<'a>(
    records: &'a Records,
    attributes: u8,
    timestamp_delta: u32,
    offset_delta: u32,
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    header_count: u32,
    headers: &'a [u8],
) -> Option<RecordView<'a>> {
    if header_count & 1 != 0 {
        return None;
    }
    // Each header takes at least two bytes, so the headers need at least
    // `2 * count` bytes, which is the raw zigzag value itself; no headers,
    // no bytes left. The upper bound covers the second rule: it is 0 for
    // no headers, and beyond any records region otherwise (the raw value
    // has at most 21 bits, so the shift cannot overflow).
    let least = u64::from(header_count);
    let len = headers.len() as u64;
    if len < least || len > least << 40 {
        return None;
    }
    let header_count = header_count >> 1;
    Some(RecordView {
        key,
        value,
        headers,
        records,
        // At most 21 bits: the 32-bit zigzag gives the varlong's value.
        timestamp_delta: i64::from(zigzag_decode32(timestamp_delta)),
        header_count,
        offset_delta: zigzag_decode32(offset_delta),
        attributes: attributes as i8,
    })
}

/// Parses one record from the front of `rest`, advancing it.
#[inline(always)]
fn parse_record<'a>(
    rest: &mut &'a [u8],
    records: &'a Records,
) -> Result<RecordView<'a>, RecordError> {
    let ctx = &records.ctx;
    let base_offset = ctx.base_offset;
    let len = take_varint(rest).map_err(varint_error(base_offset, "record length"))?;
    if len < 0 {
        return Err(invalid(base_offset, "record length", i64::from(len)));
    }
    let len = len as usize;
    if len > rest.len() {
        return Err(truncated(base_offset, "record"));
    }
    let (mut body, tail) = rest.split_at(len);
    *rest = tail;

    let Some((&attributes, after)) = body.split_first() else {
        return Err(truncated(base_offset, "record attributes"));
    };
    body = after;
    let timestamp_delta =
        take_varlong(&mut body).map_err(varint_error(base_offset, "timestamp delta"))?;
    let offset_delta = take_varint(&mut body).map_err(varint_error(base_offset, "offset delta"))?;
    let key = take_nullable(&mut body, base_offset, "key length", "record key")?;
    let value = take_nullable(&mut body, base_offset, "value length", "record value")?;
    let header_count = take_varint(&mut body).map_err(varint_error(base_offset, "header count"))?;
    // Headers are parsed when iterated; here only their count is checked
    // against the bytes left (each header takes at least two).
    let headers = body;
    if header_count != 0 {
        if header_count < 0 || header_count as usize > body.len() / 2 {
            return Err(invalid(
                base_offset,
                "header count",
                i64::from(header_count),
            ));
        }
    } else if !body.is_empty() {
        return Err(RecordError::RecordLengthMismatch {
            base_offset,
            trailing_bytes: body.len(),
        });
    }

    // Checked here, so that RecordView computes them unchecked.
    if base_offset.checked_add(i64::from(offset_delta)).is_none() {
        return Err(RecordError::Overflow {
            base_offset,
            what: "record offset (base offset + offset delta)",
        });
    }
    if !ctx.log_append_time && ctx.base_timestamp.checked_add(timestamp_delta).is_none() {
        return Err(RecordError::Overflow {
            base_offset,
            what: "record timestamp (base timestamp + timestamp delta)",
        });
    }
    Ok(RecordView {
        key,
        value,
        headers,
        records,
        timestamp_delta,
        header_count: header_count as u32,
        offset_delta,
        attributes: attributes as i8,
    })
}

/// One record, borrowed from its batch's records buffer.
///
/// `key()`/`value()` give slices with no reference counting; `key_bytes()`
/// and `value_bytes()` give [`Bytes`] that share the buffer (no copy), for
/// keeping a record past the batch.
///
/// Offset and timestamp are computed when asked for, from the batch's
/// bases and the record's deltas (whose sums were checked not to overflow
/// when the record was read).
#[derive(Clone, Copy)]
pub struct RecordView<'a> {
    key: Option<&'a [u8]>,
    value: Option<&'a [u8]>,
    headers: &'a [u8],
    records: &'a Records,
    timestamp_delta: i64,
    header_count: u32,
    offset_delta: i32,
    attributes: i8,
}

impl fmt::Debug for RecordView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordView")
            .field("offset", &self.offset())
            .field("timestamp", &self.timestamp())
            .field("key", &self.key.map(DebugBytes))
            .field("value", &self.value.map(DebugBytes))
            .field("headers", &self.headers())
            .finish()
    }
}

/// Formats a byte slice as an escaped byte string.
struct DebugBytes<'a>(&'a [u8]);

impl fmt::Debug for DebugBytes<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "b\"{}\"", self.0.escape_ascii())
    }
}

impl<'a> RecordView<'a> {
    /// The record's offset: `baseOffset + offsetDelta`.
    #[inline]
    pub fn offset(&self) -> i64 {
        // Cannot overflow: checked when the record was read.
        self.records
            .ctx
            .base_offset
            .wrapping_add(i64::from(self.offset_delta))
    }

    /// `offsetDelta` as stored.
    #[inline]
    pub fn offset_delta(&self) -> i32 {
        self.offset_delta
    }

    /// The record's timestamp: `baseTimestamp + timestampDelta`, or the
    /// batch's `maxTimestamp` for [`TimestampType::LogAppendTime`].
    #[inline]
    pub fn timestamp(&self) -> i64 {
        let ctx = &self.records.ctx;
        if ctx.log_append_time {
            ctx.max_timestamp
        } else {
            // Cannot overflow: checked when the record was read.
            ctx.base_timestamp.wrapping_add(self.timestamp_delta)
        }
    }

    /// The record attributes byte (unused by Kafka so far).
    #[inline]
    pub fn attributes(&self) -> i8 {
        self.attributes
    }

    /// The key; `None` for a null key.
    #[inline]
    pub fn key(&self) -> Option<&'a [u8]> {
        self.key
    }

    /// The value; `None` for a null value (a tombstone).
    #[inline]
    pub fn value(&self) -> Option<&'a [u8]> {
        self.value
    }

    /// The key as [`Bytes`] sharing the records buffer.
    #[inline]
    pub fn key_bytes(&self) -> Option<Bytes> {
        self.key.map(|k| self.records.data.slice_ref(k))
    }

    /// The value as [`Bytes`] sharing the records buffer.
    #[inline]
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.value.map(|v| self.records.data.slice_ref(v))
    }

    /// The headers, parsed as they are iterated. Their count was checked
    /// against the record's bytes; a malformed header shows up as an error
    /// item when iteration reaches it.
    #[inline]
    pub fn headers(&self) -> Headers<'a> {
        Headers {
            raw: self.headers,
            count: self.header_count,
            records: self.records,
        }
    }

    /// For a record of a control batch: its control type, from the key.
    pub fn control_type(&self) -> Result<ControlRecordType, RecordError> {
        let base_offset = self.records.ctx.base_offset;
        let key = self.key.ok_or(RecordError::InvalidControlRecord {
            base_offset,
            detail: "null key",
        })?;
        ControlRecordType::parse_key(key, base_offset)
    }
}

/// The headers of one record: an ordered multimap (KIP-82) in which keys
/// may repeat and values may be null, parsed lazily.
///
/// Iteration yields `Result`s: the first malformed header (a length past
/// the record, a negative key length, or bytes left after the last header)
/// is yielded as an error, and iteration ends there.
#[derive(Clone, Copy)]
pub struct Headers<'a> {
    raw: &'a [u8],
    count: u32,
    records: &'a Records,
}

impl fmt::Debug for Headers<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'a> Headers<'a> {
    /// Number of headers the record declares (duplicates included).
    #[inline]
    pub fn len(&self) -> usize {
        self.count as usize
    }

    /// Whether the record declares no headers.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The headers in order.
    #[inline]
    pub fn iter(&self) -> HeaderIter<'a> {
        HeaderIter {
            raw: self.raw,
            left: self.count,
            records: self.records,
        }
    }

    /// Every header with this key, in order (and any parse error met on
    /// the way).
    #[inline]
    pub fn get_all<'k>(&self, key: &'k [u8]) -> GetAll<'a, 'k> {
        GetAll {
            iter: self.iter(),
            key,
        }
    }

    /// The first header with this key.
    pub fn first(&self, key: &[u8]) -> Result<Option<Header<'a>>, RecordError> {
        self.get_all(key).next().transpose()
    }

    /// The last header with this key (Java's `Headers.lastHeader`).
    pub fn last(&self, key: &[u8]) -> Result<Option<Header<'a>>, RecordError> {
        let mut last = None;
        for header in self.get_all(key) {
            last = Some(header?);
        }
        Ok(last)
    }
}

impl<'a> IntoIterator for Headers<'a> {
    type Item = Result<Header<'a>, RecordError>;
    type IntoIter = HeaderIter<'a>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

/// Iterator over a record's headers ([`Headers::iter`]).
#[derive(Debug, Clone)]
pub struct HeaderIter<'a> {
    /// The headers not yet read; emptied once iteration ends.
    raw: &'a [u8],
    left: u32,
    records: &'a Records,
}

/// A header at the front of `buf` whose key length is one byte (below
/// 64), and the bytes after it; `None` for anything else
/// (a longer or negative key length, a cut header), which the checked
/// parser then reads.
///
/// Header keys are names, so nearly every header takes this path; a value
/// with a one-byte length (below 64) costs one bounds check more, any
/// other value is read by [`short_nullable`].
#[inline(always)]
fn short_header<'a>(buf: &'a [u8], records: &'a Records) -> Option<(Header<'a>, &'a [u8])> {
    let (&key_len, after) = buf.split_first()?;
    // High and sign bits clear: a non-negative length below 64.
    if key_len & 0x81 != 0 {
        return None;
    }
    let key_len = usize::from(key_len >> 1);
    let &value_len = after.get(key_len)?;
    if value_len & 0x81 == 0 {
        let end = key_len + 1 + usize::from(value_len >> 1);
        let (header, rest) = after.split_at_checked(end)?;
        let header = Header {
            key: &header[..key_len],
            value: Some(&header[key_len + 1..]),
            records,
        };
        return Some((header, rest));
    }
    let (key, rest) = after.split_at(key_len);
    let (value, rest) = short_nullable(rest)?;
    let header = Header {
        key,
        value,
        records,
    };
    Some((header, rest))
}

impl<'a> HeaderIter<'a> {
    // As for `RecordIter`, the out-of-line steps take the iterator by
    // value, so that `next` never takes its address.

    /// Bytes after the last declared header: an error, yielded once.
    #[cold]
    #[inline(never)]
    fn trailing_bytes(mut self) -> (RecordError, Self) {
        let trailing_bytes = self.raw.len();
        self.raw = &[];
        let e = RecordError::RecordLengthMismatch {
            base_offset: self.records.ctx.base_offset,
            trailing_bytes,
        };
        (e, self)
    }

    /// The header at the front, read by the checked parser (for the rare
    /// header the fast path in `next` declines).
    #[inline(never)]
    fn next_checked(mut self) -> (Result<Header<'a>, RecordError>, Self) {
        match self.parse() {
            Ok(header) => {
                self.left -= 1;
                (Ok(header), self)
            }
            Err(e) => {
                self.left = 0;
                self.raw = &[];
                (Err(e), self)
            }
        }
    }

    #[inline(always)]
    fn parse(&mut self) -> Result<Header<'a>, RecordError> {
        let base_offset = self.records.ctx.base_offset;
        let key_len =
            take_varint(&mut self.raw).map_err(varint_error(base_offset, "header key length"))?;
        if key_len < 0 {
            return Err(invalid(
                base_offset,
                "header key length",
                i64::from(key_len),
            ));
        }
        let key_len = key_len as usize;
        if key_len > self.raw.len() {
            return Err(truncated(base_offset, "header key"));
        }
        let (key, rest) = self.raw.split_at(key_len);
        self.raw = rest;
        let value = take_nullable(
            &mut self.raw,
            base_offset,
            "header value length",
            "header value",
        )?;
        Ok(Header {
            key,
            value,
            records: self.records,
        })
    }
}

impl<'a> Iterator for HeaderIter<'a> {
    type Item = Result<Header<'a>, RecordError>;

    #[inline(always)]
    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            if self.raw.is_empty() {
                return None;
            }
            let (error, state) = self.clone().trailing_bytes();
            *self = state;
            return Some(Err(error));
        }
        if let Some((header, rest)) = short_header(self.raw, self.records) {
            self.raw = rest;
            self.left -= 1;
            return Some(Ok(header));
        }
        let (result, state) = self.clone().next_checked();
        *self = state;
        Some(result)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(self.left as usize + 1))
    }
}

impl std::iter::FusedIterator for HeaderIter<'_> {}

/// The headers with one key ([`Headers::get_all`]).
#[derive(Debug, Clone)]
pub struct GetAll<'a, 'k> {
    iter: HeaderIter<'a>,
    key: &'k [u8],
}

impl<'a> Iterator for GetAll<'a, '_> {
    type Item = Result<Header<'a>, RecordError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let key = self.key;
        self.iter
            .find(|h| h.as_ref().map_or(true, |h| h.key == key))
    }
}

/// One record header.
#[derive(Clone, Copy)]
pub struct Header<'a> {
    key: &'a [u8],
    value: Option<&'a [u8]>,
    records: &'a Records,
}

impl fmt::Debug for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Header")
            .field(&DebugBytes(self.key))
            .field(&self.value.map(DebugBytes))
            .finish()
    }
}

impl<'a> Header<'a> {
    /// The key's bytes (UTF-8 when written by a conforming client).
    #[inline]
    pub fn key(&self) -> &'a [u8] {
        self.key
    }

    /// The key as a string; an error if it is not valid UTF-8.
    #[inline]
    pub fn key_str(&self) -> Result<&'a str, Utf8Error> {
        std::str::from_utf8(self.key)
    }

    /// The value; `None` for a null value.
    #[inline]
    pub fn value(&self) -> Option<&'a [u8]> {
        self.value
    }

    /// The key as [`Bytes`] sharing the records buffer.
    #[inline]
    pub fn key_bytes(&self) -> Bytes {
        self.records.data.slice_ref(self.key)
    }

    /// The value as [`Bytes`] sharing the records buffer.
    #[inline]
    pub fn value_bytes(&self) -> Option<Bytes> {
        self.value.map(|v| self.records.data.slice_ref(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn views_stay_small() {
        // Returned by value once per record: keep them a few words.
        assert!(std::mem::size_of::<RecordView<'_>>() <= 96);
        assert!(std::mem::size_of::<Option<Result<RecordView<'_>, RecordError>>>() <= 104);
        assert!(std::mem::size_of::<Header<'_>>() <= 48);
    }

    #[test]
    fn out_of_range_reads_are_zero_not_panics() {
        assert_eq!(i64_at(&[1, 2, 3], 0), 0);
        assert_eq!(i32_at(&[], 5), 0);
        assert_eq!(i16_at(&[0, 7], 0), 7);
        assert_eq!(i16_at(&[0, 7], usize::MAX - 1), 0);
    }

    #[test]
    fn empty_and_tiny_buffers() {
        let mut d = BatchDecoder::new(Bytes::new());
        assert!(d.next().is_none());
        assert!(d.partial_tail().is_none());
        let mut d = BatchDecoder::new(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 9, 0]));
        assert!(d.next().is_none());
        assert_eq!(
            d.partial_tail(),
            Some(PartialTail {
                bytes: 9,
                base_offset: Some(9),
                batch_length: None
            })
        );
        assert!(d.next().is_none());
        assert!(RecordBatch::parse(Bytes::new()).is_err());
    }

    #[test]
    fn malformed_headers_are_error_items() {
        let bytes = Bytes::from_static(&[0x7e, b'k']);
        let records = headers_only(bytes.clone(), 10);
        let headers = Headers {
            raw: &bytes,
            count: 3,
            records: &records,
        };
        let items: Vec<_> = headers.iter().collect();
        assert_eq!(items.len(), 1);
        assert!(matches!(
            items[0],
            Err(RecordError::Truncated {
                base_offset: 10,
                what: "header key"
            })
        ));
        assert_eq!(headers.len(), 3);
        assert!(headers.first(b"k").is_err());
        // Bytes after the declared headers.
        let bytes = Bytes::from_static(&[0x02, b'k', 0x01, 0xaa]);
        let records = headers_only(bytes.clone(), 0);
        let headers = Headers {
            raw: &bytes,
            count: 1,
            records: &records,
        };
        let items: Vec<_> = headers.iter().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0].as_ref().unwrap().key(), b"k");
        assert!(items[0].as_ref().unwrap().value().is_none());
        assert!(matches!(
            items[1],
            Err(RecordError::RecordLengthMismatch {
                trailing_bytes: 1,
                ..
            })
        ));
    }

    /// A records region holding only `data`, for testing headers alone.
    fn headers_only(data: Bytes, base_offset: i64) -> Records {
        Records {
            data,
            ctx: Ctx {
                base_offset,
                base_timestamp: 0,
                max_timestamp: 0,
                count: 0,
                log_append_time: false,
            },
        }
    }

    /// A small deterministic generator (xorshift64*), so that failures
    /// reproduce.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// Where a slice sits in memory: both parsers return slices of the
    /// same buffer, so equal spans are equal fields.
    fn span(bytes: &[u8]) -> (usize, usize) {
        (bytes.as_ptr() as usize, bytes.len())
    }

    fn describe_header(header: &Result<Header<'_>, RecordError>) -> String {
        match header {
            Ok(h) => format!("header {:?} {:?}", span(h.key()), h.value().map(span)),
            Err(e) => format!("header error {e:?}"),
        }
    }

    fn describe_record(record: &RecordView<'_>) -> String {
        format!(
            "record {} {} {} {} {:?} {:?} {:?} {}",
            record.offset(),
            record.timestamp(),
            record.offset_delta(),
            record.attributes(),
            record.key().map(span),
            record.value().map(span),
            span(record.headers),
            record.header_count,
        )
    }

    /// Every record and header as the decoder yields them (fast paths
    /// included).
    fn decoded(records: &Records) -> Vec<String> {
        let mut out = Vec::new();
        for record in records {
            match record {
                Ok(record) => {
                    out.push(describe_record(&record));
                    out.extend(record.headers().iter().map(|h| describe_header(&h)));
                }
                Err(e) => out.push(format!("error {e:?}")),
            }
        }
        out
    }

    /// The same, read by the checked parsers alone (the decoder as it was
    /// before it had fast paths).
    fn decoded_checked(records: &Records) -> Vec<String> {
        let mut out = Vec::new();
        let ctx = records.ctx;
        let mut rest: &[u8] = &records.data;
        let mut parsed = 0u32;
        loop {
            if parsed == ctx.count && rest.is_empty() {
                break;
            }
            if parsed == ctx.count || rest.is_empty() {
                let e = RecordError::RecordCountMismatch {
                    base_offset: ctx.base_offset,
                    declared: ctx.count as i32,
                    found: parsed,
                    trailing_bytes: rest.len(),
                };
                out.push(format!("error {e:?}"));
                break;
            }
            match parse_record(&mut rest, records) {
                Ok(record) => {
                    parsed += 1;
                    out.push(describe_record(&record));
                    let mut headers = record.headers().iter();
                    loop {
                        if headers.left == 0 {
                            if !headers.raw.is_empty() {
                                let e = RecordError::RecordLengthMismatch {
                                    base_offset: headers.records.ctx.base_offset,
                                    trailing_bytes: headers.raw.len(),
                                };
                                out.push(describe_header(&Err(e)));
                            }
                            break;
                        }
                        let header = headers.parse();
                        out.push(describe_header(&header));
                        if header.is_err() {
                            break;
                        }
                        headers.left -= 1;
                    }
                }
                Err(e) => {
                    out.push(format!("error {e:?}"));
                    break;
                }
            }
        }
        out
    }

    /// Batches whose fields take one-, two- and three-byte varints and
    /// longer ones: lengths around 63/64, 8191/8192 and 1 MiB, timestamp
    /// spreads past 2^20 ms, null keys, values and header values.
    fn sample_records(rng: &mut Rng, allow_huge: bool) -> Records {
        const LENGTHS: [usize; 10] = [0, 1, 7, 62, 63, 64, 200, 8191, 8192, 20_000];
        let mut builder = super::super::BatchBuilder::new(Compression::None);
        let count = 1 + rng.below(6);
        let huge_value = allow_huge && rng.below(40) == 0;
        for i in 0..count {
            let spread = [1i64, 100, 10_000, 1 << 21, 1 << 40][rng.below(5)];
            let timestamp = 1_700_000_000_000 + i as i64 * spread;
            let key = (rng.below(4) != 0).then(|| vec![b'k'; LENGTHS[rng.below(7)]]);
            let value_len = if huge_value {
                (1 << 20) + 5
            } else {
                LENGTHS[rng.below(LENGTHS.len())]
            };
            let value = (rng.below(5) != 0).then(|| vec![b'v'; value_len]);
            // The last name is past the one-byte length of the fast path.
            let names = [
                "",
                "h",
                "trace-id",
                "a-longer-header-name",
                "a-header-name-of-more-than-sixty-three-bytes-which-takes-the-checked-path",
            ];
            let header_value = vec![b'x'; LENGTHS[rng.below(8)]];
            let headers: Vec<(&str, Option<&[u8]>)> = (0..rng.below(4))
                .map(|_| {
                    let value = (rng.below(3) != 0).then_some(header_value.as_slice());
                    (names[rng.below(names.len())], value)
                })
                .collect();
            builder.append(timestamp, key.as_deref(), value.as_deref(), &headers);
        }
        let mut out = bytes::BytesMut::new();
        builder.finish(&mut out).unwrap();
        let batch = RecordBatch::parse(out.freeze()).unwrap();
        batch.records().unwrap()
    }

    #[test]
    fn fast_paths_agree_with_the_checked_parser_on_valid_batches() {
        let mut rng = Rng(0x5eed_0001);
        for _ in 0..300 {
            let records = sample_records(&mut rng, true);
            let fast = decoded(&records);
            assert!(fast.iter().all(|line| !line.contains("rror")), "{fast:?}");
            assert_eq!(fast, decoded_checked(&records));
        }
    }

    #[test]
    fn fast_paths_agree_with_the_checked_parser_on_corrupt_records() {
        const BYTES: [u8; 10] = [0x00, 0x01, 0x02, 0x03, 0x7e, 0x7f, 0x80, 0x81, 0xfe, 0xff];
        let mut rng = Rng(0x5eed_0002);
        for round in 0..3000 {
            let sample = sample_records(&mut rng, false);
            let mut data = sample.data.to_vec();
            if data.len() > 4_096 {
                data.truncate(4_096 + rng.below(64));
            }
            for _ in 0..1 + rng.below(3) {
                let at = rng.below(data.len().max(1));
                if let Some(byte) = data.get_mut(at) {
                    *byte = if rng.below(2) == 0 {
                        BYTES[rng.below(BYTES.len())]
                    } else {
                        rng.next() as u8
                    };
                }
            }
            if rng.below(8) == 0 {
                data.truncate(rng.below(data.len() + 1));
            }
            let mut ctx = sample.ctx;
            match round % 8 {
                0 => ctx.count += 1,
                1 => ctx.count = ctx.count.saturating_sub(1),
                2 => ctx.log_append_time = true,
                3 => ctx.base_offset = i64::MAX - 2,
                4 => ctx.base_timestamp = i64::MIN + 3,
                // Just inside the bounds for which the fast path computes
                // offsets and timestamps unchecked (`Ctx::fast_path_safe`).
                5 => ctx.base_timestamp = i64::MAX - FAST_TIMESTAMP_DELTA,
                6 => ctx.base_offset = i64::MAX - i64::from(i32::MAX),
                _ => {}
            }
            let records = Records {
                data: Bytes::from(data),
                ctx,
            };
            assert_eq!(
                decoded(&records),
                decoded_checked(&records),
                "round {round}"
            );
        }
    }
}
