//! The chaos proxy: reading from the real broker (Nisshi) while the proxy
//! cuts the connection mid-frame twenty times and changes latency and
//! bandwidth on the fly, with every record read exactly once, in order;
//! and the blackhole and cut-all switches.

use std::io::{ErrorKind, Read, Write};
use std::time::Duration;

use ferrokafka_fake::{ChaosProxy, FakeCluster};
use ferrokafka_protocol::compression::Compression;
use ferrokafka_tests::backend::*;
use ferrokafka_tests::wire::{WireClient, WireError};
use ferrokafka_tests::Nisshi;

// Many small batches and small fetches: the log takes dozens of round
// trips, so twenty cuts fall in the middle of the read.
const BATCHES: usize = 300;
const PER_BATCH: usize = 5;
const CUTS: u64 = 20;

fn value(offset: usize) -> String {
    format!("record-{offset:05}-{}", "x".repeat(offset % 50))
}

#[test]
fn every_record_is_read_once_in_order_through_twenty_mid_frame_cuts() {
    let broker = Nisshi::start();
    let mut producer = connect(broker.addr()).unwrap();
    create_topic(&mut producer, "cuts", 1);
    let codecs = [Compression::None, Compression::Lz4, Compression::Zstd];
    for b in 0..BATCHES {
        let records: Vec<Rec> = (0..PER_BATCH)
            .map(|i| Rec::value(1_700_000_000_000, value(b * PER_BATCH + i)))
            .collect();
        let answer = produce(
            &mut producer,
            "cuts",
            0,
            plain_batch(codecs[b % 3], &records),
        )
        .unwrap();
        assert_eq!(answer.error_code, 0);
    }
    let total = (BATCHES * PER_BATCH) as i64;

    let proxy = ChaosProxy::start(broker.addr()).unwrap();
    let mut client: WireClient = connect(proxy.addr()).unwrap();
    let mut next: i64 = 0;
    let mut cuts_seen = 0;
    let mut fetches = 0u64;
    let mut last_switch = 0;
    while next < total {
        fetches += 1;
        assert!(
            fetches < 10_000,
            "no progress: at offset {next} after {cuts_seen} cuts"
        );
        // Change the link's character while it carries traffic: latency
        // and jitter after five cuts, a bandwidth cap after ten, back to
        // pass-through after fifteen.
        if cuts_seen != last_switch {
            last_switch = cuts_seen;
            match cuts_seen {
                5 => proxy.set_latency(Duration::from_millis(3), Duration::from_millis(2)),
                10 => proxy.set_bandwidth(Some(512 * 1024)),
                15 => proxy.reset(),
                _ => {}
            }
        }
        // Cut every other response until twenty cuts happened.
        if cuts_seen < CUTS && fetches.is_multiple_of(2) {
            proxy.cut_next_response_mid_frame();
        }
        // Small fetches, so the log takes many round trips.
        match fetch(&mut client, "cuts", 0, next, 600) {
            Ok((data, records)) => {
                assert_eq!(data.error_code, 0, "{data:?}");
                for record in records {
                    assert_eq!(record.offset, next, "out of order or duplicated");
                    assert_eq!(
                        record.value.as_deref(),
                        Some(value(next as usize).as_bytes()),
                        "offset {next}"
                    );
                    next += 1;
                }
            }
            Err(WireError::Io(e)) if e.kind() == ErrorKind::UnexpectedEof => {
                // The response frame ended early: reconnect and resume
                // from the next offset not yet read.
                cuts_seen += 1;
                client = connect(proxy.addr()).unwrap();
            }
            Err(other) => panic!("unexpected error at offset {next}: {other:?}"),
        }
    }
    assert_eq!(next, total);
    assert_eq!(cuts_seen, CUTS);
    assert_eq!(
        proxy.cuts(),
        CUTS,
        "each cut the client saw was a mid-frame cut"
    );
    assert_eq!(proxy.armed_cuts(), 0);
    assert_eq!(proxy.connections_accepted(), CUTS + 1);
}

#[test]
fn a_blackhole_swallows_traffic_without_closing_and_new_connections_recover() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let proxy = ChaosProxy::start(cluster.broker_addr(0).unwrap()).unwrap();
    let (mut client, socket) = connect_with_socket(proxy.addr()).unwrap();
    let batch = plain_batch(Compression::None, &[Rec::value(1, "a")]);
    assert_eq!(
        produce(&mut client, "t", 0, batch.clone())
            .unwrap()
            .error_code,
        0
    );

    proxy.set_blackhole(true);
    set_read_timeout(&socket, Duration::from_millis(300));
    let error = produce(&mut client, "t", 0, batch.clone()).unwrap_err();
    assert!(
        matches!(&error, WireError::Io(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut)),
        "a timeout, not a close: {error:?}"
    );
    assert_eq!(proxy.open_connections(), 1, "no FIN, no RST");
    assert_eq!(
        cluster.partition_state("t", 0).unwrap().high_watermark,
        1,
        "the request never reached the broker"
    );
    // New connections made during the blackhole hang in the handshake.
    let mut stuck = std::net::TcpStream::connect(proxy.addr()).unwrap();
    stuck
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    // ApiVersions v0, correlation id 1, null client id.
    stuck
        .write_all(&[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff])
        .unwrap();
    let read = stuck.read(&mut [0u8; 16]).unwrap_err();
    assert!(
        matches!(read.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{read:?}"
    );

    proxy.set_blackhole(false);
    let mut fresh = connect(proxy.addr()).unwrap();
    assert_eq!(
        produce(&mut fresh, "t", 0, batch.clone())
            .unwrap()
            .error_code,
        0
    );
    // The old connection lost bytes; it stays silent.
    let error = produce(&mut client, "t", 0, batch).unwrap_err();
    assert!(matches!(&error, WireError::Io(_)), "{error:?}");

    // cut_all closes everything at once.
    assert!(proxy.cut_all() >= 1);
    let error = produce(
        &mut fresh,
        "t",
        0,
        plain_batch(Compression::None, &[Rec::value(1, "b")]),
    )
    .unwrap_err();
    assert!(
        matches!(&error, WireError::Io(e) if matches!(e.kind(), ErrorKind::UnexpectedEof | ErrorKind::ConnectionReset | ErrorKind::BrokenPipe)),
        "{error:?}"
    );
}
