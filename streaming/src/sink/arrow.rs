//! Arrow record batches as sink input (feature `arrow`).

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, GenericListArray, Int32Array, LargeStringArray, OffsetSizeTrait, RecordBatch,
    StringArray, StringViewArray, StructArray,
};
use arrow_buffer::{ArrowNativeType, Buffer, NullBuffer};
use arrow_schema::{DataType, Schema, TimeUnit};
use bytes::Bytes;

use super::error::SinkError;
use super::schema::{check_columns, SinkColumns, SparkType};
use super::writer::{KafkaSink, WriteSummary};
use super::SinkRow;

impl KafkaSink {
    /// Writes the rows of an Arrow record batch with Spark's sink columns
    /// (as [`write`](Self::write)):
    ///
    /// | column | Arrow types |
    /// |---|---|
    /// | `topic` (unless the `topic` option is set) | `Utf8`, `LargeUtf8`, `Utf8View` |
    /// | `key` (optional) | those, or `Binary`, `LargeBinary`, `BinaryView` |
    /// | `value` | as `key` |
    /// | `headers` (optional) | `List` or `LargeList` of `Struct<key: a string type, value: a binary type>` |
    /// | `partition` (optional) | `Int32` |
    ///
    /// The columns are checked before any row is sent, with Spark's
    /// messages ([`check_columns`]; Arrow types are named as Spark names
    /// them, e.g. `bigint` for `Int64`); other columns are ignored (a
    /// read's `offset`, `timestamp`, …, so read batches write back as
    /// they are). Keys and values are not copied (except those of 12 bytes
    /// or less in view arrays). A header that is null or has a null key
    /// fails the write when its row comes.
    pub async fn write_record_batch(&self, batch: &RecordBatch) -> Result<WriteSummary, SinkError> {
        let rows = BatchRows::new(batch, self.settings().topic.as_deref())?;
        let count = batch.num_rows();
        self.write_rows(futures::stream::iter((0..count).map(|row| rows.row(row))))
            .await
    }
}

/// Checks a record batch's schema as the sink does, before writing it:
/// `Ok` with where each column is, or Spark's error.
///
/// ```
/// use std::sync::Arc;
/// use ferrokafka_streaming::arrow::arrow_schema::{DataType, Field, Schema};
/// use ferrokafka_streaming::sink::check_arrow_schema;
///
/// let schema = Schema::new(vec![
///     Field::new("value", DataType::Utf8, true),
///     Field::new("partition", DataType::Int64, true),
/// ]);
/// assert_eq!(
///     check_arrow_schema(&schema, Some("orders")).unwrap_err().to_string(),
///     "partition attribute unsupported type bigint. partition must be a(n) int"
/// );
/// ```
pub fn check_arrow_schema(
    schema: &Schema,
    topic_option: Option<&str>,
) -> Result<SinkColumns, SinkError> {
    let columns: Vec<(&str, SparkType)> = schema
        .fields()
        .iter()
        .map(|field| (field.name().as_str(), spark_type(field.data_type())))
        .collect();
    Ok(check_columns(&columns, topic_option)?)
}

/// How the sink sees an Arrow type.
fn spark_type(data_type: &DataType) -> SparkType {
    match data_type {
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => SparkType::String,
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => SparkType::Binary,
        DataType::Int32 => SparkType::Int,
        DataType::List(item) | DataType::LargeList(item) if is_header_struct(item.data_type()) => {
            SparkType::Headers
        }
        other => SparkType::Other(catalog_string(other)),
    }
}

/// `struct<key:string,value:binary>`, field names in any case (Spark
/// compares types ignoring case and nullability by default).
fn is_header_struct(data_type: &DataType) -> bool {
    let DataType::Struct(fields) = data_type else {
        return false;
    };
    match fields.iter().collect::<Vec<_>>().as_slice() {
        [key, value] => {
            key.name().eq_ignore_ascii_case("key")
                && spark_type(key.data_type()) == SparkType::String
                && value.name().eq_ignore_ascii_case("value")
                && spark_type(value.data_type()) == SparkType::Binary
        }
        _ => false,
    }
}

/// The Spark name (`catalogString`) of the type Spark gives an Arrow
/// type, or Arrow's own name for types Spark does not have.
fn catalog_string(data_type: &DataType) -> String {
    match data_type {
        DataType::Null => "void".into(),
        DataType::Boolean => "boolean".into(),
        DataType::Int8 => "tinyint".into(),
        DataType::Int16 => "smallint".into(),
        DataType::Int32 => "int".into(),
        DataType::Int64 => "bigint".into(),
        DataType::Float32 => "float".into(),
        DataType::Float64 => "double".into(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "string".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "binary".into(),
        DataType::Date32 => "date".into(),
        DataType::Timestamp(TimeUnit::Microsecond, Some(_)) => "timestamp".into(),
        DataType::Timestamp(TimeUnit::Microsecond, None) => "timestamp_ntz".into(),
        DataType::Decimal128(precision, scale) => format!("decimal({precision},{scale})"),
        DataType::List(item) | DataType::LargeList(item) => {
            format!("array<{}>", catalog_string(item.data_type()))
        }
        DataType::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|f| format!("{}:{}", f.name(), catalog_string(f.data_type())))
                .collect();
            format!("struct<{}>", fields.join(","))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => format!(
                "map<{},{}>",
                catalog_string(fields[0].data_type()),
                catalog_string(fields[1].data_type())
            ),
            other => format!("map<{}>", catalog_string(other)),
        },
        other => format!("{other} (an Arrow type Spark does not have)"),
    }
}

/// A checked record batch, read row by row.
struct BatchRows<'a> {
    topic: Option<StrColumn<'a>>,
    key: Option<BytesColumn<'a>>,
    value: BytesColumn<'a>,
    headers: Option<HeadersColumn<'a>>,
    partition: Option<&'a Int32Array>,
    /// The topic of the previous row, reused while rows share it.
    last_topic: std::sync::Mutex<Option<Arc<str>>>,
}

impl<'a> BatchRows<'a> {
    fn new(batch: &'a RecordBatch, topic_option: Option<&str>) -> Result<Self, SinkError> {
        let columns = check_arrow_schema(&batch.schema(), topic_option)?;
        let column = |index: usize| batch.column(index).as_ref();
        let bytes = |index: usize| {
            BytesColumn::new(column(index)).expect("the schema check accepted a binary column")
        };
        Ok(BatchRows {
            topic: columns.topic.map(|index| {
                StrColumn::new(column(index)).expect("the schema check accepted a string column")
            }),
            key: columns.key.map(bytes),
            value: bytes(columns.value),
            headers: columns.headers.map(|index| {
                HeadersColumn::new(column(index))
                    .expect("the schema check accepted a headers column")
            }),
            partition: columns
                .partition
                .map(|index| column(index).as_primitive::<Int32Type>()),
            last_topic: std::sync::Mutex::new(None),
        })
    }

    fn row(&self, row: usize) -> Result<SinkRow, SinkError> {
        let mut out = SinkRow::new();
        if let Some(topic) = self.topic.as_ref().and_then(|column| column.get(row)) {
            let mut last = self.last_topic.lock().unwrap_or_else(|e| e.into_inner());
            let shared = match last.as_ref() {
                Some(last) if **last == *topic => Arc::clone(last),
                _ => {
                    let new: Arc<str> = Arc::from(topic);
                    *last = Some(Arc::clone(&new));
                    new
                }
            };
            out.topic = Some(shared);
        }
        out.key = self.key.as_ref().and_then(|column| column.get(row));
        out.value = self.value.get(row);
        out.partition = self
            .partition
            .filter(|column| column.is_valid(row))
            .map(|column| column.value(row));
        if let Some(headers) = &self.headers {
            out.headers = headers.get(row)?;
        }
        Ok(out)
    }
}

fn is_null(nulls: Option<&NullBuffer>, row: usize) -> bool {
    nulls.is_some_and(|nulls| nulls.is_null(row))
}

/// A string column.
enum StrColumn<'a> {
    Utf8(&'a StringArray),
    Large(&'a LargeStringArray),
    View(&'a StringViewArray),
}

impl<'a> StrColumn<'a> {
    fn new(array: &'a dyn Array) -> Option<Self> {
        Some(match array.data_type() {
            DataType::Utf8 => StrColumn::Utf8(array.as_string::<i32>()),
            DataType::LargeUtf8 => StrColumn::Large(array.as_string::<i64>()),
            DataType::Utf8View => StrColumn::View(array.as_string_view()),
            _ => return None,
        })
    }

    fn get(&self, row: usize) -> Option<&'a str> {
        match self {
            StrColumn::Utf8(array) => array.is_valid(row).then(|| array.value(row)),
            StrColumn::Large(array) => array.is_valid(row).then(|| array.value(row)),
            StrColumn::View(array) => array.is_valid(row).then(|| array.value(row)),
        }
    }
}

/// An Arrow buffer as the owner of [`Bytes`], so that keys and values are
/// slices of it instead of copies.
struct ArrowBytes(Buffer);

impl AsRef<[u8]> for ArrowBytes {
    fn as_ref(&self) -> &[u8] {
        self.0.as_slice()
    }
}

fn shared(buffer: &Buffer) -> Bytes {
    Bytes::from_owner(ArrowBytes(buffer.clone()))
}

/// A string or binary column whose values are handed out as [`Bytes`]
/// sharing the Arrow buffers.
enum BytesColumn<'a> {
    /// `Utf8`, `Binary`: 32-bit offsets into one buffer.
    Offsets32(Offsets<'a, i32>),
    /// `LargeUtf8`, `LargeBinary`: 64-bit offsets.
    Offsets64(Offsets<'a, i64>),
    /// `Utf8View`, `BinaryView`.
    Views {
        views: &'a [u128],
        buffers: Vec<Bytes>,
        nulls: Option<&'a NullBuffer>,
    },
}

struct Offsets<'a, O> {
    data: Bytes,
    offsets: &'a [O],
    nulls: Option<&'a NullBuffer>,
}

impl<O: ArrowNativeType> Offsets<'_, O> {
    fn get(&self, row: usize) -> Option<Bytes> {
        if is_null(self.nulls, row) {
            return None;
        }
        Some(
            self.data
                .slice(self.offsets[row].as_usize()..self.offsets[row + 1].as_usize()),
        )
    }
}

impl<'a> BytesColumn<'a> {
    fn new(array: &'a dyn Array) -> Option<Self> {
        fn offsets<'a, O: OffsetSizeTrait>(
            values: &Buffer,
            offsets: &'a [O],
            nulls: Option<&'a NullBuffer>,
        ) -> Offsets<'a, O> {
            Offsets {
                data: shared(values),
                offsets,
                nulls,
            }
        }
        Some(match array.data_type() {
            DataType::Utf8 => {
                let a = array.as_string::<i32>();
                BytesColumn::Offsets32(offsets(a.values(), a.value_offsets(), a.nulls()))
            }
            DataType::Binary => {
                let a = array.as_binary::<i32>();
                BytesColumn::Offsets32(offsets(a.values(), a.value_offsets(), a.nulls()))
            }
            DataType::LargeUtf8 => {
                let a = array.as_string::<i64>();
                BytesColumn::Offsets64(offsets(a.values(), a.value_offsets(), a.nulls()))
            }
            DataType::LargeBinary => {
                let a = array.as_binary::<i64>();
                BytesColumn::Offsets64(offsets(a.values(), a.value_offsets(), a.nulls()))
            }
            DataType::Utf8View => {
                let a = array.as_string_view();
                BytesColumn::Views {
                    views: a.views(),
                    buffers: a.data_buffers().iter().map(shared).collect(),
                    nulls: a.nulls(),
                }
            }
            DataType::BinaryView => {
                let a = array.as_binary_view();
                BytesColumn::Views {
                    views: a.views(),
                    buffers: a.data_buffers().iter().map(shared).collect(),
                    nulls: a.nulls(),
                }
            }
            _ => return None,
        })
    }

    fn get(&self, row: usize) -> Option<Bytes> {
        match self {
            BytesColumn::Offsets32(column) => column.get(row),
            BytesColumn::Offsets64(column) => column.get(row),
            BytesColumn::Views {
                views,
                buffers,
                nulls,
            } => {
                if is_null(*nulls, row) {
                    return None;
                }
                // Arrow's view layout: length (bits 0..32); up to 12 bytes
                // inline after it, else a prefix, the buffer's index
                // (64..96) and the offset in it (96..128).
                let view = views[row];
                let len = (view as u32) as usize;
                if len <= 12 {
                    let inline = view.to_le_bytes();
                    return Some(Bytes::copy_from_slice(&inline[4..4 + len]));
                }
                let buffer = ((view >> 64) as u32) as usize;
                let offset = ((view >> 96) as u32) as usize;
                Some(buffers[buffer].slice(offset..offset + len))
            }
        }
    }
}

/// A `headers` column: a list of (key, value) structs.
struct HeadersColumn<'a> {
    offsets: HeaderOffsets<'a>,
    nulls: Option<&'a NullBuffer>,
    entries: &'a StructArray,
    keys: StrColumn<'a>,
    values: BytesColumn<'a>,
}

enum HeaderOffsets<'a> {
    Small(&'a [i32]),
    Large(&'a [i64]),
}

impl<'a> HeadersColumn<'a> {
    fn new(array: &'a dyn Array) -> Option<Self> {
        fn parts<O: OffsetSizeTrait>(
            list: &GenericListArray<O>,
        ) -> (&[O], Option<&NullBuffer>, &StructArray) {
            (
                list.value_offsets(),
                list.nulls(),
                list.values().as_struct(),
            )
        }
        let (offsets, nulls, entries) = match array.data_type() {
            DataType::List(_) => {
                let (offsets, nulls, entries) = parts(array.as_list::<i32>());
                (HeaderOffsets::Small(offsets), nulls, entries)
            }
            DataType::LargeList(_) => {
                let (offsets, nulls, entries) = parts(array.as_list::<i64>());
                (HeaderOffsets::Large(offsets), nulls, entries)
            }
            _ => return None,
        };
        Some(HeadersColumn {
            keys: StrColumn::new(entries.column(0).as_ref())?,
            values: BytesColumn::new(entries.column(1).as_ref())?,
            offsets,
            nulls,
            entries,
        })
    }

    fn get(&self, row: usize) -> Result<Vec<(String, Option<Bytes>)>, SinkError> {
        if is_null(self.nulls, row) {
            return Ok(Vec::new());
        }
        let range = match self.offsets {
            HeaderOffsets::Small(offsets) => offsets[row].as_usize()..offsets[row + 1].as_usize(),
            HeaderOffsets::Large(offsets) => offsets[row].as_usize()..offsets[row + 1].as_usize(),
        };
        let first = range.start;
        range
            .map(|entry| {
                let key = self
                    .entries
                    .is_valid(entry)
                    .then(|| self.keys.get(entry))
                    .flatten()
                    .ok_or(SinkError::NullHeaderKey {
                        row: row as u64,
                        header: entry - first,
                    })?;
                Ok((key.to_owned(), self.values.get(entry)))
            })
            .collect()
    }
}
