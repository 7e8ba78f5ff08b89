//! Security end to end: SASL PLAIN against the fake cluster, SCRAM-SHA-256
//! and SCRAM-SHA-512 against Nisshi (sqlite storage, `--authentication`),
//! with good and bad passwords; every failure is typed, names the cause,
//! and never shows the password.

use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferrokafka::protocol::messages::{ApiKey, MetadataRequest};
use ferrokafka::{Client, ClientConfig, ConnectFailure, ErrorKind};
use ferrokafka_fake::FakeCluster;
use ferrokafka_tests::{free_port, nisshi_binary};

fn sasl_config(bootstrap: &str, mechanism: &str, user: &str, password: &str) -> ClientConfig {
    sasl_builder(bootstrap, mechanism, user, password)
        .build()
        .unwrap()
}

fn sasl_builder(
    bootstrap: &str,
    mechanism: &str,
    user: &str,
    password: &str,
) -> ferrokafka::ClientConfigBuilder {
    let module = if mechanism == "PLAIN" {
        "org.apache.kafka.common.security.plain.PlainLoginModule"
    } else {
        "org.apache.kafka.common.security.scram.ScramLoginModule"
    };
    ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .bootstrap_timeout(Duration::from_secs(20))
        .property("security.protocol", "SASL_PLAINTEXT")
        .property("sasl.mechanism", mechanism)
        .property(
            "sasl.jaas.config",
            &format!(r#"{module} required username="{user}" password="{password}";"#),
        )
}

/// Connects and expects an authentication refusal; returns its text.
async fn refused(config: ClientConfig, password: &str) -> String {
    let err = Client::connect(config).await.unwrap_err();
    let ErrorKind::Bootstrap(b) = err.kind() else {
        panic!("expected a bootstrap error, got {err}")
    };
    let attempt = &b.attempts[0];
    assert!(
        matches!(attempt.failure, ConnectFailure::Authentication { .. }),
        "{b}"
    );
    // Refused credentials are not retried until the deadline.
    assert_eq!(attempt.tries, 1, "{b}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(password), "the password leaked: {text}");
    text
}

#[tokio::test]
async fn plain_against_the_fake_cluster() {
    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_plain_user("alice", "good-pw-1")
        .build()
        .unwrap();
    let client = Client::connect(sasl_config(
        &cluster.bootstrap(),
        "PLAIN",
        "alice",
        "good-pw-1",
    ))
    .await
    .unwrap();
    // Past authentication, requests flow (the fake closes unauthenticated ones).
    client.refresh_metadata(None).await.unwrap();
    assert!(client.topic_metadata("t").await.is_ok());
    let text = refused(
        sasl_config(&cluster.bootstrap(), "PLAIN", "alice", "bad-pw-2"),
        "bad-pw-2",
    )
    .await;
    assert!(text.contains("PLAIN") && text.contains("alice"), "{text}");
    // A mechanism the listener does not enable names what it offers.
    let text = refused(
        sasl_config(&cluster.bootstrap(), "SCRAM-SHA-256", "alice", "good-pw-1"),
        "good-pw-1",
    )
    .await;
    assert!(
        text.contains("does not enable SCRAM-SHA-256") && text.contains("PLAIN"),
        "{text}"
    );
}

/// Nisshi with sqlite storage, restarted with `--authentication` after
/// the SCRAM users are created.
struct AuthNisshi {
    child: Child,
    addr: SocketAddr,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for AuthNisshi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_nisshi(dir: &Path, port: u16, advertised: &str, authentication: bool) -> Child {
    let url = format!("tcp://127.0.0.1:{port}");
    let advertised = format!("tcp://{advertised}");
    let mut command = Command::new(nisshi_binary().unwrap());
    command
        .current_dir(dir)
        .arg("broker")
        .args([
            "--listener-url",
            &url,
            "--advertised-listener-url",
            &advertised,
        ])
        .args([
            "--storage-engine",
            "sqlite://nisshi.db",
            "--cluster-id",
            "security-tests",
        ])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if authentication {
        command.arg("--authentication");
    }
    command.spawn().expect("start nisshi")
}

fn wait_for_port(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_err() {
        assert!(Instant::now() < deadline, "nisshi did not listen on {addr}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl AuthNisshi {
    /// `advertised`: the address clients are told to use (a TLS proxy's),
    /// or `None` for the broker's own.
    fn start(users: &[(&str, &str, &str)], advertised: Option<&str>) -> AuthNisshi {
        let dir = std::env::temp_dir().join(format!(
            "ferrokafka-scram-{}-{}",
            std::process::id(),
            free_port().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let dir = TempDir(dir);
        let port = free_port().unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let own = addr.to_string();
        let advertised = advertised.unwrap_or(&own);
        let mut setup = spawn_nisshi(&dir.0, port, &own, false);
        wait_for_port(addr);
        for (mechanism, user, password) in users {
            let status = Command::new(nisshi_binary().unwrap())
                .current_dir(&dir.0)
                .args(["user", "create", "--broker", &format!("tcp://{addr}")])
                .args(["--mechanism", mechanism, user, password])
                .stdout(Stdio::null())
                .status()
                .unwrap();
            assert!(status.success(), "nisshi user create {user}");
        }
        let _ = setup.kill();
        let _ = setup.wait();
        let child = spawn_nisshi(&dir.0, port, advertised, true);
        wait_for_port(addr);
        AuthNisshi {
            child,
            addr,
            _dir: dir,
        }
    }
}

#[tokio::test]
async fn scram_sha_256_and_512_against_nisshi() {
    let broker = AuthNisshi::start(
        &[
            ("scram256", "alice", "alice-pw-256"),
            ("scram512", "bob", "bob-pw-512"),
        ],
        None,
    );
    let bootstrap = broker.addr.to_string();
    for (mechanism, user, password) in [
        ("SCRAM-SHA-256", "alice", "alice-pw-256"),
        ("SCRAM-SHA-512", "bob", "bob-pw-512"),
    ] {
        let client = Client::connect(sasl_config(&bootstrap, mechanism, user, password))
            .await
            .unwrap_or_else(|e| panic!("{mechanism} as {user}: {e}"));
        // Authenticated requests work.
        client.refresh_metadata(None).await.unwrap();
        let text = refused(
            sasl_config(&bootstrap, mechanism, user, "wrong-pw-9"),
            "wrong-pw-9",
        )
        .await;
        assert!(text.contains(mechanism) && text.contains(user), "{text}");
    }
}

// ---------------------------------------------------------------- TLS ----

/// A throw-away PKI written to a directory: a CA, a server certificate for
/// `localhost`, an expired one, a client certificate, and a second CA the
/// client does not trust.
struct Pki {
    dir: TempDir,
}

fn issue(
    params: &mut rcgen::CertificateParams,
    issuer: &rcgen::Issuer<'_, rcgen::KeyPair>,
) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, issuer).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn new_ca(name: &str) -> (String, rcgen::Issuer<'static, rcgen::KeyPair>) {
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, name);
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    (cert.pem(), rcgen::Issuer::new(params, key))
}

impl Pki {
    fn generate() -> Pki {
        let dir = std::env::temp_dir().join(format!(
            "ferrokafka-tls-{}-{}",
            std::process::id(),
            free_port().unwrap()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.join(name), text).unwrap();
        let (ca_pem, ca) = new_ca("ferrokafka test CA");
        write("ca.pem", &ca_pem);
        let (other_pem, _) = new_ca("some other CA");
        write("other-ca.pem", &other_pem);

        let mut server = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        server.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        let (cert, key) = issue(&mut server, &ca);
        write("server.pem", &cert);
        write("server.key", &key);

        let mut expired = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
        expired.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
        expired.not_before = rcgen::date_time_ymd(2001, 1, 1);
        expired.not_after = rcgen::date_time_ymd(2002, 1, 1);
        let (cert, key) = issue(&mut expired, &ca);
        write("expired.pem", &cert);
        write("expired.key", &key);

        let mut client = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        client
            .distinguished_name
            .push(rcgen::DnType::CommonName, "ferrokafka-client");
        client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let (cert, key) = issue(&mut client, &ca);
        write("client.pem", &cert);
        write("client.key", &key);
        // A Java-style PEM key store: chain and key in one file.
        write("client-keystore.pem", &format!("{cert}{key}"));
        Pki { dir: TempDir(dir) }
    }

    fn path(&self, name: &str) -> String {
        self.dir.0.join(name).display().to_string()
    }
}

/// stunnel4 terminating TLS in front of a plaintext port.
struct Stunnel {
    child: Child,
    port: u16,
}

impl Drop for Stunnel {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn stunnel_binary() -> String {
    for candidate in ["stunnel4", "stunnel"] {
        if Command::new(candidate)
            .arg("-version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok()
        {
            return candidate.to_owned();
        }
    }
    panic!("stunnel4 is not installed: run `apt-get install -y stunnel4`")
}

impl Stunnel {
    /// `cert`/`key`: the server identity; `client_ca`: require client
    /// certificates signed by it.
    fn start(
        pki: &Pki,
        port: u16,
        backend: SocketAddr,
        cert: &str,
        key: &str,
        client_ca: Option<&str>,
    ) -> Stunnel {
        Self::start_verifying(pki, port, backend, cert, key, client_ca, true)
    }

    /// As [`start`](Self::start); `required` false asks for a client
    /// certificate without requiring one.
    fn start_verifying(
        pki: &Pki,
        port: u16,
        backend: SocketAddr,
        cert: &str,
        key: &str,
        client_ca: Option<&str>,
        required: bool,
    ) -> Stunnel {
        let mut conf = format!(
            "foreground = yes\npid =\ndebug = 4\noutput = {}\n[kafka]\naccept = 127.0.0.1:{port}\nconnect = {backend}\ncert = {}\nkey = {}\n",
            pki.path(&format!("stunnel-{port}.log")),
            pki.path(cert),
            pki.path(key),
        );
        if let Some(ca) = client_ca {
            conf.push_str(&format!(
                "CAfile = {}\nverifyChain = yes\nrequireCert = {}\n",
                pki.path(ca),
                if required { "yes" } else { "no" }
            ));
        }
        let conf_path = pki.path(&format!("stunnel-{port}.conf"));
        std::fs::write(&conf_path, conf).unwrap();
        let child = Command::new(stunnel_binary())
            .arg(&conf_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start stunnel");
        wait_for_port(SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
        Stunnel { child, port }
    }
}

/// Plain Nisshi (memory storage) advertising `advertised`.
struct PlainNisshi {
    child: Child,
    addr: SocketAddr,
}

impl Drop for PlainNisshi {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl PlainNisshi {
    fn start(advertised: &str) -> PlainNisshi {
        let port = free_port().unwrap();
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
        let url = format!("tcp://{addr}");
        let child = Command::new(nisshi_binary().unwrap())
            .arg("broker")
            .args(["--listener-url", &url])
            .args(["--advertised-listener-url", &format!("tcp://{advertised}")])
            .args([
                "--storage-engine",
                "memory://nisshi/",
                "--cluster-id",
                "tls-tests",
            ])
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nisshi");
        wait_for_port(addr);
        PlainNisshi { child, addr }
    }
}

fn tls_config(bootstrap: &str, settings: &[(&str, &str)]) -> ClientConfig {
    let mut builder = ClientConfig::builder()
        .bootstrap_servers(bootstrap)
        .bootstrap_timeout(Duration::from_secs(20))
        .property("security.protocol", "SSL");
    for (k, v) in settings {
        builder = builder.property(k, v);
    }
    builder.build().unwrap()
}

/// Connects and expects a TLS refusal; returns its text.
async fn tls_refused(config: ClientConfig) -> String {
    let err = Client::connect(config).await.unwrap_err();
    let ErrorKind::Bootstrap(b) = err.kind() else {
        panic!("expected a bootstrap error, got {err}")
    };
    assert!(
        matches!(b.attempts[0].failure, ConnectFailure::Tls(_)),
        "{b}"
    );
    // Certificate problems are not retried until the deadline.
    assert_eq!(b.attempts[0].tries, 1, "{b}");
    b.attempts[0].failure.to_string()
}

#[tokio::test]
async fn tls_valid_chain_connects_and_each_bad_certificate_is_refused_with_its_cause() {
    let pki = Pki::generate();
    // The broker advertises the valid TLS port under the certificate's name.
    let valid_port = free_port().unwrap();
    let broker = PlainNisshi::start(&format!("localhost:{valid_port}"));
    let valid = Stunnel::start(
        &pki,
        valid_port,
        broker.addr,
        "server.pem",
        "server.key",
        None,
    );
    let expired = Stunnel::start(
        &pki,
        free_port().unwrap(),
        broker.addr,
        "expired.pem",
        "expired.key",
        None,
    );
    let mtls = Stunnel::start(
        &pki,
        free_port().unwrap(),
        broker.addr,
        "server.pem",
        "server.key",
        Some("ca.pem"),
    );
    let ca = pki.path("ca.pem");
    let trust = [
        ("ssl.truststore.location", ca.as_str()),
        ("ssl.truststore.type", "PEM"),
    ];

    // Valid chain, host name checked.
    let client = Client::connect(tls_config(&format!("localhost:{}", valid.port), &trust))
        .await
        .unwrap_or_else(|e| panic!("valid TLS: {e}"));
    client.refresh_metadata(None).await.unwrap();

    // Wrong host name: the certificate names localhost, not 127.0.0.1.
    let text = tls_refused(tls_config(&format!("127.0.0.1:{}", valid.port), &trust)).await;
    assert!(text.contains("does not name the host"), "{text}");
    // ...which the empty identification algorithm accepts (chain still checked).
    let mut no_name = trust.to_vec();
    no_name.push(("ssl.endpoint.identification.algorithm", ""));
    let bootstrap_ip = format!("127.0.0.1:{}", valid.port);
    let config = tls_config(&bootstrap_ip, &no_name);
    assert!(Client::connect(config).await.is_ok());

    // Unknown CA.
    let other = pki.path("other-ca.pem");
    let text = tls_refused(tls_config(
        &format!("localhost:{}", valid.port),
        &[("ssl.truststore.location", other.as_str())],
    ))
    .await;
    assert!(text.contains("not signed by a trusted CA"), "{text}");

    // Expired.
    let text = tls_refused(tls_config(&format!("localhost:{}", expired.port), &trust)).await;
    assert!(text.contains("expired"), "{text}");

    // Mutual TLS required, no client certificate.
    let text = tls_refused(tls_config(&format!("localhost:{}", mtls.port), &trust)).await;
    assert!(text.contains("client certificate"), "{text}");

    // Mutual TLS with a Java-style PEM key store...
    let keystore = pki.path("client-keystore.pem");
    let mut with_keystore = trust.to_vec();
    with_keystore.extend([
        ("ssl.keystore.location", keystore.as_str()),
        ("ssl.keystore.type", "PEM"),
    ]);
    let client = Client::connect(tls_config(
        &format!("localhost:{}", mtls.port),
        &with_keystore,
    ))
    .await
    .unwrap_or_else(|e| panic!("mTLS with key store: {e}"));
    client.refresh_metadata(None).await.unwrap();
    // ...and with librdkafka's file names.
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let rdkafka_style = [
        ("ssl.ca.location", ca.as_str()),
        ("ssl.certificate.location", cert.as_str()),
        ("ssl.key.location", key.as_str()),
    ];
    assert!(Client::connect(tls_config(
        &format!("localhost:{}", mtls.port),
        &rdkafka_style
    ))
    .await
    .is_ok());

    // PKCS#12 trust and key stores with passwords.
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl is installed (apt-get install -y openssl)");
        assert!(status.success(), "openssl {args:?}");
    };
    let (trust_p12, key_p12) = (pki.path("trust.p12"), pki.path("client.p12"));
    // keytool marks trust-store certificates with Oracle's trusted-usage
    // attribute; openssl 3.0 cannot, so the store is written in Rust.
    let mut trust_store = p12_keystore::KeyStore::new();
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    let ca_der = tokio_rustls::rustls::pki_types::CertificateDer::from_pem_file(&ca).unwrap();
    trust_store.add_entry(
        "ca",
        p12_keystore::KeyStoreEntry::Certificate(
            p12_keystore::Certificate::from_der(ca_der.as_ref()).unwrap(),
        ),
    );
    std::fs::write(
        &trust_p12,
        trust_store.writer("trust-pw-1").write().unwrap(),
    )
    .unwrap();
    openssl(&[
        "pkcs12",
        "-export",
        "-in",
        &cert,
        "-inkey",
        &key,
        "-out",
        &key_p12,
        "-passout",
        "pass:key-pw-2",
    ]);
    let p12 = [
        ("ssl.truststore.location", trust_p12.as_str()),
        ("ssl.truststore.type", "PKCS12"),
        ("ssl.truststore.password", "trust-pw-1"),
        ("ssl.keystore.location", key_p12.as_str()),
        ("ssl.keystore.type", "PKCS12"),
        ("ssl.keystore.password", "key-pw-2"),
    ];
    let client = Client::connect(tls_config(&format!("localhost:{}", mtls.port), &p12))
        .await
        .unwrap_or_else(|e| panic!("PKCS#12 stores: {e}"));
    client.refresh_metadata(None).await.unwrap();
    let mut wrong = p12.to_vec();
    wrong[5] = ("ssl.keystore.password", "not-the-pw-3");
    let err = Client::connect(tls_config(&format!("localhost:{}", mtls.port), &wrong))
        .await
        .unwrap_err();
    let text = format!("{err} {err:?}");
    assert!(
        text.contains("PKCS#12") && text.contains("ssl.keystore.location"),
        "{text}"
    );
    assert!(!text.contains("not-the-pw-3"), "{text}");

    // A JKS store is refused up front with the command that converts it.
    let err = Client::connect(tls_config(
        &format!("localhost:{}", valid.port),
        &[
            ("ssl.truststore.location", ca.as_str()),
            ("ssl.truststore.type", "JKS"),
        ],
    ))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("keytool -importkeystore"), "{err}");
}

/// TLS 1.3 brokers check the client certificate after the client's
/// Finished: the connector itself must report the refusal, so that no
/// Kafka request is written on a connection the broker is dropping.
#[tokio::test]
async fn mtls_refusal_is_reported_by_the_connector_before_any_request() {
    use ferrokafka::transport::{Connector, TlsConnector};
    let pki = Pki::generate();
    // The broker advertises the port that asks for a certificate optionally.
    let optional_port = free_port().unwrap();
    let broker = PlainNisshi::start(&format!("localhost:{optional_port}"));
    let required = Stunnel::start(
        &pki,
        free_port().unwrap(),
        broker.addr,
        "server.pem",
        "server.key",
        Some("ca.pem"),
    );
    let optional = Stunnel::start_verifying(
        &pki,
        optional_port,
        broker.addr,
        "server.pem",
        "server.key",
        Some("ca.pem"),
        false,
    );
    let other_ca = Stunnel::start(
        &pki,
        free_port().unwrap(),
        broker.addr,
        "server.pem",
        "server.key",
        Some("other-ca.pem"),
    );
    let ca = pki.path("ca.pem");
    let settings = |extra: &[(&str, &str)]| {
        let mut pairs = vec![("ssl.truststore.location", ca.as_str())];
        pairs.extend_from_slice(extra);
        let config = tls_config("localhost:1", &pairs);
        TlsConnector::new(config.security().tls()).unwrap()
    };
    let at = |port: u16| SocketAddr::from((Ipv4Addr::LOCALHOST, port));

    // Required, none configured: the connector fails, naming the setting
    // (before this, the handshake "succeeded" and the alert surfaced only
    // when the ApiVersions answer was read).
    let no_certificate = settings(&[]);
    let err = no_certificate
        .connect(at(required.port), "localhost")
        .await
        .err()
        .expect("the connector must report the missing client certificate");
    let ConnectFailure::Tls(text) = &err else {
        panic!("{err:?}")
    };
    assert!(
        text.contains("requires a client certificate") && text.contains("ssl.keystore.location"),
        "{text}"
    );
    // The same through the client: a TLS failure, not retried.
    let text = tls_refused(tls_config(
        &format!("localhost:{}", required.port),
        &[("ssl.truststore.location", ca.as_str())],
    ))
    .await;
    assert!(text.contains("requires a client certificate"), "{text}");

    // A certificate the broker does not trust: refused by the connector too.
    let (cert, key) = (pki.path("client.pem"), pki.path("client.key"));
    let with_certificate = settings(&[
        ("ssl.certificate.location", cert.as_str()),
        ("ssl.key.location", key.as_str()),
    ]);
    let err = with_certificate
        .connect(at(other_ca.port), "localhost")
        .await
        .err()
        .expect("the connector must report the refused client certificate");
    let ConnectFailure::Tls(text) = &err else {
        panic!("{err:?}")
    };
    assert!(text.contains("refused the client certificate"), "{text}");

    // Asked optionally, none configured: the connection proceeds...
    assert!(no_certificate
        .connect(at(optional.port), "localhost")
        .await
        .is_ok());
    // ...and so does a trusted certificate where one is required.
    assert!(with_certificate
        .connect(at(required.port), "localhost")
        .await
        .is_ok());
    let client = Client::connect(tls_config(
        &format!("localhost:{}", optional.port),
        &[("ssl.truststore.location", ca.as_str())],
    ))
    .await
    .unwrap_or_else(|e| panic!("optional client certificate: {e}"));
    client.refresh_metadata(None).await.unwrap();
}

/// Encrypted PEM keys for mutual TLS, as OpenSSL writes them: PKCS#8
/// (`openssl pkcs8 -topk8`) opens with ssl.key.password; the legacy
/// `Proc-Type: 4,ENCRYPTED` form is refused with the command converting it.
#[tokio::test]
async fn encrypted_pem_keys_for_mutual_tls() {
    let pki = Pki::generate();
    let port = free_port().unwrap();
    let broker = PlainNisshi::start(&format!("localhost:{port}"));
    let mtls = Stunnel::start(
        &pki,
        port,
        broker.addr,
        "server.pem",
        "server.key",
        Some("ca.pem"),
    );
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("openssl is installed (apt-get install -y openssl)");
        assert!(status.success(), "openssl {args:?}");
    };
    let (key, pkcs8, legacy) = (
        pki.path("client.key"),
        pki.path("client-pkcs8.key"),
        pki.path("client-legacy.key"),
    );
    openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        &key,
        "-out",
        &pkcs8,
        "-passout",
        "pass:enc-pw-4",
    ]);
    openssl(&[
        "ec",
        "-aes256",
        "-in",
        &key,
        "-out",
        &legacy,
        "-passout",
        "pass:enc-pw-4",
    ]);
    let read = |path: &str| std::fs::read_to_string(path).unwrap();
    assert!(read(&pkcs8).contains("BEGIN ENCRYPTED PRIVATE KEY"));
    assert!(read(&legacy).contains("Proc-Type: 4,ENCRYPTED"));
    let (ca, cert) = (pki.path("ca.pem"), pki.path("client.pem"));
    let bootstrap = format!("localhost:{}", mtls.port);
    let connect = |key_path: &str, password: &str| {
        let (cert_text, key_text) = (read(&cert), read(key_path));
        let ca = ca.clone();
        let bootstrap = bootstrap.clone();
        let password = password.to_owned();
        async move {
            let config = ClientConfig::builder()
                .bootstrap_servers(&bootstrap)
                .bootstrap_timeout(Duration::from_secs(20))
                .property("security.protocol", "SSL")
                .property("ssl.truststore.location", &ca)
                .property("ssl.keystore.type", "PEM")
                .property("ssl.keystore.certificate.chain", &cert_text)
                .property("ssl.keystore.key", &key_text)
                .property("ssl.key.password", &password)
                .build()
                .map_err(|e| e.to_string())?;
            Client::connect(config).await.map_err(|e| e.to_string())
        }
    };

    let client = connect(&pkcs8, "enc-pw-4")
        .await
        .unwrap_or_else(|e| panic!("encrypted PKCS#8 key: {e}"));
    client.refresh_metadata(None).await.unwrap();
    // The file form (ssl.key.location) too.
    let by_path = Client::connect(tls_config(
        &bootstrap,
        &[
            ("ssl.ca.location", ca.as_str()),
            ("ssl.certificate.location", cert.as_str()),
            ("ssl.key.location", pkcs8.as_str()),
            ("ssl.key.password", "enc-pw-4"),
        ],
    ))
    .await;
    assert!(by_path.is_ok(), "{:?}", by_path.err());

    let err = connect(&pkcs8, "wrong-pw-canary-5").await.unwrap_err();
    assert!(
        err.contains("ssl.key.password") && err.contains("wrong"),
        "{err}"
    );
    assert!(!err.contains("wrong-pw-canary-5"), "{err}");

    let err = connect(&legacy, "enc-pw-4").await.unwrap_err();
    assert!(err.contains("openssl pkcs8 -topk8"), "{err}");
}

#[tokio::test]
async fn sasl_ssl_scram_through_stunnel() {
    let pki = Pki::generate();
    let tls_port = free_port().unwrap();
    let broker = AuthNisshi::start(
        &[("scram512", "carol", "carol-pw-512")],
        Some(&format!("localhost:{tls_port}")),
    );
    let proxy = Stunnel::start(
        &pki,
        tls_port,
        broker.addr,
        "server.pem",
        "server.key",
        None,
    );
    let ca = pki.path("ca.pem");
    let bootstrap = format!("localhost:{}", proxy.port);
    let config = |password: &str| {
        sasl_builder(&bootstrap, "SCRAM-SHA-512", "carol", password)
            .property("security.protocol", "SASL_SSL")
            .property("ssl.truststore.location", &ca)
            .build()
            .unwrap()
    };
    let client = Client::connect(config("carol-pw-512")).await.unwrap();
    client.refresh_metadata(None).await.unwrap();
    let text = refused(config("nope-pw-0"), "nope-pw-0").await;
    assert!(text.contains("SCRAM-SHA-512"), "{text}");
}

#[tokio::test]
async fn scram_against_the_fake_cluster_and_a_malicious_scram_server() {
    use ferrokafka::auth::SaslError;
    use ferrokafka_fake::{ScramFault, ScramHash};
    for (hash, mechanism) in [
        (ScramHash::Sha256, "SCRAM-SHA-256"),
        (ScramHash::Sha512, "SCRAM-SHA-512"),
    ] {
        let honest = FakeCluster::builder()
            .sasl_scram_user(hash, "dave", "dave-pw-1")
            .build()
            .unwrap();
        let client = Client::connect(sasl_config(
            &honest.bootstrap(),
            mechanism,
            "dave",
            "dave-pw-1",
        ))
        .await
        .unwrap_or_else(|e| panic!("{mechanism}: {e}"));
        client.refresh_metadata(None).await.unwrap();
        refused(
            sasl_config(&honest.bootstrap(), mechanism, "dave", "dave-pw-2"),
            "dave-pw-2",
        )
        .await;

        for fault in [
            ScramFault::BadNonce,
            ScramFault::BadServerSignature,
            ScramFault::Iterations(10_000_000),
        ] {
            let evil = FakeCluster::builder()
                .sasl_scram_user(hash, "dave", "dave-pw-1")
                .scram_fault(fault)
                .build()
                .unwrap();
            let config = sasl_config(&evil.bootstrap(), mechanism, "dave", "dave-pw-1");
            let err = Client::connect(config).await.unwrap_err();
            let ErrorKind::Bootstrap(b) = err.kind() else {
                panic!("{fault:?}: {err}")
            };
            let ConnectFailure::SaslServerRejected { error, .. } = &b.attempts[0].failure else {
                panic!("{fault:?}: {b}")
            };
            assert_eq!(b.attempts[0].tries, 1, "{b}");
            let ok = match fault {
                ScramFault::BadNonce => matches!(error, SaslError::NonceMismatch { .. }),
                ScramFault::BadServerSignature => {
                    matches!(error, SaslError::BadServerSignature { .. })
                }
                _ => matches!(
                    error,
                    SaslError::BadIterations {
                        iterations: 10_000_000,
                        ..
                    }
                ),
            };
            assert!(ok, "{fault:?}: {error}");
            assert!(!format!("{err} {err:?}").contains("dave-pw-1"));
        }
    }
}

#[tokio::test]
async fn oauthbearer_against_a_pluggable_token_validator() {
    use ferrokafka::auth::token::StaticToken;
    use ferrokafka::auth::Secret;
    use std::sync::{Arc, Mutex};

    // The fake asks the test's own validator about every token it receives.
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let log = Arc::clone(&seen);
    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_oauthbearer_validator(move |token| {
            log.lock().unwrap().push(token.to_owned());
            token.strip_prefix("issued-for-").map(str::to_owned)
        })
        .build()
        .unwrap();
    let config = |token: &str| {
        ClientConfig::builder()
            .bootstrap_servers(&cluster.bootstrap())
            .bootstrap_timeout(Duration::from_secs(20))
            .property("security.protocol", "SASL_PLAINTEXT")
            .property("sasl.mechanism", "OAUTHBEARER")
            .oauthbearer_token_provider(Arc::new(StaticToken::new(Secret::new(token))))
            .build()
            .unwrap()
    };
    let client = Client::connect(config("issued-for-app")).await.unwrap();
    client.refresh_metadata(None).await.unwrap();
    assert!(seen.lock().unwrap().iter().any(|t| t == "issued-for-app"));

    let text = refused(config("forged"), "forged").await;
    assert!(text.contains("invalid_token"), "{text}");
    assert!(seen.lock().unwrap().iter().any(|t| t == "forged"));
}

#[tokio::test]
async fn oauthbearer_with_a_static_token_and_an_async_callback() {
    use ferrokafka::auth::token::{BearerToken, StaticToken, TokenCallback, TokenError};
    use ferrokafka::auth::Secret;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_oauthbearer_token("tok.good-1", "app")
        .build()
        .unwrap();
    let config = |provider: Arc<dyn ferrokafka::auth::token::TokenProvider>| {
        ClientConfig::builder()
            .bootstrap_servers(&cluster.bootstrap())
            .bootstrap_timeout(Duration::from_secs(20))
            .property("security.protocol", "SASL_PLAINTEXT")
            .property("sasl.mechanism", "OAUTHBEARER")
            .property(
                "sasl.jaas.config",
                "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required extension_logicalCluster=\"lkc-1\";",
            )
            .oauthbearer_token_provider(provider)
            .build()
            .unwrap()
    };
    let client = Client::connect(config(Arc::new(StaticToken::new(Secret::new(
        "tok.good-1",
    )))))
    .await
    .unwrap();
    client.refresh_metadata(None).await.unwrap();
    let text = refused(
        config(Arc::new(StaticToken::new(Secret::new("tok.bad-2")))),
        "tok.bad-2",
    )
    .await;
    assert!(text.contains("invalid_token"), "{text}");

    // The callback runs (asynchronously) for each new connection.
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let callback = TokenCallback::new(move || {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::SeqCst);
            tokio::task::yield_now().await;
            Ok(BearerToken::new(Secret::new("tok.good-1")))
        }
    });
    let client = Client::connect(config(Arc::new(callback))).await.unwrap();
    client.refresh_metadata(None).await.unwrap();
    assert!(calls.load(Ordering::SeqCst) >= 1);
    // A failing callback is reported as such.
    let failing = TokenCallback::new(|| async {
        Err(TokenError::Provider("identity provider unreachable".into()))
    });
    let err = Client::connect(config(Arc::new(failing)))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("identity provider unreachable"),
        "{err}"
    );
}

#[test]
fn the_seed_event_hubs_configuration_is_understood() {
    // Spark's options with the `kafka.` prefix removed, verbatim.
    let props: std::collections::HashMap<String, String> = [
        ("bootstrap.servers", "myns.servicebus.windows.net:9093"),
        ("security.protocol", "SASL_SSL"),
        ("sasl.mechanism", "OAUTHBEARER"),
        ("sasl.jaas.config", r#"kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required clientId="11111111-2222" clientSecret="seed-secret-5Tq" scope="https://myns.servicebus.windows.net/.default" ssl.protocol="SSL";"#),
        ("sasl.oauthbearer.token.endpoint.url", "https://login.microsoft.com/my-tenant/oauth2/v2.0/token"),
        ("sasl.login.callback.handler.class", "kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    // Every key is known and lands in the right setting.
    let mut parsed = ClientConfig::default();
    for (k, v) in &props {
        assert!(parsed.set(k, v).unwrap(), "{k} unknown");
    }
    let entra = parsed
        .security()
        .entra_client_credentials()
        .unwrap()
        .expect("Entra settings");
    assert_eq!(entra.tenant.as_deref(), Some("my-tenant"));
    assert_eq!(entra.client_id, "11111111-2222");
    assert_eq!(entra.client_secret.expose(), "seed-secret-5Tq");
    assert_eq!(
        entra.scope.as_deref(),
        Some("https://myns.servicebus.windows.net/.default")
    );
    assert_eq!(
        parsed.security_protocol(),
        ferrokafka::SecurityProtocol::SaslSsl
    );
    // The whole configuration validates (no network at this point) and
    // resolves to OAUTHBEARER with the Entra provider; nothing shows the
    // secret.
    let config = ClientConfig::from_properties(&props).unwrap();
    assert_eq!(
        config.security().sasl_auth().unwrap().mechanism(),
        ferrokafka::auth::Mechanism::OAuthBearer
    );
    let shown = format!("{config:?} {:?}", config.to_properties());
    assert!(!shown.contains("seed-secret-5Tq"), "{shown}");
}

/// The connection that carried the most requests of `api`, and how many
/// SASL handshakes ran on it.
fn busiest_connection(cluster: &FakeCluster, api: ApiKey) -> (u64, usize) {
    let requests = cluster.requests();
    let mut per_connection = std::collections::HashMap::<u64, usize>::new();
    for r in requests.iter().filter(|r| r.api_key == api) {
        *per_connection.entry(r.connection).or_default() += 1;
    }
    let (&busiest, _) = per_connection
        .iter()
        .max_by_key(|(_, n)| **n)
        .expect("no request of that API");
    let handshakes = requests
        .iter()
        .filter(|r| r.connection == busiest && r.api_key == ApiKey::SaslHandshake)
        .count();
    (busiest, handshakes)
}

/// KIP-368: the broker grants 1 s sessions; a stream of pipelined requests
/// for three lifetimes stays on one connection, which re-authenticates in
/// band (one sent on an expired session would fail: the broker closes
/// that connection).
async fn reauthenticates_in_band(mechanism: &str, builder: ferrokafka_fake::FakeClusterBuilder) {
    let cluster = builder
        .topic("t", 1)
        .sasl_session_lifetime(Duration::from_millis(1000))
        .build()
        .unwrap();
    let client = Client::connect(sasl_config(
        &cluster.bootstrap(),
        mechanism,
        "ann",
        "ann-pw",
    ))
    .await
    .unwrap();
    let tp = ferrokafka::TopicPartition::new("t", 0);
    let conn = client.leader_connection(&tp).await.unwrap();
    for i in 0..30 {
        let sends: Vec<_> = (0..4)
            .map(|_| conn.enqueue(&MetadataRequest::default()).unwrap())
            .collect();
        for (j, answer) in futures::future::join_all(sends)
            .await
            .into_iter()
            .enumerate()
        {
            answer.unwrap_or_else(|e| panic!("{mechanism}: round {i}, request {j}: {e}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!conn.is_closed(), "{mechanism}: {:?}", conn.failure());
    let (busiest, handshakes) = busiest_connection(&cluster, ApiKey::Metadata);
    // The first authentication and at least two renewals, on the
    // connection that carried (nearly) all 120 requests.
    assert!(
        handshakes >= 3,
        "{mechanism}: {handshakes} SASL handshakes on connection {busiest}"
    );
    let on_busiest = cluster
        .requests()
        .iter()
        .filter(|r| r.connection == busiest && r.api_key == ApiKey::Metadata)
        .count();
    assert!(on_busiest >= 120, "{mechanism}: {on_busiest} requests");
}

#[tokio::test]
async fn plain_sessions_are_renewed_in_band() {
    reauthenticates_in_band(
        "PLAIN",
        FakeCluster::builder().sasl_plain_user("ann", "ann-pw"),
    )
    .await;
}

#[tokio::test]
async fn scram_sessions_are_renewed_in_band() {
    reauthenticates_in_band(
        "SCRAM-SHA-512",
        FakeCluster::builder().sasl_scram_user(ferrokafka_fake::ScramHash::Sha512, "ann", "ann-pw"),
    )
    .await;
}

#[tokio::test]
async fn a_refused_reauthentication_closes_the_connection_with_a_retriable_error() {
    use ferrokafka::ConnectionFailure;
    use ferrokafka_fake::{Fault, FaultAction};
    let cluster = FakeCluster::builder()
        .topic("t", 1)
        .sasl_plain_user("ann", "ann-pw")
        .sasl_session_lifetime(Duration::from_millis(500))
        .build()
        .unwrap();
    let client = Client::connect(sasl_config(&cluster.bootstrap(), "PLAIN", "ann", "ann-pw"))
        .await
        .unwrap();
    let tp = ferrokafka::TopicPartition::new("t", 0);
    let conn = client.leader_connection(&tp).await.unwrap();
    conn.send(&MetadataRequest::default()).await.unwrap();
    // The next SaslAuthenticate is the renewal: refuse it.
    let refused = cluster.inject(
        Fault::on(ApiKey::SaslAuthenticate).action(FaultAction::Error(
            ferrokafka_fake::ResponseError::SaslAuthenticationFailed,
        )),
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    let err = conn.send(&MetadataRequest::default()).await.unwrap_err();
    assert_eq!(cluster.fault_hits(refused), 1);
    match err.kind() {
        ErrorKind::Connection(ConnectionFailure::Reauthentication(cause)) => {
            assert!(
                matches!(**cause, ConnectFailure::Authentication { .. }),
                "{cause}"
            );
        }
        other => panic!("expected a re-authentication failure, got {other}"),
    }
    assert!(err.is_retriable(), "{err}");
    assert!(err.to_string().contains("re-authentication"), "{err}");
    assert!(conn.is_closed());
    // The pool's next connection authenticates afresh.
    let next = client.leader_connection(&tp).await.unwrap();
    next.send(&MetadataRequest::default()).await.unwrap();
}
