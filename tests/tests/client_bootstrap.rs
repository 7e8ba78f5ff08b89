//! Bootstrap against ports that are not a Kafka broker: each gives, within
//! the bootstrap deadline, an error naming every address tried and what
//! each one looked like. Also a socket that answers ApiVersions and then
//! garbage: a typed error, no panic.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::process::{Command, Stdio};
use std::time::Duration;

use ferrokafka::{Client, ClientConfig, ConnectFailure, ErrorKind};
use ferrokafka_tests::pki::Pki;
use ferrokafka_tests::process::{free_port, loopback, wait_for_port, KillOnDrop};

const DEADLINE: Duration = Duration::from_secs(2);

fn config(bootstrap: &str) -> ClientConfig {
    ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .bootstrap_timeout(DEADLINE)
        .build()
        .unwrap()
}

/// A listener that answers every connection with `reply` once it has
/// read something, then closes. Runs until the test process ends.
fn scripted_server(reply: &'static [u8]) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(reply);
        }
    });
    port
}

async fn bootstrap_failure(bootstrap: &str) -> ferrokafka::BootstrapError {
    let err = Client::connect(config(bootstrap)).await.unwrap_err();
    match err.kind() {
        ErrorKind::Bootstrap(b) => {
            // The deadline bounds the wait (with room for a slow machine).
            assert!(b.waited < DEADLINE + Duration::from_secs(10), "{b}");
            b.clone()
        }
        other => panic!("expected a bootstrap error, got {other}"),
    }
}

#[tokio::test]
async fn closed_port_is_reported_as_refused() {
    let port = free_port().unwrap();
    let err = bootstrap_failure(&format!("127.0.0.1:{port}")).await;
    assert_eq!(err.attempts.len(), 1, "{err}");
    assert_eq!(err.attempts[0].failure, ConnectFailure::Refused, "{err}");
    assert!(
        err.attempts[0].tries > 1,
        "kept retrying until the deadline: {err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("127.0.0.1:{port}")) && text.contains("refused"),
        "{text}"
    );
}

#[tokio::test]
async fn every_address_is_listed() {
    let closed = free_port().unwrap();
    let http = scripted_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    let err = bootstrap_failure(&format!(
        "127.0.0.1:{closed},localhost:{http},no-such-host.invalid:9092"
    ))
    .await;
    let text = err.to_string();
    eprintln!("{text}");
    assert!(text.contains(&format!("127.0.0.1:{closed}")), "{text}");
    assert!(text.contains(&format!("localhost:{http}")), "{text}");
    assert!(text.contains("no-such-host.invalid:9092"), "{text}");
    let dns = err
        .attempts
        .iter()
        .find(|a| a.server.host == "no-such-host.invalid")
        .unwrap();
    assert!(matches!(dns.failure, ConnectFailure::Dns(_)), "{text}");
    // localhost may resolve to 127.0.0.1 and ::1; every resolved address is tried.
    let http_attempts: Vec<_> = err
        .attempts
        .iter()
        .filter(|a| a.server.port == http)
        .collect();
    assert!(!http_attempts.is_empty());
    assert!(http_attempts.iter().all(|a| a.resolved.is_some()), "{text}");
    assert!(
        http_attempts
            .iter()
            .any(|a| matches!(a.failure, ConnectFailure::WrongProtocol(s) if s.contains("HTTP"))),
        "{text}"
    );
}

#[tokio::test]
async fn http_port_is_named() {
    let port = scripted_server(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    let err = bootstrap_failure(&format!("127.0.0.1:{port}")).await;
    let failure = &err.attempts[0].failure;
    assert!(
        matches!(failure, ConnectFailure::WrongProtocol(s) if s.contains("HTTP")),
        "{err}"
    );
    // A port that speaks another protocol will not start speaking Kafka:
    // reported after one try instead of at the deadline.
    assert_eq!(err.attempts[0].tries, 1, "{err}");
    assert!(
        err.to_string().contains("wrong port or security.protocol?"),
        "{err}"
    );
}

#[tokio::test]
async fn tls_port_answering_with_an_alert_is_named() {
    // What a TLS server that answers non-TLS bytes with an alert sends: a
    // fatal protocol_version alert record.
    let port = scripted_server(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);
    let err = bootstrap_failure(&format!("127.0.0.1:{port}")).await;
    let failure = &err.attempts[0].failure;
    assert!(
        matches!(failure, ConnectFailure::WrongProtocol(s) if s.contains("TLS")),
        "{err}"
    );
    assert!(
        err.to_string().contains("wrong port or security.protocol?"),
        "{err}"
    );
}

#[tokio::test]
async fn real_tls_server_is_reported_as_wrong_port_or_protocol() {
    // OpenSSL's server closes without an alert on non-TLS bytes; the
    // error still says what to check.
    let pki = Pki::generate(&["localhost"]);
    let port = free_port().unwrap();
    let server = Command::new("openssl")
        .args(["s_server", "-quiet", "-accept"])
        .arg(loopback(port).to_string())
        .args([
            "-cert",
            &pki.path("server.pem"),
            "-key",
            &pki.path("server.key"),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("openssl is installed (apt-get install -y openssl)");
    let mut server = KillOnDrop(server);
    wait_for_port(
        loopback(port),
        &mut server,
        "openssl s_server",
        Duration::from_secs(60),
    )
    .unwrap_or_else(|why| panic!("{why}"));
    let err = bootstrap_failure(&format!("127.0.0.1:{port}")).await;
    drop(server);
    let failure = &err.attempts[0].failure;
    assert!(
        matches!(
            failure,
            ConnectFailure::ClosedDuringHandshake | ConnectFailure::WrongProtocol(_)
        ),
        "{err}"
    );
    assert!(
        err.to_string().contains("wrong port or security.protocol?"),
        "{err}"
    );
    // A TLS port closing on plaintext does so every time: the client
    // stops after a few tries instead of retrying until the deadline.
    assert!(err.gave_up_early, "{err}");
    assert!(err.attempts[0].tries <= 3, "{err}");
}

#[tokio::test]
async fn garbage_replies_are_typed_errors() {
    for reply in [
        &b"\x00\x00\x00\x05garbage-and-more"[..],
        &[0x7F, 0xFF, 0xFF, 0xFF, 1, 2, 3][..],
        &[0xFF, 0xFF, 0xFF, 0xFF][..],
        &[0, 0, 0, 8, 0, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0xFF][..],
    ] {
        let port = scripted_server(reply);
        let err = bootstrap_failure(&format!("127.0.0.1:{port}")).await;
        let failure = &err.attempts[0].failure;
        assert!(
            matches!(
                failure,
                ConnectFailure::Malformed(_) | ConnectFailure::ClosedDuringHandshake
            ),
            "{reply:?}: {err}"
        );
    }
}

#[tokio::test]
async fn silent_port_times_out_within_the_deadline() {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    let err = bootstrap_failure(&format!("127.0.0.1:{port}")).await;
    drop(listener);
    assert!(
        matches!(err.attempts[0].failure, ConnectFailure::TimedOut(_, _)),
        "{err}"
    );
}

/// A listener whose first `cut` connections get the start of a frame and
/// are then closed; later connections are accepted and never answered.
fn cutting_then_silent_server(cut: usize) -> u16 {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut silent = Vec::new();
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 1024];
            let _ = stream.read(&mut buf);
            if n < cut {
                // A 100-byte frame cut after 5 bytes.
                let _ = stream.write_all(&[0, 0, 0, 100, 0, 0, 0, 0, 1]);
            } else {
                silent.push(stream);
            }
        }
    });
    port
}

#[tokio::test]
async fn a_frame_cut_again_and_again_is_reported_at_once() {
    let port = cutting_then_silent_server(usize::MAX);
    let err = bootstrap_failure(&format!("127.0.0.1:{port}")).await;
    assert_eq!(
        err.attempts[0].failure,
        ConnectFailure::ClosedDuringHandshake,
        "{err}"
    );
    assert!(
        err.gave_up_early,
        "the same misbehaviour three times: {err}"
    );
    assert_eq!(err.attempts[0].tries, 3, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("stopped after")
            && text.contains("without waiting out bootstrap.timeout.ms (2s)"),
        "{text}"
    );
}

#[tokio::test]
async fn the_most_telling_failure_is_reported_not_the_deadline_cut_timeout() {
    // Two cut frames, then silence until the deadline cuts the last try short.
    let port = cutting_then_silent_server(2);
    let err = bootstrap_failure(&format!("127.0.0.1:{port}")).await;
    assert!(!err.gave_up_early, "{err}");
    assert!(err.attempts[0].tries >= 3, "{err}");
    assert_eq!(
        err.attempts[0].failure,
        ConnectFailure::ClosedDuringHandshake,
        "{err}"
    );
    let text = err.to_string();
    assert!(!text.contains("timed out"), "{text}");
    assert!(
        text.contains("within bootstrap.timeout.ms (2s)"),
        "the deadline is named as configured, not as time waited: {text}"
    );
}

#[tokio::test]
async fn plaintext_against_a_listener_that_requires_sasl_says_so_at_once() {
    let cluster = ferrokafka_fake::FakeCluster::builder()
        .sasl_plain_user("app", "secret")
        .build()
        .unwrap();
    let err = bootstrap_failure(&cluster.bootstrap()).await;
    assert_eq!(
        err.attempts[0].failure,
        ConnectFailure::ClosedAfterApiVersions,
        "{err}"
    );
    assert!(err.gave_up_early, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("closed the connection instead of answering Metadata")
            && text.contains("SASL_PLAINTEXT")
            && !text.contains("malformed"),
        "{text}"
    );
}
