//! Connection tests against a scripted broker over an in-memory pipe,
//! with tokio's paused clock (no real waiting, no timing assertions).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{BufMut, BytesMut};
use ferrokafka_protocol::frame::FrameDecoder;
use ferrokafka_protocol::messages::api_versions_response::ApiVersion;
use ferrokafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, MetadataRequest, MetadataResponse,
};
use futures::future::BoxFuture;
use kafka_protocol::protocol::{decode_request_header_from_buffer, Encodable};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::connection::ConnectionOptions;
use super::handshake::{establish, establish_with};
use super::BrokerConnection;
use crate::error::{BrokerRef, ConnectFailure, ConnectionFailure, ErrorKind};
use crate::transport::{BoxTransport, Connector};

/// A request the scripted broker received.
pub(crate) struct Received {
    pub(crate) api: ApiKey,
    pub(crate) version: i16,
    pub(crate) correlation_id: i32,
    /// The request body (after the header).
    pub(crate) body: bytes::Bytes,
}

/// Hands one end of a fresh pipe to the client and the other to a test.
#[derive(Debug)]
pub(crate) struct PipeConnector {
    servers: mpsc::UnboundedSender<DuplexStream>,
}

impl PipeConnector {
    pub(crate) fn new() -> (Self, mpsc::UnboundedReceiver<DuplexStream>) {
        let (servers, rx) = mpsc::unbounded_channel();
        (PipeConnector { servers }, rx)
    }
}

impl Connector for PipeConnector {
    fn connect<'a>(
        &'a self,
        _addr: SocketAddr,
        _host: &'a str,
    ) -> BoxFuture<'a, Result<BoxTransport, ConnectFailure>> {
        Box::pin(async move {
            let (client, server) = tokio::io::duplex(1 << 20);
            self.servers
                .send(server)
                .map_err(|_| ConnectFailure::Refused)?;
            Ok(Box::new(client) as BoxTransport)
        })
    }
}

/// The broker side of a pipe: reads requests, answers ApiVersions by itself.
pub(crate) struct ScriptedBroker {
    stream: DuplexStream,
    decoder: FrameDecoder,
    buf: BytesMut,
}

impl ScriptedBroker {
    pub(crate) fn new(stream: DuplexStream) -> Self {
        ScriptedBroker {
            stream,
            decoder: FrameDecoder::new().without_protocol_sniffing(),
            buf: BytesMut::new(),
        }
    }

    /// The next request other than ApiVersions (which is answered), or
    /// `None` when the client closed.
    pub(crate) async fn next(&mut self) -> Option<Received> {
        loop {
            while let Some(mut frame) = self.decoder.decode(&mut self.buf).ok()? {
                let header = decode_request_header_from_buffer(&mut frame).ok()?;
                let api = ApiKey::try_from(header.request_api_key).ok()?;
                let received = Received {
                    api,
                    version: header.request_api_version,
                    correlation_id: header.correlation_id,
                    body: frame,
                };
                if api == ApiKey::ApiVersions {
                    let body = api_versions();
                    self.answer(&received, &body).await;
                    continue;
                }
                return Some(received);
            }
            if self.stream.read_buf(&mut self.buf).await.ok()? == 0 {
                return None;
            }
        }
    }

    /// Reads and answers the ApiVersions request.
    pub(crate) async fn handshake(&mut self) {
        loop {
            if let Some(mut frame) = self.decoder.decode(&mut self.buf).unwrap() {
                let h = decode_request_header_from_buffer(&mut frame).unwrap();
                let to = Received {
                    api: ApiKey::ApiVersions,
                    version: h.request_api_version,
                    correlation_id: h.correlation_id,
                    body: frame,
                };
                self.answer(&to, &api_versions()).await;
                return;
            }
            assert!(self.stream.read_buf(&mut self.buf).await.unwrap() > 0);
        }
    }

    /// Answers `to` with `body`, encoded at the request's version.
    pub(crate) async fn answer<M: Encodable>(&mut self, to: &Received, body: &M) {
        self.answer_padded(to, body, &[]).await;
    }

    /// Answers `to` with `body` followed by `padding`: bytes after the
    /// last field, which a broker may send and a client must ignore.
    pub(crate) async fn answer_padded<M: Encodable>(
        &mut self,
        to: &Received,
        body: &M,
        padding: &[u8],
    ) {
        let mut payload = BytesMut::new();
        payload.put_i32(to.correlation_id);
        if to.api.response_header_version(to.version) >= 1 {
            payload.put_u8(0);
        }
        body.encode(&mut payload, to.version).unwrap();
        payload.put_slice(padding);
        self.raw(&payload).await;
    }

    /// Writes one frame with `payload`.
    pub(crate) async fn raw(&mut self, payload: &[u8]) {
        let mut out = BytesMut::new();
        ferrokafka_protocol::frame::encode_frame(&mut out, payload);
        let _ = self.stream.write_all(&out).await;
    }

    /// Writes bytes as they are.
    pub(crate) async fn bytes(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes).await;
    }
}

fn api_versions() -> ApiVersionsResponse {
    let keys = [
        (ApiKey::ApiVersions, 0, 3),
        (ApiKey::Metadata, 0, 12),
        (ApiKey::ListOffsets, 0, 6),
        (ApiKey::Fetch, 0, 12),
        (ApiKey::Produce, 3, 11),
        (ApiKey::SaslHandshake, 0, 1),
        (ApiKey::SaslAuthenticate, 0, 2),
    ];
    ApiVersionsResponse::default().with_api_keys(
        keys.iter()
            .map(|&(k, min, max)| {
                ApiVersion::default()
                    .with_api_key(k as i16)
                    .with_min_version(min)
                    .with_max_version(max)
            })
            .collect(),
    )
}

fn options(max_in_flight: usize) -> ConnectionOptions {
    ConnectionOptions {
        client_id: Arc::from("test"),
        request_timeout: Duration::from_secs(30),
        max_in_flight,
        max_idle: Duration::from_secs(600),
        sasl: None,
        hooks: crate::hooks::HookSet::default(),
    }
}

async fn connect(max_in_flight: usize) -> (BrokerConnection, ScriptedBroker) {
    let (connector, mut servers) = PipeConnector::new();
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let handshake = tokio::spawn(async move {
        let mut broker = ScriptedBroker::new(servers.recv().await.unwrap());
        broker.handshake().await;
        broker
    });
    let established = establish(&connector, addr, "h", "test", Duration::from_secs(5))
        .await
        .unwrap();
    let broker = handshake.await.unwrap();
    let conn = BrokerConnection::spawn(
        established,
        BrokerRef {
            id: Some(1),
            address: "h:9".into(),
        },
        options(max_in_flight),
    );
    (conn, broker)
}

fn metadata_with_throttle(throttle: i32) -> MetadataResponse {
    MetadataResponse::default().with_throttle_time_ms(throttle)
}

#[tokio::test(start_paused = true)]
async fn negotiates_versions_in_the_handshake() {
    let (conn, _broker) = connect(5).await;
    assert_eq!(conn.version(ApiKey::Metadata).unwrap(), 12);
    assert_eq!(conn.version(ApiKey::ListOffsets).unwrap(), 6);
    assert_eq!(conn.version(ApiKey::Produce).unwrap(), 11);
    let err = conn.version(ApiKey::DeleteRecords).unwrap_err();
    assert!(err.to_string().contains("DeleteRecords"), "{err}");
}

#[tokio::test(start_paused = true)]
async fn pipelined_answers_are_matched_by_correlation_id() {
    let (conn, mut broker) = connect(5).await;
    let requests = (0..3).map(|_| {
        let conn = conn.clone();
        tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
    });
    let handles: Vec<_> = requests.collect();
    let mut received = Vec::new();
    for _ in 0..3 {
        received.push(broker.next().await.unwrap());
    }
    // Answer in reverse order, each with a distinct throttle... no: a
    // distinct controller id, so each caller can see it got its own answer.
    for r in received.iter().rev() {
        let answer = MetadataResponse::default()
            .with_controller_id(ferrokafka_protocol::messages::BrokerId(r.correlation_id));
        broker.answer(r, &answer).await;
    }
    let mut got: Vec<i32> = Vec::new();
    for h in handles {
        got.push(h.await.unwrap().unwrap().controller_id.0);
    }
    got.sort_unstable();
    let mut sent: Vec<i32> = received.iter().map(|r| r.correlation_id).collect();
    sent.sort_unstable();
    assert_eq!(got, sent);
    let ids: std::collections::HashSet<_> = sent.iter().collect();
    assert_eq!(ids.len(), 3, "distinct correlation ids");
}

#[tokio::test(start_paused = true)]
async fn in_flight_requests_are_capped() {
    let (conn, mut broker) = connect(2).await;
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
        })
        .collect();
    let first = broker.next().await.unwrap();
    let second = broker.next().await.unwrap();
    // A third request must not arrive while two are unanswered.
    let third = tokio::time::timeout(Duration::from_secs(5), broker.next()).await;
    assert!(
        third.is_err(),
        "a third request was sent with two in flight"
    );
    broker.answer(&first, &MetadataResponse::default()).await;
    let third = broker.next().await.unwrap();
    broker.answer(&second, &MetadataResponse::default()).await;
    broker.answer(&third, &MetadataResponse::default()).await;
    let fourth = broker.next().await.unwrap();
    broker.answer(&fourth, &MetadataResponse::default()).await;
    for h in handles {
        h.await.unwrap().unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn a_timeout_fails_that_request_and_closes_the_connection() {
    let (conn, mut broker) = connect(5).await;
    let slow = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.send_at(&MetadataRequest::default(), 12, Duration::from_secs(1))
                .await
        })
    };
    let _ = broker.next().await.unwrap();
    let other = {
        let conn = conn.clone();
        tokio::spawn(async move {
            conn.send_at(&MetadataRequest::default(), 12, Duration::from_secs(60))
                .await
        })
    };
    let _ = broker.next().await.unwrap();
    let err = slow.await.unwrap().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Timeout(d) if *d == Duration::from_secs(1)),
        "{err}"
    );
    assert!(err.is_retriable());
    let err = other.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Connection(ConnectionFailure::ClosedAfterTimeout)
        ),
        "{err}"
    );
    assert!(conn.is_closed());
    // Later requests fail at once with the same reason.
    let err = conn.send(&MetadataRequest::default()).await.unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Connection(ConnectionFailure::ClosedAfterTimeout)
        ),
        "{err}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_closed_connection_fails_every_request_in_flight() {
    let (conn, mut broker) = connect(5).await;
    let handles: Vec<_> = (0..3)
        .map(|_| {
            let conn = conn.clone();
            tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
        })
        .collect();
    for _ in 0..3 {
        broker.next().await.unwrap();
    }
    drop(broker);
    for h in handles {
        let err = h.await.unwrap().unwrap_err();
        assert!(
            matches!(
                err.kind(),
                ErrorKind::Connection(ConnectionFailure::ClosedByPeer)
            ),
            "{err}"
        );
        assert!(err.is_retriable());
        assert_eq!(err.broker().and_then(|b| b.id), Some(1));
    }
}

#[tokio::test(start_paused = true)]
async fn throttle_time_holds_the_next_request() {
    let (conn, mut broker) = connect(5).await;
    let first = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
    };
    let r = broker.next().await.unwrap();
    broker.answer(&r, &metadata_with_throttle(2_000)).await;
    first.await.unwrap().unwrap();
    let answered_at = Instant::now();
    assert!(conn.throttled_until().is_some());
    let second = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
    };
    let r = broker.next().await.unwrap();
    // Virtual time: the request left only once the throttle had passed.
    assert!(
        answered_at.elapsed() >= Duration::from_secs(2),
        "{:?}",
        answered_at.elapsed()
    );
    broker.answer(&r, &MetadataResponse::default()).await;
    second.await.unwrap().unwrap();
}

#[tokio::test(start_paused = true)]
async fn garbage_answers_become_typed_errors() {
    // A body that does not decode as MetadataResponse.
    let (conn, mut broker) = connect(5).await;
    let call = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
    };
    let r = broker.next().await.unwrap();
    let mut payload = BytesMut::new();
    payload.put_i32(r.correlation_id);
    payload.put_u8(0);
    payload.put_slice(&[0xFF; 7]);
    broker.raw(&payload).await;
    let err = call.await.unwrap().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::Protocol(_)), "{err}");
    assert_eq!(err.api(), Some(crate::Api::of(ApiKey::Metadata)));

    // An answer to a correlation id nobody asked for.
    let call = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
    };
    let r = broker.next().await.unwrap();
    let mut payload = BytesMut::new();
    payload.put_i32(r.correlation_id + 1000);
    broker.raw(&payload).await;
    let err = call.await.unwrap().unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Connection(ConnectionFailure::UnexpectedCorrelationId(_))
        ),
        "{err}"
    );

    // A negative frame length, and a frame too short for a header.
    for bytes in [&[0xFFu8, 0xFF, 0xFF, 0xFE][..], &[0, 0, 0, 2, 0, 1][..]] {
        let (conn, mut broker) = connect(5).await;
        let call = {
            let conn = conn.clone();
            tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
        };
        broker.next().await.unwrap();
        broker.bytes(bytes).await;
        let err = call.await.unwrap().unwrap_err();
        assert!(matches!(err.kind(), ErrorKind::Connection(_)), "{err}");
        assert!(!err.is_retriable(), "{err}");
    }
}

#[tokio::test(start_paused = true)]
async fn close_lets_requests_in_flight_finish() {
    let (conn, mut broker) = connect(5).await;
    let call = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
    };
    let r = broker.next().await.unwrap();
    let closing = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.close().await })
    };
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert!(!closing.is_finished());
    broker.answer(&r, &MetadataResponse::default()).await;
    call.await.unwrap().unwrap();
    closing.await.unwrap();
    assert!(conn.is_closed());
    // The broker sees the socket shut down.
    assert!(broker.next().await.is_none());
}

#[tokio::test(start_paused = true)]
async fn handshake_names_non_kafka_answers() {
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec(), "HTTP"),
        (vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46], "TLS"),
        (vec![], "closed the connection"),
        (vec![0, 0, 0, 3, 1, 2, 3], "malformed"),
    ];
    for (reply, needle) in cases {
        let (connector, mut servers) = PipeConnector::new();
        let reply2 = reply.clone();
        tokio::spawn(async move {
            let mut server = servers.recv().await.unwrap();
            let mut buf = BytesMut::new();
            let _ = server.read_buf(&mut buf).await;
            let _ = server.write_all(&reply2).await;
            // Dropping closes.
        });
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let failure = match establish(&connector, addr, "h", "t", Duration::from_secs(5)).await {
            Ok(_) => panic!("handshake succeeded against {reply:?}"),
            Err(failure) => failure,
        };
        let text = failure.to_string();
        assert!(
            text.to_lowercase().contains(&needle.to_lowercase()),
            "{reply:?}: {text}"
        );
    }
    // A peer that accepts and never answers.
    let (connector, mut servers) = PipeConnector::new();
    let keep = Arc::new(Mutex::new(None));
    let keep2 = Arc::clone(&keep);
    tokio::spawn(async move {
        let server = servers.recv().await.unwrap();
        *keep2.lock().unwrap() = Some(server);
    });
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let failure = match establish(&connector, addr, "h", "t", Duration::from_secs(5)).await {
        Ok(_) => panic!("handshake succeeded against a silent peer"),
        Err(failure) => failure,
    };
    assert!(
        matches!(failure, ConnectFailure::TimedOut(_, _)),
        "{failure}"
    );
}

#[tokio::test(start_paused = true)]
async fn requests_are_written_in_the_order_they_were_queued() {
    use ferrokafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
    let (conn, mut broker) = connect(1).await;
    let order = [
        ApiKey::Metadata,
        ApiKey::ListOffsets,
        ApiKey::ListOffsets,
        ApiKey::Metadata,
        ApiKey::ListOffsets,
    ];
    let mut answers: Vec<BoxFuture<'static, ()>> = Vec::new();
    for api in order {
        answers.push(if api == ApiKey::Metadata {
            let answer = conn.enqueue(&MetadataRequest::default()).unwrap();
            Box::pin(async move {
                answer.await.unwrap();
            })
        } else {
            let answer = conn.enqueue(&ListOffsetsRequest::default()).unwrap();
            Box::pin(async move {
                answer.await.unwrap();
            })
        });
    }
    // Polled newest first: the order on the wire is still the queue's.
    let waiter = tokio::spawn(async move {
        for answer in answers.into_iter().rev() {
            answer.await;
        }
    });
    for want in order {
        let got = broker.next().await.unwrap();
        assert_eq!(got.api, want);
        if got.api == ApiKey::Metadata {
            broker.answer(&got, &MetadataResponse::default()).await;
        } else {
            broker.answer(&got, &ListOffsetsResponse::default()).await;
        }
    }
    waiter.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_request_without_answer_is_done_once_written() {
    let (conn, mut broker) = connect(5).await;
    conn.send_without_response(&MetadataRequest::default())
        .await
        .unwrap();
    let unanswered = broker.next().await.unwrap();
    assert_eq!(unanswered.api, ApiKey::Metadata);
    // The next request is matched to its own answer; the skipped
    // correlation id confuses nothing.
    let asked = {
        let conn = conn.clone();
        tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
    };
    let next = broker.next().await.unwrap();
    assert_ne!(next.correlation_id, unanswered.correlation_id);
    broker
        .answer(
            &next,
            &MetadataResponse::default()
                .with_controller_id(ferrokafka_protocol::messages::BrokerId(7)),
        )
        .await;
    assert_eq!(asked.await.unwrap().unwrap().controller_id.0, 7);
    assert!(!conn.is_closed());
}

#[tokio::test(start_paused = true)]
async fn a_request_written_in_pieces_arrives_whole() {
    use ferrokafka_protocol::messages::{ProduceRequest, ProduceResponse};
    use ferrokafka_protocol::produce::{encode_produce_request, ProducePartition, ProduceTopic};
    use kafka_protocol::protocol::Decodable;

    let (conn, mut broker) = connect(5).await;
    let partitions = [
        ProducePartition {
            index: 0,
            records: bytes::Bytes::from(vec![1u8; 3000]),
        },
        ProducePartition {
            index: 4,
            records: bytes::Bytes::from(vec![2u8; 70]),
        },
    ];
    let sent = partitions.clone();
    let answer = conn
        .enqueue_encoded_late::<ProduceResponse>(Box::new(move |header| {
            encode_produce_request(
                header,
                None,
                -1,
                1000,
                &[ProduceTopic {
                    name: "t",
                    partitions: &sent,
                }],
            )
        }))
        .unwrap();
    let got = broker.next().await.unwrap();
    assert_eq!((got.api, got.version), (ApiKey::Produce, 11));
    // The broker reads one ordinary request: every piece, in order.
    let request = ProduceRequest::decode(&mut got.body.clone(), got.version).unwrap();
    assert_eq!(request.acks, -1);
    let data = &request.topic_data[0].partition_data;
    assert_eq!(data.len(), 2);
    for (sent, read) in partitions.iter().zip(data) {
        assert_eq!(read.index, sent.index);
        assert_eq!(read.records.as_ref(), Some(&sent.records));
    }
    broker
        .answer(&got, &ProduceResponse::default().with_throttle_time_ms(0))
        .await;
    answer.await.unwrap();
    assert!(!conn.is_closed());
}

#[tokio::test(start_paused = true)]
async fn a_broker_quoting_the_password_in_its_refusal_never_shows_it() {
    use kafka_protocol::messages::{SaslAuthenticateResponse, SaslHandshakeResponse};
    use kafka_protocol::protocol::StrBytes;
    const PASSWORD: &str = "pw canary+/=&";
    let (connector, mut servers) = PipeConnector::new();
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let broker = tokio::spawn(async move {
        let mut broker = ScriptedBroker::new(servers.recv().await.unwrap());
        let handshake = broker.next().await.unwrap();
        assert_eq!(handshake.api, ApiKey::SaslHandshake);
        let plain = StrBytes::from_static_str("PLAIN");
        broker
            .answer(
                &handshake,
                &SaslHandshakeResponse::default().with_mechanisms(vec![plain]),
            )
            .await;
        let auth = broker.next().await.unwrap();
        assert_eq!(auth.api, ApiKey::SaslAuthenticate);
        // A careless broker quotes what it got, raw and URL-encoded.
        let quoted = format!("bad credentials for u: got {PASSWORD} (pw+canary%2B%2F%3D%26)");
        broker
            .answer(
                &auth,
                &SaslAuthenticateResponse::default()
                    .with_error_code(58)
                    .with_error_message(Some(StrBytes::from_string(quoted))),
            )
            .await;
    });
    let sasl = crate::security::SaslAuth::Plain(ferrokafka_auth::Credentials::new(
        "u",
        ferrokafka_auth::Secret::new(PASSWORD),
    ));
    let options = ConnectionOptions {
        sasl: Some(Arc::new(sasl)),
        ..options(1)
    };
    let broker_ref = BrokerRef {
        id: None,
        address: "h:9".into(),
    };
    let Err(failure) = establish_with(
        &connector,
        addr,
        "h",
        &options,
        &broker_ref,
        Duration::from_secs(5),
    )
    .await
    else {
        panic!("authenticated")
    };
    broker.await.unwrap();
    let text = format!("{failure} {failure:?}");
    assert!(text.contains("bad credentials for u"), "{text}");
    assert!(!text.contains("canary"), "{text}");
}

#[tokio::test(start_paused = true)]
async fn bytes_after_the_last_field_of_an_answer_are_ignored() {
    // Kafka's clients ignore bytes after a response's last field, so a
    // broker that pads its answers works with them; it must with us too,
    // and the connection stays usable.
    let (conn, mut broker) = connect(5).await;
    for (controller, padding) in [(7, &[0xab, 0xcd, 0xef][..]), (8, &[][..])] {
        let call = {
            let conn = conn.clone();
            tokio::spawn(async move { conn.send(&MetadataRequest::default()).await })
        };
        let asked = broker.next().await.unwrap();
        assert_eq!((asked.api, asked.version), (ApiKey::Metadata, 12));
        let answer = MetadataResponse::default()
            .with_controller_id(ferrokafka_protocol::messages::BrokerId(controller));
        broker.answer_padded(&asked, &answer, padding).await;
        let got = call.await.unwrap().expect("the padded answer is accepted");
        assert_eq!(got, answer);
    }
    assert!(!conn.is_closed());
}
