//! Reads as Arrow [`RecordBatch`]es with Spark's Kafka source schema
//! (feature `arrow`).
//!
//! The schema is Spark's (§5) as Spark converts it to Arrow
//! (`ArrowUtils.toArrowSchema`), column for column and every field
//! nullable, as Spark's `StructField`s are:
//!
//! | column | Arrow type |
//! |---|---|
//! | `key` | `BinaryView` (or `Binary`, see [`BinaryLayout`]) |
//! | `value` | `BinaryView` (or `Binary`) |
//! | `topic` | `Utf8` |
//! | `partition` | `Int32` |
//! | `offset` | `Int64` |
//! | `timestamp` | `Timestamp(Microsecond, "UTC")` |
//! | `timestampType` | `Int32` |
//! | `headers` (with `includeHeaders`) | `List<element: Struct<key: Utf8, value: Binary>>` |
//!
//! Spark's `timestamp` is an instant in microseconds; its Arrow conversion
//! labels the column with the session time zone. The instants are the
//! same whatever the label; the label here is `UTC` unless
//! [`ArrowOptions::time_zone`] says otherwise.
//!
//! With [`BinaryLayout::View`] (the default) keys and values are not
//! copied: each fetched batch's buffer becomes one Arrow buffer that the
//! views point into (values of 12 bytes or less live inside their view,
//! as Arrow stores them). A record batch then keeps the fetched buffers
//! of its rows alive. [`BinaryLayout::Plain`] copies them into `Binary`
//! columns, for consumers without view types (Spark's own layout). Header
//! keys (UTF-8, invalid bytes replaced as Java's decoder does) and values
//! are small and copied.
//!
//! ```
//! use futures::TryStreamExt;
//! use ferrokafka_streaming::arrow::{ArrowOptions, RecordBatches};
//! use ferrokafka_streaming::batch::BatchSource;
//! use ferrokafka_streaming::options::SourceOptions;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let cluster = ferrokafka_fake::FakeCluster::builder().topic("orders", 1).build()?;
//! # let bootstrap = cluster.bootstrap();
//! # {
//! #     use ferrokafka::{Client, ClientConfig, ProducerConfig, ProducerRecord};
//! #     let client = Client::connect(ClientConfig::builder().bootstrap_servers(&bootstrap).build()?).await?;
//! #     let producer = client.producer(ProducerConfig::default()).await?;
//! #     for i in 0..3 {
//! #         producer.send(ProducerRecord::new("orders").key("k").value(format!("a value of order {i}"))).await?.await?;
//! #     }
//! # }
//! let options = SourceOptions::from_pairs([
//!     ("kafka.bootstrap.servers", bootstrap.as_str()),
//!     ("subscribe", "orders"),
//!     ("includeHeaders", "true"),
//! ]);
//! let source = BatchSource::connect(options.batch()?).await?;
//! let rows = source.rows().await?;
//! let batches: Vec<_> = RecordBatches::new(rows, ArrowOptions::default()).try_collect().await?;
//! let schema = batches[0].schema();
//! let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
//! assert_eq!(names, ["key", "value", "topic", "partition", "offset", "timestamp", "timestampType", "headers"]);
//! assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use arrow_array::builder::{ArrayBuilder, BinaryBuilder, BinaryViewBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BinaryArray, BinaryViewArray, Int32Array, Int64Array, ListArray, StructArray,
    TimestampMicrosecondArray,
};
use arrow_buffer::{Buffer, NullBufferBuilder, OffsetBuffer};
use arrow_schema::{ArrowError, DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use bytes::Bytes;
use futures::Stream;

pub use arrow_array::RecordBatch;
/// The Arrow crates the batches are made of, for callers to match versions.
pub use {arrow_array, arrow_buffer, arrow_schema};

use crate::error::SourceError;
use crate::reader::{ReadMetrics, Rows};
use crate::row::{self, Row};
use ferrokafka::Record;

/// How `key` and `value` are laid out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum BinaryLayout {
    /// `BinaryView` columns pointing into the fetched buffers: no copy.
    #[default]
    View,
    /// `Binary` columns (offsets and one data buffer): the bytes are copied.
    Plain,
}

/// How reads become record batches.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ArrowOptions {
    /// Rows per batch at most (default 8192).
    pub max_rows: usize,
    /// Key and value bytes per batch at most (default 8 MiB): a batch ends
    /// early rather than keep more fetched data alive.
    pub max_bytes: usize,
    /// The layout of `key` and `value`.
    pub binary: BinaryLayout,
    /// The time zone the `timestamp` column is labelled with (default
    /// `UTC`; Spark uses its session time zone).
    pub time_zone: Arc<str>,
}

impl Default for ArrowOptions {
    fn default() -> Self {
        ArrowOptions {
            max_rows: 8192,
            max_bytes: 8 << 20,
            binary: BinaryLayout::View,
            time_zone: "UTC".into(),
        }
    }
}

impl ArrowOptions {
    /// The default options with this many rows per batch at most.
    pub fn with_max_rows(mut self, rows: usize) -> Self {
        self.max_rows = rows.max(1);
        self
    }

    /// The default options with `key` and `value` laid out as `layout`.
    pub fn with_binary(mut self, layout: BinaryLayout) -> Self {
        self.binary = layout;
        self
    }
}

/// The fields of a `headers` entry: `key` (string) and `value` (binary).
fn header_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, true),
        Field::new("value", DataType::Binary, true),
    ])
}

/// The item field of the `headers` list, named as Spark's Arrow
/// conversion names array elements.
fn header_item_field() -> Arc<Field> {
    Arc::new(Field::new(
        "element",
        DataType::Struct(header_fields()),
        true,
    ))
}

/// Spark's Kafka source schema in Arrow (see the
/// [module documentation](self)); `headers` only with `include_headers`.
pub fn kafka_schema(include_headers: bool, options: &ArrowOptions) -> SchemaRef {
    let binary = match options.binary {
        BinaryLayout::View => DataType::BinaryView,
        BinaryLayout::Plain => DataType::Binary,
    };
    let mut fields = vec![
        Field::new("key", binary.clone(), true),
        Field::new("value", binary, true),
        Field::new("topic", DataType::Utf8, true),
        Field::new("partition", DataType::Int32, true),
        Field::new("offset", DataType::Int64, true),
        Field::new(
            "timestamp",
            DataType::Timestamp(TimeUnit::Microsecond, Some(Arc::clone(&options.time_zone))),
            true,
        ),
        Field::new("timestampType", DataType::Int32, true),
    ];
    if include_headers {
        fields.push(Field::new(
            "headers",
            DataType::List(header_item_field()),
            true,
        ));
    }
    Arc::new(Schema::new(fields))
}

/// One record batch of `rows` with [`kafka_schema`].
pub fn rows_to_batch(
    rows: &[Row],
    include_headers: bool,
    options: &ArrowOptions,
) -> Result<RecordBatch, ArrowError> {
    to_batch(
        rows.iter().map(Row::record),
        rows.len(),
        include_headers,
        options,
    )
}

fn key(record: &Record) -> Option<&Bytes> {
    record.key.as_ref()
}

fn value(record: &Record) -> Option<&Bytes> {
    record.value.as_ref()
}

/// One record batch of the `len` `records` (the rows they wrap): the
/// reader's records are built from where they lie, a fetched batch's
/// worth at a time, without moving them into one list first.
fn to_batch<'a, I>(
    records: I,
    len: usize,
    include_headers: bool,
    options: &ArrowOptions,
) -> Result<RecordBatch, ArrowError>
where
    I: Iterator<Item = &'a Record> + Clone,
{
    let binary = |value: fn(&Record) -> Option<&Bytes>| -> Result<ArrayRef, ArrowError> {
        // Keyless topics are common: an all-null column costs no builder.
        if records.clone().all(|record| value(record).is_none()) {
            return Ok(match options.binary {
                BinaryLayout::View => Arc::new(BinaryViewArray::new_null(len)),
                BinaryLayout::Plain => Arc::new(BinaryArray::new_null(len)),
            });
        }
        Ok(match options.binary {
            BinaryLayout::View => view_column(records.clone(), len, value)?,
            BinaryLayout::Plain => plain_column(records.clone(), len, value),
        })
    };
    let topic_bytes = records.clone().map(|record| record.topic.len()).sum();
    let mut topics = StringBuilder::with_capacity(len, topic_bytes);
    for record in records.clone() {
        topics.append_value(&record.topic);
    }
    let mut columns: Vec<ArrayRef> = vec![
        binary(key)?,
        binary(value)?,
        Arc::new(topics.finish()),
        Arc::new(Int32Array::from_iter_values(
            records.clone().map(|r| r.partition),
        )),
        Arc::new(Int64Array::from_iter_values(
            records.clone().map(|r| r.offset),
        )),
        Arc::new(
            TimestampMicrosecondArray::from_iter_values(records.clone().map(row::timestamp_micros))
                .with_timezone(Arc::clone(&options.time_zone)),
        ),
        Arc::new(Int32Array::from_iter_values(
            records.clone().map(row::timestamp_type_code),
        )),
    ];
    if include_headers {
        columns.push(headers_column(records, len)?);
    }
    RecordBatch::try_new(kafka_schema(include_headers, options), columns)
}

/// Values longer than this are not inlined in a view.
const MAX_INLINE_VIEW_LEN: usize = 12;

/// A `BinaryView` column whose long values point into the rows' fetched
/// buffers, each added once as a block.
fn view_column<'a>(
    records: impl Iterator<Item = &'a Record>,
    len: usize,
    value: fn(&Record) -> Option<&Bytes>,
) -> Result<ArrayRef, ArrowError> {
    let mut builder = BinaryViewBuilder::with_capacity(len);
    // Fetched buffer (address, length) → its block in the builder.
    let mut blocks: HashMap<(usize, usize), u32> = HashMap::new();
    let mut last: Option<((usize, usize), u32)> = None;
    for record in records {
        let Some(bytes) = value(record) else {
            builder.append_null();
            continue;
        };
        if bytes.len() <= MAX_INLINE_VIEW_LEN {
            builder.append_value(bytes);
            continue;
        }
        let region = record.batch_buffer();
        let region_start = region.as_ptr() as usize;
        let start = bytes.as_ptr() as usize;
        let within = start >= region_start && start + bytes.len() <= region_start + region.len();
        let (Ok(offset), Ok(len), true) = (
            u32::try_from(start.wrapping_sub(region_start)),
            u32::try_from(bytes.len()),
            within,
        ) else {
            // Not a slice of its batch's buffer (never from the reader):
            // copy it.
            builder.append_value(bytes);
            continue;
        };
        let key = (region_start, region.len());
        let block = match last {
            Some((last_key, block)) if last_key == key => block,
            _ => {
                let block = *blocks
                    .entry(key)
                    .or_insert_with(|| builder.append_block(Buffer::from(region.clone())));
                last = Some((key, block));
                block
            }
        };
        builder.try_append_view(block, offset, len)?;
    }
    Ok(Arc::new(builder.finish()))
}

/// A `Binary` column holding a copy of the values.
fn plain_column<'a>(
    records: impl Iterator<Item = &'a Record> + Clone,
    len: usize,
    value: fn(&Record) -> Option<&Bytes>,
) -> ArrayRef {
    let bytes = records.clone().filter_map(value).map(Bytes::len).sum();
    let mut builder = BinaryBuilder::with_capacity(len, bytes);
    for record in records {
        builder.append_option(value(record));
    }
    Arc::new(builder.finish())
}

/// The `headers` column: null for a row without headers.
fn headers_column<'a>(
    records: impl Iterator<Item = &'a Record>,
    len: usize,
) -> Result<ArrayRef, ArrowError> {
    let mut keys = StringBuilder::new();
    let mut values = BinaryBuilder::new();
    let mut offsets: Vec<i32> = Vec::with_capacity(len + 1);
    offsets.push(0);
    let mut nulls = NullBufferBuilder::new(len);
    for record in records {
        match row::headers(record) {
            Some(headers) => {
                for header in headers {
                    keys.append_value(String::from_utf8_lossy(&header.key));
                    values.append_option(header.value.as_ref());
                }
                nulls.append_non_null();
            }
            None => nulls.append_null(),
        }
        let end = i32::try_from(keys.len()).map_err(|_| {
            ArrowError::InvalidArgumentError(
                "more than 2^31 headers in one batch; lower max_rows".to_owned(),
            )
        })?;
        offsets.push(end);
    }
    let entries = StructArray::try_new(
        header_fields(),
        vec![Arc::new(keys.finish()), Arc::new(values.finish())],
        None,
    )?;
    Ok(Arc::new(ListArray::try_new(
        header_item_field(),
        OffsetBuffer::new(offsets.into()),
        Arc::new(entries),
        nulls.finish(),
    )?))
}

/// A read's rows as Arrow record batches, each of at most
/// [`max_rows`](ArrowOptions::max_rows) rows and about
/// [`max_bytes`](ArrowOptions::max_bytes) of keys and values.
///
/// The rows are those of the [`Rows`] stream, in its order; the first
/// error ends the stream.
pub struct RecordBatches {
    rows: Rows,
    options: ArrowOptions,
    schema: SchemaRef,
    /// The next batch's records, as the reader handed them out.
    pending: Vec<Vec<Record>>,
    pending_rows: usize,
    pending_bytes: usize,
    done: bool,
}

impl std::fmt::Debug for RecordBatches {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecordBatches")
            .field("rows", &self.rows)
            .field("options", &self.options)
            .field("pending", &self.pending_rows)
            .finish()
    }
}

impl RecordBatches {
    /// The batches of `rows`.
    pub fn new(rows: Rows, options: ArrowOptions) -> Self {
        let schema = kafka_schema(rows.includes_headers(), &options);
        RecordBatches {
            rows,
            options,
            schema,
            pending: Vec::new(),
            pending_rows: 0,
            pending_bytes: 0,
            done: false,
        }
    }

    /// The schema of every batch.
    pub fn schema(&self) -> SchemaRef {
        Arc::clone(&self.schema)
    }

    /// What the read did so far.
    pub fn metrics(&self) -> ReadMetrics {
        self.rows.metrics()
    }

    fn take_batch(&mut self) -> Result<RecordBatch, SourceError> {
        let chunks = std::mem::take(&mut self.pending);
        let rows = std::mem::take(&mut self.pending_rows);
        self.pending_bytes = 0;
        Ok(to_batch(
            chunks.iter().flatten(),
            rows,
            self.rows.includes_headers(),
            &self.options,
        )?)
    }

    fn is_full(&self) -> bool {
        self.pending_rows >= self.options.max_rows.max(1)
            || self.pending_bytes >= self.options.max_bytes
    }

    /// Adds what fits of `records` to the next batch; the rest is given
    /// back to the reader to start the batch after.
    fn add(&mut self, mut records: Vec<Record>) {
        let mut fit = 0;
        for record in &records {
            self.pending_bytes +=
                key(record).map_or(0, Bytes::len) + value(record).map_or(0, Bytes::len);
            self.pending_rows += 1;
            fit += 1;
            if self.is_full() {
                break;
            }
        }
        if fit < records.len() {
            self.rows.put_back(records.split_off(fit).into_iter());
        }
        self.pending.push(records);
    }
}

impl Stream for RecordBatches {
    type Item = Result<RecordBatch, SourceError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        if this.done {
            return Poll::Ready(None);
        }
        loop {
            if this.is_full() {
                return Poll::Ready(Some(this.take_batch()));
            }
            match this.rows.poll_next_records(cx) {
                Poll::Ready(Some(Ok(records))) => this.add(records),
                Poll::Ready(Some(Err(error))) => {
                    this.done = true;
                    this.pending.clear();
                    this.pending_rows = 0;
                    return Poll::Ready(Some(Err(error)));
                }
                Poll::Ready(None) => {
                    this.done = true;
                    if this.pending_rows == 0 {
                        return Poll::Ready(None);
                    }
                    return Poll::Ready(Some(this.take_batch()));
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

#[cfg(test)]
#[path = "arrow_tests.rs"]
mod tests;
