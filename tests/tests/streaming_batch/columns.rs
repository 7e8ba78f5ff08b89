//! Arrow record batches against the rows of the same ranges, and the
//! schema column for column.

use bytes::Bytes;
use ferrokafka::{ProducerConfig, ProducerRecord};
use ferrokafka_streaming::arrow::arrow_array::cast::AsArray;
use ferrokafka_streaming::arrow::arrow_array::types::{
    Int32Type, Int64Type, TimestampMicrosecondType,
};
use ferrokafka_streaming::arrow::arrow_array::{Array, RecordBatch};
use ferrokafka_streaming::arrow::arrow_schema::{DataType, TimeUnit};
use ferrokafka_streaming::arrow::{ArrowOptions, BinaryLayout, RecordBatches};
use ferrokafka_streaming::Row;
use futures::TryStreamExt;

use super::support::*;

pub(crate) async fn arrow_batches_hold_the_rows(bootstrap: String) {
    let admin = client(&bootstrap).await;
    create(&admin, "columns", 2).await;
    let producer = admin.producer(ProducerConfig::default()).await.unwrap();
    let mut deliveries = Vec::new();
    for i in 0..60i64 {
        let partition = (i % 2) as i32;
        // Short values (inlined in Arrow views), long ones (pointing into
        // the fetched buffers), null keys, tombstones, headers.
        let mut record = ProducerRecord::new("columns")
            .partition(partition)
            .timestamp(timestamp_of(partition, i / 2));
        if i % 3 != 0 {
            record = record.key(format!("key-{i}"));
        }
        if i % 7 != 0 {
            record = record.value(if i % 2 == 0 {
                format!("v{i}")
            } else {
                format!("a value long enough not to be inlined, number {i}")
            });
        }
        if i % 4 == 0 {
            record = record
                .header("n", Some(i.to_string()))
                .header("e", None::<Bytes>);
        }
        deliveries.push(producer.send(record).await.unwrap());
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    let pairs = [
        ("subscribe", "columns"),
        ("includeHeaders", "true"),
        ("minPartitions", "4"),
        ("endingOffsets", r#"{"columns":{"0":30,"1":30}}"#),
    ];
    let source = open_source(&bootstrap, &pairs).await;
    let (plan, rows) = plan_and_read(&source).await;
    assert_eq!(plan.tasks.len(), 4);
    let mut from_rows: Vec<Flat> = rows.iter().map(Flat::of_row).collect();
    from_rows.sort();
    assert_eq!(from_rows.len(), 60);
    for layout in [BinaryLayout::View, BinaryLayout::Plain] {
        let options = ArrowOptions::default().with_max_rows(7).with_binary(layout);
        let batches: Vec<RecordBatch> = RecordBatches::new(source.read(&plan), options)
            .try_collect()
            .await
            .unwrap();
        assert!(batches.len() >= 9, "{} batches", batches.len());
        assert!(batches.iter().all(|b| b.num_rows() <= 7));
        check_schema(&batches[0], layout);
        let mut from_arrow: Vec<Flat> = batches.iter().flat_map(Flat::of_batch).collect();
        from_arrow.sort();
        assert_eq!(from_arrow, from_rows, "{layout:?}");
    }
}

/// §5, column for column, as Spark's Arrow conversion has it.
fn check_schema(batch: &RecordBatch, layout: BinaryLayout) {
    let binary = match layout {
        BinaryLayout::View => DataType::BinaryView,
        _ => DataType::Binary,
    };
    let schema = batch.schema();
    let columns: Vec<(&str, &DataType, bool)> = schema
        .fields()
        .iter()
        .map(|f| (f.name().as_str(), f.data_type(), f.is_nullable()))
        .collect();
    let DataType::List(item) = columns[7].1 else {
        panic!("headers is a list: {columns:?}");
    };
    assert_eq!(item.name(), "element");
    let DataType::Struct(entry) = item.data_type() else {
        panic!("headers holds structs: {item:?}");
    };
    let entry: Vec<(&str, &DataType)> = entry
        .iter()
        .map(|f| (f.name().as_str(), f.data_type()))
        .collect();
    assert_eq!(
        entry,
        [("key", &DataType::Utf8), ("value", &DataType::Binary)]
    );
    assert_eq!(
        columns[..7],
        [
            ("key", &binary, true),
            ("value", &binary, true),
            ("topic", &DataType::Utf8, true),
            ("partition", &DataType::Int32, true),
            ("offset", &DataType::Int64, true),
            (
                "timestamp",
                &DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true
            ),
            ("timestampType", &DataType::Int32, true),
        ]
    );
    assert_eq!(columns[7].0, "headers");
}

type FlatHeaders = Option<Vec<(String, Option<Vec<u8>>)>>;

/// One row as plain values, from either API.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Flat {
    topic: String,
    partition: i32,
    offset: i64,
    key: Option<Vec<u8>>,
    value: Option<Vec<u8>>,
    timestamp: i64,
    timestamp_type: i32,
    headers: FlatHeaders,
}

impl Flat {
    fn of_row(row: &Row) -> Flat {
        Flat {
            topic: row.topic().to_owned(),
            partition: row.partition(),
            offset: row.offset(),
            key: row.key().map(|b| b.to_vec()),
            value: row.value().map(|b| b.to_vec()),
            timestamp: row.timestamp_micros(),
            timestamp_type: row.timestamp_type_code(),
            headers: row.headers().map(|headers| {
                headers
                    .iter()
                    .map(|h| {
                        (
                            h.key_str().unwrap().to_owned(),
                            h.value.as_ref().map(|v| v.to_vec()),
                        )
                    })
                    .collect()
            }),
        }
    }

    fn of_batch(batch: &RecordBatch) -> Vec<Flat> {
        let binary = |column: usize, row: usize| -> Option<Vec<u8>> {
            let array = batch.column(column);
            if array.is_null(row) {
                return None;
            }
            Some(match array.data_type() {
                DataType::BinaryView => array.as_binary_view().value(row).to_vec(),
                _ => array.as_binary::<i32>().value(row).to_vec(),
            })
        };
        let topics = batch.column(2).as_string::<i32>();
        let partitions = batch.column(3).as_primitive::<Int32Type>();
        let offsets = batch.column(4).as_primitive::<Int64Type>();
        let timestamps = batch.column(5).as_primitive::<TimestampMicrosecondType>();
        let types = batch.column(6).as_primitive::<Int32Type>();
        let headers = batch.column(7).as_list::<i32>();
        (0..batch.num_rows())
            .map(|i| Flat {
                topic: topics.value(i).to_owned(),
                partition: partitions.value(i),
                offset: offsets.value(i),
                key: binary(0, i),
                value: binary(1, i),
                timestamp: timestamps.value(i),
                timestamp_type: types.value(i),
                headers: (!headers.is_null(i)).then(|| {
                    let entries = headers.value(i);
                    let entries = entries.as_struct();
                    let keys = entries.column(0).as_string::<i32>();
                    let values = entries.column(1).as_binary::<i32>();
                    (0..entries.len())
                        .map(|j| {
                            (
                                keys.value(j).to_owned(),
                                (!values.is_null(j)).then(|| values.value(j).to_vec()),
                            )
                        })
                        .collect()
                }),
            })
            .collect()
    }
}
