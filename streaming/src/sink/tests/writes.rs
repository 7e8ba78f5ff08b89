//! Writes against the in-process fake cluster: topics from the option or
//! the column, the first failure and what was written before it, the
//! shared producers, idempotence, micro-batches of a read.

use std::convert::Infallible;

use bytes::Bytes;
use ferrokafka_fake::FakeCluster;
use futures::stream;

use super::{read_back, settings};
use crate::sink::{KafkaSink, ProducerCache, ProducerCacheConfig, SinkError, SinkRow};
use crate::Row;

fn cluster(topics: &[(&str, i32)]) -> FakeCluster {
    let mut builder = FakeCluster::builder();
    for (topic, partitions) in topics {
        builder = builder.topic(*topic, *partitions);
    }
    builder.build().unwrap()
}

fn sink(bootstrap: &str, extra: &[(&str, &str)]) -> KafkaSink {
    KafkaSink::with_cache(
        settings(bootstrap, extra),
        ProducerCache::new(ProducerCacheConfig::default()),
    )
}

fn values(rows: &[Row]) -> Vec<&[u8]> {
    rows.iter()
        .map(|row| row.value().map_or(&b"<null>"[..], |v| v.as_ref()))
        .collect()
}

#[tokio::test]
async fn rows_go_to_their_topic_column_unless_the_option_overrides_it() {
    let cluster = cluster(&[("a", 1), ("b", 1), ("forced", 1)]);
    let bootstrap = cluster.bootstrap();
    let rows = || {
        [
            SinkRow::new().topic("a").value("1"),
            SinkRow::new().topic("b").value("2"),
            SinkRow::new().topic("a").value("3"),
        ]
    };
    let written = sink(&bootstrap, &[]).write(rows()).await.unwrap();
    assert_eq!(written.rows, 3);
    assert_eq!(values(&read_back(&bootstrap, "a").await), [b"1", b"3"]);
    assert_eq!(values(&read_back(&bootstrap, "b").await), [b"2"]);
    sink(&bootstrap, &[("topic", "forced")])
        .write(rows())
        .await
        .unwrap();
    assert_eq!(
        values(&read_back(&bootstrap, "forced").await),
        [b"1", b"2", b"3"]
    );
    assert_eq!(read_back(&bootstrap, "a").await.len(), 2);
}

#[tokio::test]
async fn a_null_topic_fails_the_write_after_the_rows_before_it() {
    let cluster = cluster(&[("t", 1)]);
    let bootstrap = cluster.bootstrap();
    let rows = [
        SinkRow::new().topic("t").value("before"),
        SinkRow::new().value("no topic"),
        SinkRow::new().topic("t").value("after"),
    ];
    let err = sink(&bootstrap, &[]).write(rows).await.unwrap_err();
    assert!(matches!(err, SinkError::NullTopic { row: 1 }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "The Kafka message data sent to the producer contains a null topic. Use the `topic` \
         option for setting a default topic."
    );
    assert_eq!(values(&read_back(&bootstrap, "t").await), [b"before"]);
}

#[tokio::test]
async fn a_partition_the_topic_lacks_fails_the_write_naming_it() {
    let cluster = cluster(&[("t", 2)]);
    let bootstrap = cluster.bootstrap();
    let sink = sink(&bootstrap, &[("topic", "t")]);
    let rows = [
        SinkRow::new().value("fine").partition(1),
        SinkRow::new().value("nowhere").partition(7),
        SinkRow::new().value("never sent").partition(0),
    ];
    let err = sink.write(rows).await.unwrap_err();
    let SinkError::Send {
        row, acknowledged, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(*row, 1);
    assert!(*acknowledged <= 1);
    let text = err.to_string();
    assert!(
        text.starts_with("writing row 1 to Kafka failed: t-7: unknown topic or partition")
            && text.contains("the topic has 2 partitions")
            && text.contains("the sink is at-least-once, so writing the rows again re-sends them"),
        "{text}"
    );
    assert_eq!(values(&read_back(&bootstrap, "t").await), [b"fine"]);
    // The failed producer is not handed out again.
    assert_eq!(sink.cache().len(), 0);
    sink.write([SinkRow::new().value("again").partition(0)])
        .await
        .unwrap();
    assert_eq!(sink.cache().len(), 1);
}

#[tokio::test]
async fn an_input_error_stops_the_write_after_the_rows_before_it() {
    let cluster = cluster(&[("t", 1)]);
    let bootstrap = cluster.bootstrap();
    let rows = stream::iter([
        Ok(SinkRow::new().value("1")),
        Ok(SinkRow::new().value("2")),
        Err(std::io::Error::other("the input broke")),
        Ok(SinkRow::new().value("3")),
    ]);
    let err = sink(&bootstrap, &[("topic", "t")])
        .write_stream(rows)
        .await
        .unwrap_err();
    assert!(matches!(err, SinkError::Input { rows: 2, .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "the rows to write failed after 2 rows: the input broke"
    );
    assert_eq!(values(&read_back(&bootstrap, "t").await), [b"1", b"2"]);
}

#[tokio::test]
async fn an_empty_write_needs_no_cluster() {
    // Nothing listens there: a write with rows would fail to connect.
    let sink = sink("127.0.0.1:1", &[("topic", "t")]);
    let written = sink.write(Vec::<SinkRow>::new()).await.unwrap();
    assert_eq!(written.rows, 0);
    assert!(sink.cache().is_empty());
}

#[tokio::test]
async fn sinks_with_the_same_properties_share_one_producer() {
    let cluster = cluster(&[("t", 1)]);
    let bootstrap = cluster.bootstrap();
    let cache = ProducerCache::new(ProducerCacheConfig::default());
    let same = [("kafka.linger.ms", "1")];
    let first = KafkaSink::with_cache(settings(&bootstrap, &same), cache.clone());
    let second = KafkaSink::with_cache(
        settings(&bootstrap, &[("kafka.linger.ms", "1"), ("topic", "t")]),
        cache.clone(),
    );
    let other = KafkaSink::with_cache(
        settings(&bootstrap, &[("kafka.linger.ms", "2")]),
        cache.clone(),
    );
    let row = || [SinkRow::new().topic("t").value("v")];
    first.write(row()).await.unwrap();
    second.write(row()).await.unwrap();
    assert_eq!(
        cache.len(),
        1,
        "the topic option is not a producer property"
    );
    other.write(row()).await.unwrap();
    assert_eq!(cache.len(), 2);
    let a = cache.acquire(first.settings()).await.unwrap();
    let b = cache.acquire(second.settings()).await.unwrap();
    let c = cache.acquire(other.settings()).await.unwrap();
    assert!(a.same_producer(&b));
    assert!(!a.same_producer(&c));
}

#[tokio::test]
async fn a_cache_connects_its_producers_through_the_connect_it_was_given() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    use futures::FutureExt;

    let cluster = cluster(&[("t", 1)]);
    let bootstrap = cluster.bootstrap();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let cache = ProducerCache::with_connect(
        ProducerCacheConfig::default(),
        Arc::new(move |config| {
            counted.fetch_add(1, Ordering::SeqCst);
            ferrokafka::Client::connect(config).boxed()
        }),
    );
    let sink = KafkaSink::with_cache(settings(&bootstrap, &[("topic", "t")]), cache.clone());
    sink.write([SinkRow::new().value("a")]).await.unwrap();
    sink.write([SinkRow::new().value("b")]).await.unwrap();
    assert_eq!(
        calls.load(Ordering::SeqCst),
        1,
        "one producer, connected once"
    );
    assert_eq!(read_back(&bootstrap, "t").await.len(), 2);

    // A connect that fails fails the write, saying the producer could not start.
    let refusing = ProducerCache::with_connect(
        ProducerCacheConfig::default(),
        Arc::new(|_config| {
            async {
                Err(ferrokafka::Error::new(
                    ferrokafka::ErrorKind::InvalidArgument("no route from here".into()),
                ))
            }
            .boxed()
        }),
    );
    let sink = KafkaSink::with_cache(settings(&bootstrap, &[("topic", "t")]), refusing);
    let error = sink.write([SinkRow::new().value("c")]).await.unwrap_err();
    assert!(matches!(error, SinkError::Producer(_)), "{error:?}");
    assert!(error.to_string().contains("no route from here"), "{error}");
}

#[tokio::test]
async fn the_producer_is_idempotent_unless_turned_off() {
    let cluster = cluster(&[("t", 1)]);
    let bootstrap = cluster.bootstrap();
    let cache = ProducerCache::new(ProducerCacheConfig::default());
    let idempotent = cache.acquire(&settings(&bootstrap, &[])).await.unwrap();
    assert!(idempotent.producer_id().is_some());
    let plain = cache
        .acquire(&settings(
            &bootstrap,
            &[("kafka.enable.idempotence", "false")],
        ))
        .await
        .unwrap();
    assert!(plain.producer_id().is_none());
}

#[tokio::test]
async fn a_cluster_that_does_not_answer_fails_the_write_saying_so() {
    let sink = sink(
        "127.0.0.1:1",
        &[("topic", "t"), ("kafka.bootstrap.timeout.ms", "200")],
    );
    let err = sink.write([SinkRow::new().value("v")]).await.unwrap_err();
    assert!(matches!(err, SinkError::Producer(_)), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("the Kafka producer could not be started: "),
        "{err}"
    );
}

#[tokio::test]
async fn a_micro_batch_of_a_read_is_written_column_for_column() {
    let cluster = cluster(&[("input", 2), ("output", 2)]);
    let bootstrap = cluster.bootstrap();
    let input = [
        SinkRow::new()
            .topic("input")
            .key("k1")
            .value("v1")
            .partition(0)
            .header("h", Some("x"))
            .header("h", None::<Bytes>),
        SinkRow::new().topic("input").value("v2").partition(1),
        SinkRow::new().topic("input").key("k3").partition(1),
    ];
    sink(&bootstrap, &[]).write(input).await.unwrap();
    let read = read_back(&bootstrap, "input").await;
    let copy = sink(&bootstrap, &[("topic", "output")]);
    let written = copy
        .write_micro_batch(
            7,
            stream::iter(read.clone().into_iter().map(Ok::<_, Infallible>)),
        )
        .await
        .unwrap();
    assert_eq!(written.rows, 3);
    let copied = read_back(&bootstrap, "output").await;
    let shape = |rows: &[Row]| -> Vec<_> {
        rows.iter()
            .map(|row| {
                (
                    row.partition(),
                    row.key().cloned(),
                    row.value().cloned(),
                    row.headers().map(<[_]>::to_vec),
                )
            })
            .collect()
    };
    assert_eq!(shape(&copied), shape(&read));
}
