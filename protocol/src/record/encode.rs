//! The record batch encoder (the producer's hot path).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use crate::compression::{Compression, Compressor};

use super::control::EndTransactionMarker;
use super::varint::{put_varint, put_varlong, varint_len, varlong_len};
use super::{
    attr, layout, RecordError, TimestampType, BATCH_HEADER_SIZE, LOG_OVERHEAD, MAGIC_V2,
    NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE,
};

/// The header fields and codec of a batch to write.
///
/// The default is a plain, uncompressed, non-idempotent batch at offset 0:
/// producer id, epoch, base sequence and leader epoch -1, `CreateTime`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// `baseOffset`: 0 from a producer (the broker assigns offsets).
    pub base_offset: i64,
    /// `partitionLeaderEpoch`: -1 from a producer.
    pub partition_leader_epoch: i32,
    /// `producerId`, or -1 without idempotence.
    pub producer_id: i64,
    /// `producerEpoch`, or -1 without idempotence.
    pub producer_epoch: i16,
    /// `baseSequence`: sequence number of the first record, or -1.
    pub base_sequence: i32,
    /// Marks the batch as part of a transaction (attribute bit 4).
    pub transactional: bool,
    /// Marks the batch as holding control records (attribute bit 5).
    pub control: bool,
    /// What the timestamps mean (attribute bit 3).
    pub timestamp_type: TimestampType,
    /// Codec of the records region.
    pub compression: Compression,
    /// Codec level, `None` for the default (see [`crate::compression`]).
    pub compression_level: Option<i32>,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            base_offset: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            transactional: false,
            control: false,
            timestamp_type: TimestampType::CreateTime,
            compression: Compression::None,
            compression_level: None,
        }
    }
}

impl BatchOptions {
    fn attributes(&self) -> i16 {
        let mut a = i16::from(self.compression.id());
        if self.timestamp_type == TimestampType::LogAppendTime {
            a |= attr::TIMESTAMP_TYPE;
        }
        if self.transactional {
            a |= attr::TRANSACTIONAL;
        }
        if self.control {
            a |= attr::CONTROL;
        }
        a
    }
}

/// What [`BatchWriter::finish`] wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct BatchSummary {
    /// `baseOffset`.
    pub base_offset: i64,
    /// `lastOffsetDelta`: record count - 1.
    pub last_offset_delta: i32,
    /// `recordCount`.
    pub record_count: i32,
    /// `baseTimestamp`: the first record's timestamp.
    pub base_timestamp: i64,
    /// `maxTimestamp`: the largest record timestamp.
    pub max_timestamp: i64,
    /// The CRC-32C written.
    pub crc: u32,
    /// Bytes of the whole batch in the output.
    pub size_in_bytes: usize,
    /// Bytes of the records before compression.
    pub uncompressed_records_size: usize,
}

/// The fields of one record to write.
struct RecordParts<'r> {
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&'r [u8]>,
    value: Option<&'r [u8]>,
    headers: &'r [(&'r str, Option<&'r [u8]>)],
}

/// Size of a nullable byte string with its length prefix.
#[inline]
fn nullable_size(data: Option<&[u8]>, what: &'static str) -> Result<usize, RecordError> {
    match data {
        None => Ok(1),
        Some(d) => {
            let len =
                i32::try_from(d.len()).map_err(|_| RecordError::TooLarge { what, len: d.len() })?;
            Ok(varint_len(len) + d.len())
        }
    }
}

impl RecordParts<'_> {
    /// Size of the record after its length prefix.
    #[inline]
    fn body_size(&self) -> Result<usize, RecordError> {
        let header_count =
            i32::try_from(self.headers.len()).map_err(|_| RecordError::TooLarge {
                what: "header list",
                len: self.headers.len(),
            })?;
        let mut size = 1 // attributes
            + varlong_len(self.timestamp_delta)
            + varint_len(self.offset_delta)
            + nullable_size(self.key, "record key")?
            + nullable_size(self.value, "record value")?
            + varint_len(header_count);
        for (key, value) in self.headers {
            size = size
                .saturating_add(nullable_size(Some(key.as_bytes()), "header key")?)
                .saturating_add(nullable_size(*value, "header value")?);
        }
        Ok(size)
    }

    /// Writes the record; `body_size` must have succeeded.
    #[inline]
    fn write<B: BufMut>(&self, buf: &mut B, body_len: i32) {
        put_varint(buf, body_len);
        buf.put_u8(0);
        put_varlong(buf, self.timestamp_delta);
        put_varint(buf, self.offset_delta);
        put_nullable(buf, self.key);
        put_nullable(buf, self.value);
        // Lengths were checked to fit i32 by body_size.
        put_varint(buf, self.headers.len() as i32);
        for (key, value) in self.headers {
            put_nullable(buf, Some(key.as_bytes()));
            put_nullable(buf, *value);
        }
    }
}

#[inline]
fn put_nullable<B: BufMut>(buf: &mut B, data: Option<&[u8]>) {
    match data {
        None => put_varint(buf, -1),
        Some(d) => {
            put_varint(buf, d.len() as i32);
            buf.put_slice(d);
        }
    }
}

/// Record count and timestamps of a batch being written.
#[derive(Debug, Clone, Copy, Default)]
struct BatchState {
    count: i32,
    base_timestamp: i64,
    max_timestamp: i64,
    records_size: usize,
}

/// A record checked and sized, ready to write.
struct Prepared<'r> {
    parts: RecordParts<'r>,
    body_len: i32,
    total: usize,
}

impl BatchState {
    /// Checks a record and computes its encoding; nothing changes yet.
    #[inline]
    fn prepare<'r>(
        &self,
        base_offset: i64,
        timestamp: i64,
        key: Option<&'r [u8]>,
        value: Option<&'r [u8]>,
        headers: &'r [(&'r str, Option<&'r [u8]>)],
    ) -> Result<Prepared<'r>, RecordError> {
        if self.count == i32::MAX {
            return Err(RecordError::TooManyRecords);
        }
        let base = if self.count == 0 {
            timestamp
        } else {
            self.base_timestamp
        };
        let timestamp_delta = timestamp.checked_sub(base).ok_or(RecordError::Overflow {
            base_offset,
            what: "timestamp delta (record timestamp - base timestamp)",
        })?;
        let parts = RecordParts {
            timestamp_delta,
            offset_delta: self.count,
            key,
            value,
            headers,
        };
        let body = parts.body_size()?;
        let body_len = i32::try_from(body).map_err(|_| RecordError::TooLarge {
            what: "record",
            len: body,
        })?;
        Ok(Prepared {
            parts,
            body_len,
            total: varint_len(body_len) + body,
        })
    }

    /// Accounts for a record once written.
    #[inline]
    fn commit(&mut self, timestamp: i64, total: usize) {
        if self.count == 0 {
            self.base_timestamp = timestamp;
            self.max_timestamp = timestamp;
        } else {
            self.max_timestamp = self.max_timestamp.max(timestamp);
        }
        self.count += 1;
        self.records_size += total;
    }

    /// Fills in the header of the batch at `out[start..]` (records already
    /// in place after it) and its CRC.
    fn seal(&self, options: &BatchOptions, batch: &mut [u8]) -> Result<BatchSummary, RecordError> {
        let size = batch.len();
        let batch_length =
            i32::try_from(size - LOG_OVERHEAD).map_err(|_| RecordError::TooLarge {
                what: "record batch",
                len: size,
            })?;
        let header = &mut batch[..BATCH_HEADER_SIZE];
        let mut put = |at: usize, bytes: &[u8]| header[at..at + bytes.len()].copy_from_slice(bytes);
        put(layout::BASE_OFFSET, &options.base_offset.to_be_bytes());
        put(layout::LENGTH, &batch_length.to_be_bytes());
        put(
            layout::LEADER_EPOCH,
            &options.partition_leader_epoch.to_be_bytes(),
        );
        put(layout::MAGIC, &MAGIC_V2.to_be_bytes());
        put(layout::ATTRIBUTES, &options.attributes().to_be_bytes());
        put(layout::LAST_OFFSET_DELTA, &(self.count - 1).to_be_bytes());
        put(layout::BASE_TIMESTAMP, &self.base_timestamp.to_be_bytes());
        put(layout::MAX_TIMESTAMP, &self.max_timestamp.to_be_bytes());
        put(layout::PRODUCER_ID, &options.producer_id.to_be_bytes());
        put(
            layout::PRODUCER_EPOCH,
            &options.producer_epoch.to_be_bytes(),
        );
        put(layout::BASE_SEQUENCE, &options.base_sequence.to_be_bytes());
        put(layout::RECORD_COUNT, &self.count.to_be_bytes());
        let crc = crc32c::crc32c(&batch[layout::ATTRIBUTES..]);
        batch[layout::CRC..layout::CRC + 4].copy_from_slice(&crc.to_be_bytes());
        Ok(BatchSummary {
            base_offset: options.base_offset,
            last_offset_delta: self.count - 1,
            record_count: self.count,
            base_timestamp: self.base_timestamp,
            max_timestamp: self.max_timestamp,
            crc,
            size_in_bytes: size,
            uncompressed_records_size: self.records_size,
        })
    }
}

/// Returns a compressor for the options, reusing `slot`'s when it matches.
fn compressor_for<'c>(
    slot: &'c mut Option<Compressor>,
    options: &BatchOptions,
) -> Result<&'c mut Compressor, RecordError> {
    let reusable = slot.as_ref().is_some_and(|c| {
        c.codec() == options.compression && c.level() == options.compression_level
    });
    if !reusable {
        *slot = None;
    }
    match slot {
        Some(c) => Ok(c),
        None => Ok(slot.insert(Compressor::new(
            options.compression,
            options.compression_level,
        )?)),
    }
}

/// Reusable state for writing batches with [`BatchWriter`]: the scratch
/// buffer compressed records are gathered in, and the compressor.
///
/// Keep one per producer thread (or per partition queue) and call
/// [`begin`](Self::begin) for each batch: after the first few batches it no
/// longer allocates.
#[derive(Default)]
pub struct BatchEncoder {
    scratch: Vec<u8>,
    compressor: Option<Compressor>,
}

impl fmt::Debug for BatchEncoder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchEncoder")
            .field("scratch_capacity", &self.scratch.capacity())
            .field("compressor", &self.compressor)
            .finish()
    }
}

impl BatchEncoder {
    /// A new encoder (allocates nothing until used).
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts a batch at the end of `out`.
    ///
    /// Reserves the 61-byte header in `out` at once; uncompressed records
    /// follow as they are appended. Fails only on an invalid compression
    /// level. Dropping the writer without [`finish`](BatchWriter::finish)ing
    /// (or a failed `finish`) removes the partial batch from `out`.
    pub fn begin<'a>(
        &'a mut self,
        out: &'a mut BytesMut,
        options: &BatchOptions,
    ) -> Result<BatchWriter<'a>, RecordError> {
        options
            .compression
            .validate_level(options.compression_level)?;
        if options.compression != Compression::None {
            compressor_for(&mut self.compressor, options)?;
        }
        self.scratch.clear();
        let start = out.len();
        out.reserve(BATCH_HEADER_SIZE + 256);
        out.put_bytes(0, BATCH_HEADER_SIZE);
        Ok(BatchWriter {
            out,
            encoder: self,
            options: *options,
            start,
            state: BatchState::default(),
            finished: false,
        })
    }
}

/// Writes one batch into a borrowed output buffer:
/// [`append`](Self::append) records, then [`finish`](Self::finish).
///
/// Records get offset deltas 0, 1, 2, … in order; the first record's
/// timestamp becomes the batch's `baseTimestamp`. Uncompressed records are
/// written straight into the output; compressed ones are gathered in the
/// encoder's scratch buffer and compressed into the output once.
pub struct BatchWriter<'a> {
    out: &'a mut BytesMut,
    encoder: &'a mut BatchEncoder,
    options: BatchOptions,
    start: usize,
    state: BatchState,
    finished: bool,
}

impl fmt::Debug for BatchWriter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchWriter")
            .field("options", &self.options)
            .field("start", &self.start)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl BatchWriter<'_> {
    /// Appends a record with offset delta = records so far.
    ///
    /// `headers` are `(key, value)` pairs, kept in order, duplicates
    /// allowed, `None` for a null value. Fails, writing nothing, when a
    /// length does not fit the wire format, the timestamp delta overflows,
    /// or the batch is full.
    #[inline]
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Result<(), RecordError> {
        let p = self
            .state
            .prepare(self.options.base_offset, timestamp, key, value, headers)?;
        if self.options.compression == Compression::None {
            self.out.reserve(p.total);
            p.parts.write(self.out, p.body_len);
        } else {
            self.encoder.scratch.reserve(p.total);
            p.parts.write(&mut self.encoder.scratch, p.body_len);
        }
        self.state.commit(timestamp, p.total);
        Ok(())
    }

    /// Records appended so far.
    #[inline]
    pub fn record_count(&self) -> i32 {
        self.state.count
    }

    /// Whether no record was appended yet.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.state.count == 0
    }

    /// Size the batch would have uncompressed: header plus records so far.
    /// For a compressed batch the final size is usually smaller.
    #[inline]
    pub fn estimated_size(&self) -> usize {
        BATCH_HEADER_SIZE + self.state.records_size
    }

    /// Exact encoded size of a record if it were appended now, for deciding
    /// whether it still fits the batch.
    pub fn record_size(
        &self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Result<usize, RecordError> {
        self.state
            .prepare(self.options.base_offset, timestamp, key, value, headers)
            .map(|p| p.total)
    }

    /// Compresses the records if a codec is set, fills in the header and
    /// CRC, and returns what was written.
    ///
    /// Fails on an empty batch, a compression error, or a batch over
    /// `i32::MAX` bytes; the partial batch is then removed from the output.
    pub fn finish(mut self) -> Result<BatchSummary, RecordError> {
        if self.state.count == 0 {
            return Err(RecordError::EmptyBatch);
        }
        if self.options.compression != Compression::None {
            let encoder = &mut *self.encoder;
            compressor_for(&mut encoder.compressor, &self.options)?
                .compress(&encoder.scratch, &mut *self.out)?;
            encoder.scratch.clear();
        }
        let summary = self
            .state
            .seal(&self.options, &mut self.out[self.start..])?;
        self.finished = true;
        Ok(summary)
    }
}

impl Drop for BatchWriter<'_> {
    fn drop(&mut self) {
        if !self.finished {
            self.out.truncate(self.start);
            self.encoder.scratch.clear();
        }
    }
}

/// Builds one batch at a time in its own buffer, then writes it to an
/// output with [`finish`](Self::finish); reusable for the next batch.
///
/// The owned counterpart of [`BatchWriter`], for when the output buffer is
/// not at hand while records arrive. It costs one extra copy of the records
/// for uncompressed batches (none for compressed ones).
///
/// [`append`](Self::append) chains and keeps the first error, which
/// [`finish`](Self::finish) reports (as `std::fmt::DebugStruct` does);
/// [`try_append`](Self::try_append) reports it at once.
///
/// ```
/// # use bytes::BytesMut;
/// # use ferrokafka_protocol::compression::Compression;
/// # use ferrokafka_protocol::record::BatchBuilder;
/// let mut batch = BatchBuilder::new(Compression::Lz4);
/// batch
///     .append(1_700_000_000_000, Some(b"k"), Some(b"v1"), &[])
///     .append(1_700_000_000_001, None, Some(b"v2"), &[("trace", Some(b"1"))]);
/// let mut out = BytesMut::new();
/// let summary = batch.finish(&mut out)?;
/// assert_eq!(summary.record_count, 2);
/// # Ok::<(), ferrokafka_protocol::record::RecordError>(())
/// ```
pub struct BatchBuilder {
    options: BatchOptions,
    /// Room for the batch header, then the records as appended: an
    /// uncompressed batch is sealed in place and handed out without a copy
    /// ([`finish_bytes`](Self::finish_bytes)).
    records: Vec<u8>,
    /// The size of the last batch handed out whole, to size the next
    /// buffer at once instead of growing it step by step.
    size_hint: usize,
    compressor: Option<Compressor>,
    state: BatchState,
    error: Option<RecordError>,
}

impl fmt::Debug for BatchBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BatchBuilder")
            .field("options", &self.options)
            .field("state", &self.state)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl BatchBuilder {
    /// A builder for a batch with default options (see [`BatchOptions`])
    /// and `compression` at its default level.
    pub fn new(compression: Compression) -> Self {
        BatchBuilder {
            options: BatchOptions {
                compression,
                ..BatchOptions::default()
            },
            records: Vec::new(),
            size_hint: 0,
            compressor: None,
            state: BatchState::default(),
            error: None,
        }
    }

    /// A builder with the given options; fails on an invalid compression
    /// level.
    pub fn with_options(options: BatchOptions) -> Result<Self, RecordError> {
        options
            .compression
            .validate_level(options.compression_level)?;
        let mut builder = Self::new(options.compression);
        builder.options = options;
        Ok(builder)
    }

    /// The options of the batch being built.
    pub fn options(&self) -> &BatchOptions {
        &self.options
    }

    /// Changes the options, for the batch being built or the next one; fails
    /// on an invalid compression level.
    pub fn set_options(&mut self, options: BatchOptions) -> Result<(), RecordError> {
        options
            .compression
            .validate_level(options.compression_level)?;
        self.options = options;
        Ok(())
    }

    /// Appends a record (see [`BatchWriter::append`]), failing at once.
    pub fn try_append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> Result<(), RecordError> {
        let p = self
            .state
            .prepare(self.options.base_offset, timestamp, key, value, headers)?;
        if self.records.is_empty() {
            self.records
                .reserve((BATCH_HEADER_SIZE + p.total).max(self.size_hint));
            self.records.put_bytes(0, BATCH_HEADER_SIZE);
        }
        self.records.reserve(p.total);
        p.parts.write(&mut self.records, p.body_len);
        self.state.commit(timestamp, p.total);
        Ok(())
    }

    /// Appends a record; an error is kept and reported by
    /// [`finish`](Self::finish), and later appends are ignored until then.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, Option<&[u8]>)],
    ) -> &mut Self {
        if self.error.is_none() {
            if let Err(e) = self.try_append(timestamp, key, value, headers) {
                self.error = Some(e);
            }
        }
        self
    }

    /// Records appended so far.
    pub fn record_count(&self) -> i32 {
        self.state.count
    }

    /// Whether no record was appended yet.
    pub fn is_empty(&self) -> bool {
        self.state.count == 0
    }

    /// Size the batch would have uncompressed: header plus records so far.
    pub fn estimated_size(&self) -> usize {
        BATCH_HEADER_SIZE + self.state.records_size
    }

    /// Bytes of record buffer the builder keeps between batches (its
    /// capacity), for pools that bound what idle builders hold.
    pub fn retained_capacity(&self) -> usize {
        self.records.capacity()
    }

    /// Writes the batch at the end of `out` and resets the builder for the
    /// next batch (keeping its buffers and options).
    ///
    /// Fails with the first error an [`append`](Self::append) met, on an
    /// empty batch, or on a compression error; `out` is then unchanged, and
    /// the builder is reset all the same.
    pub fn finish(&mut self, out: &mut BytesMut) -> Result<BatchSummary, RecordError> {
        let result = self.write_to(out);
        self.reset();
        result
    }

    /// Finishes the batch as [`finish`](Self::finish) does, into a buffer
    /// of its own. An uncompressed batch is sealed where its records were
    /// written and handed out without a copy (the builder starts its next
    /// batch in a new buffer); a compressed one is compressed into a new
    /// buffer.
    ///
    /// ```
    /// # use ferrokafka_protocol::compression::Compression;
    /// # use ferrokafka_protocol::record::BatchBuilder;
    /// let mut batch = BatchBuilder::new(Compression::None);
    /// batch.append(1_700_000_000_000, None, Some(b"v"), &[]);
    /// let (bytes, summary) = batch.finish_bytes()?;
    /// assert_eq!(bytes.len(), summary.size_in_bytes);
    /// # Ok::<(), ferrokafka_protocol::record::RecordError>(())
    /// ```
    pub fn finish_bytes(&mut self) -> Result<(Bytes, BatchSummary), RecordError> {
        if self.options.compression != Compression::None {
            let mut out = BytesMut::new();
            let summary = self.finish(&mut out)?;
            // Room was made for the records uncompressed; keep only what
            // the compressed batch takes while it waits for its answer.
            let mut out = Vec::from(out);
            out.shrink_to_fit();
            return Ok((Bytes::from(out), summary));
        }
        let sealed = match self.error.take() {
            Some(e) => Err(e),
            None if self.state.count == 0 => Err(RecordError::EmptyBatch),
            None => self.state.seal(&self.options, &mut self.records),
        };
        let result = sealed.map(|summary| {
            self.size_hint = self.records.len();
            let mut records = std::mem::take(&mut self.records);
            // The buffer grew in steps and may be up to twice the batch:
            // give the rest back before the batch waits for its answer
            // (the allocator shrinks it in place).
            records.shrink_to_fit();
            (Bytes::from(records), summary)
        });
        self.reset();
        result
    }

    fn reset(&mut self) {
        self.records.clear();
        self.state = BatchState::default();
        self.error = None;
    }

    fn write_to(&mut self, out: &mut BytesMut) -> Result<BatchSummary, RecordError> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        if self.state.count == 0 {
            return Err(RecordError::EmptyBatch);
        }
        let start = out.len();
        let records = &self.records[BATCH_HEADER_SIZE..];
        out.reserve(BATCH_HEADER_SIZE + records.len());
        out.put_bytes(0, BATCH_HEADER_SIZE);
        let written = if self.options.compression == Compression::None {
            out.extend_from_slice(records);
            Ok(())
        } else {
            compressor_for(&mut self.compressor, &self.options)
                .and_then(|c| c.compress(records, out).map_err(RecordError::from))
        };
        let sealed = written.and_then(|()| self.state.seal(&self.options, &mut out[start..]));
        if sealed.is_err() {
            out.truncate(start);
        }
        sealed
    }
}

/// Writes a control batch holding one transaction marker (commit or abort)
/// at the end of `out`, as a transaction coordinator does.
///
/// From `options` it takes the base offset, leader epoch, producer id and
/// epoch; the batch is always transactional, control, uncompressed,
/// `CreateTime`, with base sequence -1.
pub fn write_control_batch(
    out: &mut BytesMut,
    options: &BatchOptions,
    timestamp: i64,
    marker: EndTransactionMarker,
) -> Result<BatchSummary, RecordError> {
    let options = BatchOptions {
        base_sequence: NO_SEQUENCE,
        transactional: true,
        control: true,
        timestamp_type: TimestampType::CreateTime,
        compression: Compression::None,
        compression_level: None,
        ..*options
    };
    let mut encoder = BatchEncoder::new();
    let mut writer = encoder.begin(out, &options)?;
    writer.append(
        timestamp,
        Some(&marker.encode_key()),
        Some(&marker.encode_value()),
        &[],
    )?;
    writer.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_bits() {
        let mut o = BatchOptions::default();
        assert_eq!(o.attributes(), 0);
        o.compression = Compression::Zstd;
        o.timestamp_type = TimestampType::LogAppendTime;
        assert_eq!(o.attributes(), 0x0c);
        o.transactional = true;
        o.control = true;
        assert_eq!(o.attributes(), 0x3c);
    }

    /// Appends `n` records (one with a key and headers, one null value).
    fn fill(builder: &mut BatchBuilder, n: usize, seed: u8) {
        let headers: &[(&str, Option<&[u8]>)] = &[("h", Some(b"1")), ("h", None)];
        for i in 0..n {
            let value = vec![seed.wrapping_add(i as u8); 50 + i % 300];
            let (key, value, headers) = match i % 3 {
                0 => (Some(&b"key"[..]), Some(&value[..]), headers),
                1 => (None, None, &[][..]),
                _ => (None, Some(&value[..]), &[][..]),
            };
            builder
                .try_append(1_700_000_000_000 + i as i64, key, value, headers)
                .unwrap();
        }
    }

    #[test]
    fn finish_bytes_writes_what_finish_writes_for_every_codec() {
        for codec in [
            Compression::None,
            Compression::Gzip,
            Compression::Snappy,
            Compression::Lz4,
            Compression::Zstd,
        ] {
            let mut by_finish = BatchBuilder::new(codec);
            let mut by_bytes = BatchBuilder::new(codec);
            // Three batches each, so a builder reused after handing its
            // buffer out is covered.
            for (round, n) in [(0u8, 200), (1, 1), (2, 700)] {
                fill(&mut by_finish, n, round);
                fill(&mut by_bytes, n, round);
                let mut expected = BytesMut::new();
                let summary = by_finish.finish(&mut expected).unwrap();
                let (bytes, summary_bytes) = by_bytes.finish_bytes().unwrap();
                assert_eq!(&bytes[..], &expected[..], "{codec:?} round {round}");
                assert_eq!(summary_bytes.crc, summary.crc);
                assert_eq!(summary_bytes.record_count, n as i32);
                assert!(by_bytes.is_empty());
            }
            assert!(matches!(
                by_bytes.finish_bytes(),
                Err(RecordError::EmptyBatch)
            ));
        }
    }

    #[test]
    fn an_uncompressed_batch_is_handed_out_without_a_copy() {
        let mut builder = BatchBuilder::new(Compression::None);
        fill(&mut builder, 100, 9);
        builder.finish_bytes().unwrap();
        // The same records again: the buffer is sized from the last batch
        // at once, so it is exactly full and nothing moves it.
        fill(&mut builder, 100, 9);
        assert_eq!(builder.records.len(), builder.records.capacity());
        let before = builder.records.as_ptr();
        let (bytes, _) = builder.finish_bytes().unwrap();
        assert_eq!(bytes.as_ptr(), before, "the batch was copied");
        assert_eq!(builder.retained_capacity(), 0);
    }

    #[test]
    fn record_sizes_match_what_is_written() {
        let headers: &[(&str, Option<&[u8]>)] = &[("a", None), ("bb", Some(b"ccc"))];
        let value = vec![7u8; 300];
        let state = BatchState::default();
        let p = state
            .prepare(0, 5, Some(b"key"), Some(&value), headers)
            .unwrap();
        let mut buf = Vec::new();
        p.parts.write(&mut buf, p.body_len);
        assert_eq!(buf.len(), p.total);
        let full = BatchState {
            count: i32::MAX,
            ..BatchState::default()
        };
        assert!(matches!(
            full.prepare(0, 0, None, None, &[]),
            Err(RecordError::TooManyRecords)
        ));
    }
}
