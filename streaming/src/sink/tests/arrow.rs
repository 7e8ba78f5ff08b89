//! Arrow record batches as input: every accepted layout, Spark's errors
//! before anything is sent, null header keys.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BinaryViewBuilder, LargeBinaryBuilder, ListBuilder, StringBuilder, StructBuilder,
};
use arrow_array::{
    ArrayRef, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use arrow_schema::{DataType, Field, Fields, TimeUnit};
use ferrokafka_fake::FakeCluster;

use super::{read_back, settings};
use crate::sink::{check_arrow_schema, KafkaSink, SinkError};

fn batch(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    RecordBatch::try_from_iter(columns).unwrap()
}

fn header_fields(value: DataType) -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, true),
        Field::new("value", value, true),
    ])
}

/// One row's headers: `None` for a null list, else (key, value) pairs
/// where either may be null.
type HeaderCell<'a> = Option<Vec<(Option<&'a str>, Option<&'a [u8]>)>>;

/// A `headers` column: per row, `None` (null list) or the headers.
fn headers(rows: &[HeaderCell<'_>]) -> ArrayRef {
    let entries = StructBuilder::new(
        header_fields(DataType::Binary),
        vec![
            Box::new(StringBuilder::new()),
            Box::new(BinaryBuilder::new()),
        ],
    );
    let mut list = ListBuilder::new(entries).with_field(Arc::new(Field::new(
        "element",
        DataType::Struct(header_fields(DataType::Binary)),
        true,
    )));
    for row in rows {
        match row {
            None => list.append_null(),
            Some(headers) => {
                for (key, value) in headers {
                    let entry = list.values();
                    entry
                        .field_builder::<StringBuilder>(0)
                        .unwrap()
                        .append_option(*key);
                    entry
                        .field_builder::<BinaryBuilder>(1)
                        .unwrap()
                        .append_option(*value);
                    entry.append(true);
                }
                list.append(true);
            }
        }
    }
    Arc::new(list.finish())
}

#[tokio::test]
async fn every_accepted_layout_writes_its_bytes() {
    let cluster = FakeCluster::builder()
        .topic("a", 2)
        .topic("b", 1)
        .build()
        .unwrap();
    let bootstrap = cluster.bootstrap();
    let long = "a value longer than twelve bytes";
    let mut view_keys = BinaryViewBuilder::new();
    view_keys.append_value(b"short");
    view_keys.append_null();
    view_keys.append_value(long.as_bytes());
    let mut large_values = LargeBinaryBuilder::new();
    large_values.append_value(b"v0");
    large_values.append_value(long.as_bytes());
    large_values.append_null();
    let input = batch(vec![
        (
            "offset",
            Arc::new(Int64Array::from(vec![9, 9, 9])) as ArrayRef,
        ),
        ("key", Arc::new(view_keys.finish())),
        ("value", Arc::new(large_values.finish())),
        (
            "topic",
            Arc::new(StringViewArray::from(vec!["a", "a", "b"])),
        ),
        (
            "partition",
            Arc::new(Int32Array::from(vec![Some(1), Some(0), None])),
        ),
        (
            "headers",
            headers(&[
                Some(vec![
                    (Some("h"), Some(b"1")),
                    (Some("h"), None),
                    (Some("k"), Some(b"")),
                ]),
                None,
                Some(vec![]),
            ]),
        ),
    ]);
    let sink = KafkaSink::new(settings(&bootstrap, &[]));
    assert_eq!(sink.write_record_batch(&input).await.unwrap().rows, 3);
    let a = read_back(&bootstrap, "a").await;
    assert_eq!(a.len(), 2);
    let (first, second) = (&a[1], &a[0]);
    assert_eq!((first.partition(), second.partition()), (1, 0));
    assert_eq!(first.key().unwrap().as_ref(), b"short");
    assert_eq!(first.value().unwrap().as_ref(), b"v0");
    let headers: Vec<(&[u8], Option<&[u8]>)> = first
        .headers()
        .unwrap()
        .iter()
        .map(|h| (h.key.as_ref(), h.value.as_deref()))
        .collect();
    assert_eq!(
        headers,
        [
            (&b"h"[..], Some(&b"1"[..])),
            (&b"h"[..], None),
            (&b"k"[..], Some(&b""[..]))
        ]
    );
    assert_eq!(second.key(), None);
    assert_eq!(second.value().unwrap().as_ref(), long.as_bytes());
    assert_eq!(second.headers(), None);
    let b = read_back(&bootstrap, "b").await;
    assert_eq!(b[0].key().unwrap().as_ref(), long.as_bytes());
    assert_eq!(b[0].value(), None);
    assert_eq!(b[0].headers(), None);

    // The topic option overrides a topic column; string keys and values,
    // sliced arrays.
    let input = batch(vec![
        (
            "value",
            Arc::new(LargeStringArray::from(vec!["x", "y", "z"])) as ArrayRef,
        ),
        ("key", Arc::new(StringArray::from(vec!["kx", "ky", "kz"]))),
        ("topic", Arc::new(StringArray::from(vec!["a", "a", "a"]))),
    ])
    .slice(1, 2);
    KafkaSink::new(settings(&bootstrap, &[("topic", "b")]))
        .write_record_batch(&input)
        .await
        .unwrap();
    let b = read_back(&bootstrap, "b").await;
    let written: Vec<(&[u8], &[u8])> = b[1..]
        .iter()
        .map(|row| (row.key().unwrap().as_ref(), row.value().unwrap().as_ref()))
        .collect();
    assert_eq!(written, [(&b"ky"[..], &b"y"[..]), (&b"kz"[..], &b"z"[..])]);
}

#[tokio::test]
async fn wrong_columns_fail_before_anything_is_sent() {
    // Nothing listens there: a write that got as far as sending would fail
    // to connect instead.
    let sink = KafkaSink::new(settings("127.0.0.1:1", &[]));
    let cases: Vec<(RecordBatch, &str)> = vec![
        (
            batch(vec![(
                "value",
                Arc::new(StringArray::from(vec!["v"])) as ArrayRef,
            )]),
            "topic option required when no 'topic' attribute is present. Use the topic option \
             for setting a topic.",
        ),
        (
            batch(vec![(
                "topic",
                Arc::new(StringArray::from(vec!["t"])) as ArrayRef,
            )]),
            "Required attribute 'value' not found",
        ),
        (
            batch(vec![
                ("topic", Arc::new(StringArray::from(vec!["t"])) as ArrayRef),
                ("value", Arc::new(Int64Array::from(vec![1]))),
            ]),
            "value attribute unsupported type bigint. value must be a(n) string or binary",
        ),
        (
            batch(vec![
                ("topic", Arc::new(Int32Array::from(vec![1])) as ArrayRef),
                ("value", Arc::new(StringArray::from(vec!["v"]))),
            ]),
            "topic attribute unsupported type int. topic must be a(n) string",
        ),
        (
            batch(vec![
                ("topic", Arc::new(StringArray::from(vec!["t"])) as ArrayRef),
                ("value", Arc::new(StringArray::from(vec!["v"]))),
                ("partition", Arc::new(Int64Array::from(vec![0]))),
            ]),
            "partition attribute unsupported type bigint. partition must be a(n) int",
        ),
    ];
    for (input, expected) in cases {
        let err = sink.write_record_batch(&input).await.unwrap_err();
        assert!(matches!(err, SinkError::Schema(_)), "{err:?}");
        assert_eq!(err.to_string(), expected);
    }
}

#[test]
fn arrow_types_are_named_as_spark_names_them() {
    let schema = |field: Field| {
        arrow_schema::Schema::new(vec![Field::new("value", DataType::Utf8, true), field])
    };
    let cases = [
        (DataType::Int64, "bigint"),
        (DataType::Int16, "smallint"),
        (DataType::Float64, "double"),
        (DataType::Boolean, "boolean"),
        (
            DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
            "timestamp",
        ),
        (DataType::Decimal128(10, 2), "decimal(10,2)"),
        (
            DataType::List(Arc::new(Field::new(
                "element",
                DataType::Struct(header_fields(DataType::Utf8)),
                true,
            ))),
            "array<struct<key:string,value:string>>",
        ),
        (
            DataType::UInt32,
            "UInt32 (an Arrow type Spark does not have)",
        ),
    ];
    for (data_type, name) in cases {
        let err = check_arrow_schema(&schema(Field::new("headers", data_type, true)), Some("t"))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "headers attribute unsupported type {name}. headers must be a(n) \
                 array<struct<key:string,value:binary>>"
            )
        );
    }
    // Header field names match in any case; view and large types count.
    let headers = DataType::LargeList(Arc::new(Field::new(
        "item",
        DataType::Struct(Fields::from(vec![
            Field::new("KEY", DataType::Utf8View, false),
            Field::new("Value", DataType::BinaryView, true),
        ])),
        true,
    )));
    let columns =
        check_arrow_schema(&schema(Field::new("headers", headers, true)), Some("t")).unwrap();
    assert_eq!(columns.headers, Some(1));
}

#[tokio::test]
async fn a_null_header_key_fails_the_write_at_its_row() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let bootstrap = cluster.bootstrap();
    let input = batch(vec![
        (
            "value",
            Arc::new(StringArray::from(vec!["ok", "bad"])) as ArrayRef,
        ),
        (
            "headers",
            headers(&[
                Some(vec![(Some("h"), Some(b"1"))]),
                Some(vec![(Some("h"), Some(b"1")), (None, Some(b"2"))]),
            ]),
        ),
    ]);
    let err = KafkaSink::new(settings(&bootstrap, &[("topic", "t")]))
        .write_record_batch(&input)
        .await
        .unwrap_err();
    assert!(
        matches!(err, SinkError::NullHeaderKey { row: 1, header: 1 }),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "header 1 of row 1 is null or has a null key; Kafka header keys cannot be null: give \
         each header a key or leave it out"
    );
    let written = read_back(&bootstrap, "t").await;
    assert_eq!(written.len(), 1, "the row before it is written");
}
