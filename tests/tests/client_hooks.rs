//! Hooks against the fake cluster: what the hooks count (requests and
//! bytes per API, connections, produced and fetched records and bytes)
//! equals what the cluster received and holds.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::BytesMut;
use ferrokafka::hooks::{
    BatchProduced, BrokerConnected, BrokerDisconnected, FetchApplied, Hooks, MetricsHooks,
    RequestWritten, ResponseRead,
};
use ferrokafka::producer::{ProducerConfig, ProducerRecord};
use ferrokafka::{Client, ClientConfig, ReadRange};
use ferrokafka_fake::FakeCluster;
use ferrokafka_protocol::header::RequestHeader;
use futures::StreamExt;

#[derive(Default, Debug)]
struct Counts {
    connects: usize,
    disconnects: usize,
    /// API name → (requests, request bytes, answers, answer bytes).
    apis: BTreeMap<&'static str, (usize, usize, usize, usize)>,
    produced_records: usize,
    produced_bytes: usize,
    produced_batches: usize,
    fetched_records: u64,
    fetched_bytes: usize,
    last_high_watermark: BTreeMap<i32, i64>,
}

#[derive(Default)]
struct Counter(Mutex<Counts>);

impl Counter {
    fn with(&self, f: impl FnOnce(&mut Counts)) {
        f(&mut self.0.lock().unwrap());
    }
}

impl Hooks for Counter {
    fn on_broker_connect(&self, _: &BrokerConnected<'_>) {
        self.with(|c| c.connects += 1);
    }
    fn on_broker_disconnect(&self, _: &BrokerDisconnected<'_>) {
        self.with(|c| c.disconnects += 1);
    }
    fn on_request_written(&self, e: &RequestWritten<'_>) {
        self.with(|c| {
            let entry = c.apis.entry(e.api.name()).or_default();
            entry.0 += 1;
            entry.1 += e.bytes;
        });
    }
    fn on_response_read(&self, e: &ResponseRead<'_>) {
        self.with(|c| {
            let entry = c.apis.entry(e.api.name()).or_default();
            entry.2 += 1;
            entry.3 += e.bytes;
        });
    }
    fn on_batch_produced(&self, e: &BatchProduced<'_>) {
        self.with(|c| {
            c.produced_batches += 1;
            c.produced_records += e.records;
            c.produced_bytes += e.bytes;
        });
    }
    fn on_fetch_applied(&self, e: &FetchApplied<'_>) {
        self.with(|c| {
            c.fetched_records += e.records;
            c.fetched_bytes += e.bytes;
            c.last_high_watermark
                .insert(e.partition.partition, e.high_watermark);
        });
    }
}

/// The size on the wire of a request the cluster recorded: length prefix,
/// header and body, encoded again.
fn wire_size(r: &ferrokafka_fake::RecordedRequest) -> usize {
    let mut out = BytesMut::new();
    RequestHeader {
        api_key: r.api_key,
        api_version: r.api_version,
        correlation_id: r.correlation_id,
        client_id: r.client_id.as_deref(),
    }
    .encode(&mut out);
    r.request.encode(&mut out, r.api_version).unwrap();
    4 + out.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hook_counts_equal_what_the_cluster_received() {
    let cluster = FakeCluster::builder()
        .brokers(2)
        .topic("hooked", 3)
        .build()
        .unwrap();
    let counter = Arc::new(Counter::default());
    let config = ClientConfig::builder()
        .bootstrap_servers(cluster.bootstrap())
        .fetch_max_wait(Duration::from_millis(50))
        .hook(counter.clone())
        .build()
        .unwrap();
    let client = Client::connect(config).await.unwrap();

    let producer = client
        .producer(ProducerConfig::default().with("linger.ms", "2").unwrap())
        .await
        .unwrap();
    let mut deliveries = Vec::new();
    for i in 0..600 {
        let record = ProducerRecord::new("hooked")
            .key(format!("key-{i}"))
            .value(format!("value-{i}"));
        deliveries.push(producer.send(record).await.unwrap());
    }
    for d in deliveries {
        d.await.unwrap();
    }
    producer.close(Duration::from_secs(10)).await.unwrap();

    // Read everything back.
    let ends: Vec<i64> = (0..3)
        .map(|p| cluster.partition_state("hooked", p).unwrap().high_watermark)
        .collect();
    assert_eq!(ends.iter().sum::<i64>(), 600);
    let ranges = (0..3)
        .map(|p| ReadRange::new("hooked", p, 0..ends[p as usize]))
        .collect();
    let mut stream = client.read(ranges);
    let mut read = 0;
    while let Some(r) = stream.next().await {
        r.unwrap();
        read += 1;
    }
    assert_eq!(read, 600);
    drop(stream);
    client.close().await;

    let counts = counter.0.lock().unwrap();
    let requests = cluster.requests();
    // Per API: as many requests and answers as the cluster received, and
    // the bytes it received.
    let mut received: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for r in &requests {
        let entry = received.entry(format!("{:?}", r.api_key)).or_default();
        entry.0 += 1;
        entry.1 += wire_size(r);
    }
    let hooked: BTreeMap<String, (usize, usize)> = counts
        .apis
        .iter()
        .map(|(api, (n, bytes, _, _))| ((*api).to_owned(), (*n, *bytes)))
        .collect();
    assert_eq!(hooked, received, "requests and bytes per API");
    for (api, (sent, _, answered, answer_bytes)) in &counts.apis {
        assert_eq!(sent, answered, "{api}: every request was answered");
        assert!(*answer_bytes > 8 * answered, "{api}: answers have bodies");
    }
    for api in [
        "ApiVersions",
        "Metadata",
        "InitProducerId",
        "Produce",
        "Fetch",
    ] {
        assert!(counts.apis.contains_key(api), "{api} in {:?}", counts.apis);
    }
    // Connections: one connect per connection the cluster saw, and every
    // one closed by `close`.
    let connections: std::collections::BTreeSet<u64> =
        requests.iter().map(|r| r.connection).collect();
    assert_eq!(counts.connects, connections.len());
    assert!(counts.connects >= 2, "both brokers lead partitions");
    assert_eq!(counts.disconnects, counts.connects);
    // Produced: the batches the cluster holds.
    let mut batches = 0;
    let mut batch_bytes = 0;
    let mut records = 0;
    for p in 0..3 {
        for b in cluster.batches("hooked", p).unwrap() {
            batches += 1;
            batch_bytes += b.size_in_bytes();
            records += b.record_count() as usize;
        }
    }
    assert_eq!(records, 600);
    assert_eq!(counts.produced_records, 600);
    assert_eq!(counts.produced_batches, batches);
    assert_eq!(counts.produced_bytes, batch_bytes);
    // Fetched: each batch once, whole.
    assert_eq!(counts.fetched_records, 600);
    assert_eq!(counts.fetched_bytes, batch_bytes);
    for p in 0..3 {
        assert_eq!(counts.last_high_watermark[&p], ends[p as usize]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_hooks_feed_the_metrics_facade() {
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder
        .install()
        .expect("the only recorder of this test binary");

    let cluster = FakeCluster::builder().topic("m", 1).build().unwrap();
    let config = ClientConfig::builder()
        .bootstrap_servers(cluster.bootstrap())
        .fetch_max_wait(Duration::from_millis(50))
        .hook(Arc::new(MetricsHooks::new()))
        .build()
        .unwrap();
    let client = Client::connect(config).await.unwrap();
    let producer = client.producer(ProducerConfig::default()).await.unwrap();
    for i in 0..10 {
        producer
            .send(ProducerRecord::new("m").value(format!("v{i}")))
            .await
            .unwrap()
            .await
            .unwrap();
    }
    producer.close(Duration::from_secs(10)).await.unwrap();
    let mut stream = client.read(vec![ReadRange::new("m", 0, 0..10)]);
    while let Some(r) = stream.next().await {
        r.unwrap();
    }
    drop(stream);
    client.close().await;

    let mut counters: BTreeMap<String, u64> = BTreeMap::new();
    let mut gauges: BTreeMap<String, f64> = BTreeMap::new();
    let mut histograms: BTreeMap<String, usize> = BTreeMap::new();
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        let labels: Vec<String> = key
            .key()
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        let name = format!("{}{{{}}}", key.key().name(), labels.join(","));
        match value {
            DebugValue::Counter(n) => *counters.entry(name).or_default() += n,
            DebugValue::Gauge(g) => {
                gauges.insert(name, g.into_inner());
            }
            DebugValue::Histogram(h) => *histograms.entry(name).or_default() += h.len(),
        }
    }
    assert_eq!(
        counters.get("kafka_client_produced_records_total{topic=m}"),
        Some(&10),
        "{counters:#?}"
    );
    assert_eq!(
        counters.get("kafka_client_fetched_records_total{topic=m}"),
        Some(&10)
    );
    assert_eq!(
        gauges.get("kafka_client_high_watermark{topic=m,partition=0}"),
        Some(&10.0)
    );
    assert_eq!(
        gauges.get("kafka_client_fetch_lag{topic=m,partition=0}"),
        Some(&0.0)
    );
    let produce_requests = counters
        .iter()
        .filter(|(k, _)| k.starts_with("kafka_client_requests_total") && k.contains("api=Produce"))
        .map(|(_, n)| *n)
        .sum::<u64>();
    assert_eq!(produce_requests, 10, "one request per awaited send");
    let produce_latencies = histograms
        .iter()
        .filter(|(k, _)| {
            k.starts_with("kafka_client_request_latency_seconds") && k.contains("api=Produce")
        })
        .map(|(_, n)| *n)
        .sum::<usize>();
    assert_eq!(produce_latencies, 10);
    assert_eq!(
        counters.get("kafka_client_connects_total{broker=bootstrap}"),
        Some(&1),
        "{counters:#?}"
    );
}
