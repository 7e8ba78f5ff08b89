//! Arrow batches from rows read off the fake cluster: no copy with views,
//! copies with plain binary columns, batch limits, the schema without
//! headers.

use arrow_array::cast::AsArray;
use arrow_array::Array;
use ferrokafka::{Client, ClientConfig, ProducerConfig, ProducerRecord};
use ferrokafka_fake::FakeCluster;
use futures::TryStreamExt;

use super::*;
use crate::batch::BatchSource;
use crate::options::SourceOptions;

const LONG: &str = "a value too long to live inside an Arrow view";

/// A fake cluster whose topic `t` (one partition) holds `count` records:
/// keys `k<i>` (short), long values, every third value null.
async fn cluster_with_records(count: usize) -> FakeCluster {
    cluster_holding((0..count).map(|i| {
        let record = ProducerRecord::new("t").key(format!("k{i}"));
        if i % 3 != 0 {
            record.value(format!("{LONG} {i}"))
        } else {
            record
        }
    }))
    .await
}

/// A fake cluster whose topic `t` (one partition) holds `records`.
async fn cluster_holding(records: impl IntoIterator<Item = ProducerRecord>) -> FakeCluster {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let config = ClientConfig::builder()
        .bootstrap_servers(cluster.bootstrap())
        .build()
        .unwrap();
    let client = Client::connect(config).await.unwrap();
    let producer = client.producer(ProducerConfig::default()).await.unwrap();
    let mut deliveries = Vec::new();
    for record in records {
        deliveries.push(producer.send(record).await.unwrap());
    }
    for delivery in deliveries {
        delivery.await.unwrap();
    }
    cluster
}

async fn rows_of(cluster: &FakeCluster) -> Vec<Row> {
    let options = SourceOptions::from_pairs([
        ("kafka.bootstrap.servers", cluster.bootstrap().as_str()),
        ("subscribe", "t"),
    ]);
    let source = BatchSource::connect(options.batch().unwrap())
        .await
        .unwrap();
    source.rows().await.unwrap().try_collect().await.unwrap()
}

#[tokio::test]
async fn views_point_into_the_fetched_buffers_and_plain_columns_copy() {
    let cluster = cluster_with_records(20).await;
    let rows = rows_of(&cluster).await;
    assert_eq!(rows.len(), 20);

    let view = rows_to_batch(&rows, false, &ArrowOptions::default()).unwrap();
    let values = view.column(1).as_binary_view();
    let keys = view.column(0).as_binary_view();
    // Short keys live in their views: no data buffer at all.
    assert!(keys.data_buffers().is_empty());
    // The long values: one buffer per fetched batch, the fetched one.
    let fetched: Vec<*const u8> = {
        let mut regions: Vec<*const u8> = rows
            .iter()
            .map(|row| row.record().batch_buffer().as_ptr())
            .collect();
        regions.dedup();
        regions
    };
    let buffers: Vec<*const u8> = values.data_buffers().iter().map(|b| b.as_ptr()).collect();
    assert_eq!(
        buffers, fetched,
        "one Arrow buffer per fetched batch, not a copy"
    );
    for (i, row) in rows.iter().enumerate() {
        match row.value() {
            Some(value) => {
                assert_eq!(values.value(i), value.as_ref());
                assert_eq!(values.value(i).as_ptr(), value.as_ptr(), "row {i} copied");
            }
            None => assert!(values.is_null(i)),
        }
        assert_eq!(keys.value(i), row.key().unwrap().as_ref());
    }

    let plain = rows_to_batch(
        &rows,
        false,
        &ArrowOptions::default().with_binary(BinaryLayout::Plain),
    )
    .unwrap();
    let copied = plain.column(1).as_binary::<i32>();
    for (i, row) in rows.iter().enumerate() {
        match row.value() {
            Some(value) => {
                assert_eq!(copied.value(i), value.as_ref());
                assert_ne!(copied.value(i).as_ptr(), value.as_ptr());
            }
            None => assert!(copied.is_null(i)),
        }
    }
    assert_eq!(plain.schema().fields().len(), 7, "no headers column");
    assert_eq!(plain.schema().field(1).data_type(), &DataType::Binary);
}

#[tokio::test]
async fn batches_end_at_the_row_or_byte_limit() {
    let cluster = cluster_with_records(25).await;
    let read = |options: ArrowOptions| {
        let bootstrap = cluster.bootstrap();
        async move {
            let source_options = SourceOptions::from_pairs([
                ("kafka.bootstrap.servers", bootstrap.as_str()),
                ("subscribe", "t"),
            ]);
            let source = BatchSource::connect(source_options.batch().unwrap())
                .await
                .unwrap();
            let batches: Vec<RecordBatch> =
                RecordBatches::new(source.rows().await.unwrap(), options)
                    .try_collect()
                    .await
                    .unwrap();
            batches
                .iter()
                .map(RecordBatch::num_rows)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        read(ArrowOptions::default().with_max_rows(10)).await,
        [10, 10, 5]
    );
    assert_eq!(read(ArrowOptions::default()).await, [25]);
    // Rows of three: a null value (a 2-3 byte key), then two of about 50
    // bytes; 100 bytes end each batch at its third row.
    let options = ArrowOptions {
        max_bytes: 100,
        ..ArrowOptions::default()
    };
    assert_eq!(read(options).await, [3, 3, 3, 3, 3, 3, 3, 3, 1]);
}

#[tokio::test]
async fn an_all_null_key_column_is_a_null_column_of_the_schemas_type() {
    let cluster =
        cluster_holding((0..5).map(|i| ProducerRecord::new("t").value(format!("{LONG} {i}"))))
            .await;
    let rows = rows_of(&cluster).await;
    assert_eq!(rows.len(), 5);
    for layout in [BinaryLayout::View, BinaryLayout::Plain] {
        let options = ArrowOptions::default().with_binary(layout);
        let batch = rows_to_batch(&rows, false, &options).unwrap();
        assert_eq!(batch.schema(), kafka_schema(false, &options));
        let keys = batch.column(0);
        assert_eq!(keys.len(), 5);
        assert_eq!(keys.null_count(), 5, "{layout:?}: every key is null");
        assert_eq!(batch.column(1).null_count(), 0);
    }
}
