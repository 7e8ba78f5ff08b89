//! The seed's option maps, accepted verbatim by `-o`, `--options` (JSON
//! and TOML) and `--config` (Java properties), end to end: the plain read
//! and write maps, the SSL map over mutual TLS and the Event Hubs OAuth map
//! with a local token endpoint, on the fake cluster. Secrets never show.

use std::process::{Command, Output};

use ferrokafka_fake::FakeCluster;
use ferrokafka_tests::oauth_endpoint::{Reply, TokenEndpoint};
use ferrokafka_tests::pki::Pki;
use ferrokafka_tests::tempdir::TempDir;

const SECRET: &str = "seed-secret-4Qx";

fn ferrokafka(args: &[&str], stdin: Option<&str>) -> Output {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
        .args(args)
        .env_remove("FERROKAFKA_BOOTSTRAP_SERVERS")
        .env("FK_SEED_SECRET", SECRET)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run ferrokafka");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or("").as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains(SECRET), "the secret shows: {all}");
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Writes a file into `dir`; its path as an option value.
fn file(dir: &TempDir, name: &str, contents: &str) -> String {
    dir.write(name, contents).display().to_string()
}

fn values(out: &Output) -> Vec<String> {
    let mut values: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    values.sort();
    values
}

fn lines(n: usize) -> (String, Vec<String>) {
    let mut expected: Vec<String> = (0..n).map(|i| format!("record {i}")).collect();
    let input = expected.iter().map(|l| format!("{l}\n")).collect();
    expected.sort();
    (input, expected)
}

#[test]
fn seed_plain_read_and_write_maps() {
    let cluster = FakeCluster::builder().topic("orders", 2).build().unwrap();
    let dir = TempDir::new("cli-seed-plain");
    // The seed's write map as -o pairs; its read map as an options file.
    let bootstrap = cluster.bootstrap();
    let (input, expected) = lines(20);
    ferrokafka(
        &[
            "-o",
            &format!("kafka.bootstrap.servers={bootstrap}"),
            "-o",
            "topic=orders",
            "write",
        ],
        Some(&input),
    );
    let json = file(&dir,
        "read.json",
        &r#"{"kafka.bootstrap.servers": "host:9092", "subscribe": "orders", "startingOffsets": "earliest"}"#
            .replace("host:9092", &bootstrap),
    );
    let out = ferrokafka(&["--options", &json, "read", "--output", "raw"], None);
    assert_eq!(values(&out), expected);
    // The batch-read map: earliest to latest, as TOML.
    let toml = file(
        &dir,
        "batch.toml",
        &format!(
            "subscribe = \"orders\"\nstartingOffsets = \"earliest\"\nendingOffsets = \"latest\"\n\
             [kafka]\n\"bootstrap.servers\" = \"{bootstrap}\"\n"
        ),
    );
    let out = ferrokafka(&["--options", &toml, "read", "--output", "raw"], None);
    assert_eq!(values(&out), expected);
}

#[test]
fn seed_ssl_map_by_option_pairs_and_by_java_properties() {
    let pki = Pki::generate(&["localhost", "127.0.0.1"]);
    let cluster = FakeCluster::builder()
        .topic("orders", 2)
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .tls_client_ca(pki.ca().pem())
        .build()
        .unwrap();
    let (truststore, keystore) = pki.java_stores(SECRET);
    // The seed's SSL map verbatim (but for addresses and paths) as -o
    // pairs, the passwords from the environment.
    let pairs = [
        format!("kafka.bootstrap.servers={}", cluster.bootstrap()),
        "kafka.security.protocol=SSL".to_owned(),
        format!("kafka.ssl.truststore.location={truststore}"),
        "kafka.ssl.truststore.password=env:FK_SEED_SECRET".to_owned(),
        "kafka.ssl.truststore.type=PKCS12".to_owned(),
        format!("kafka.ssl.keystore.location={keystore}"),
        "kafka.ssl.keystore.password=env:FK_SEED_SECRET".to_owned(),
        "kafka.ssl.keystore.type=PKCS12".to_owned(),
        "kafka.ssl.key.password=env:FK_SEED_SECRET".to_owned(),
    ];
    let mut args: Vec<&str> = pairs.iter().flat_map(|p| ["-o", p.as_str()]).collect();
    args.extend(["write", "orders"]);
    let (input, expected) = lines(10);
    ferrokafka(&args, Some(&input));
    // The same settings as a Java client.properties, as Kafka's tools
    // take it (passwords in the file, as such files hold them).
    let properties = file(
        pki.dir(),
        "client.properties",
        &format!(
            "bootstrap.servers={}\nsecurity.protocol=SSL\n\
             ssl.truststore.location={truststore}\nssl.truststore.password={SECRET}\n\
             ssl.truststore.type=PKCS12\nssl.keystore.location={keystore}\n\
             ssl.keystore.password={SECRET}\nssl.keystore.type=PKCS12\nssl.key.password={SECRET}\n",
            cluster.bootstrap()
        ),
    );
    let out = ferrokafka(
        &[
            "--config",
            &properties,
            "-vv",
            "read",
            "orders",
            "--output",
            "raw",
        ],
        None,
    );
    assert_eq!(values(&out), expected);
}

#[test]
fn seed_event_hubs_oauth_map_from_an_options_file() {
    const KEY: &[u8] = b"event-hubs-signing-key";
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let endpoint = runtime.block_on(TokenEndpoint::start(vec![], Reply::Jwt(KEY, 300)));
    let pki = Pki::generate(&["localhost", "127.0.0.1"]);
    let cluster = FakeCluster::builder()
        .topic("events", 2)
        .tls(pki.server().cert_pem.clone(), pki.server().key_pem.clone())
        .sasl_oauthbearer_jwt(KEY, "kafka")
        .build()
        .unwrap();
    // The seed's Event Hubs map verbatim (kafkashaded classes, client
    // credentials and scope in the JAAS string) as TOML, but for the
    // addresses, the test CAs and the secret, which comes from a file.
    let jaas = file(
        pki.dir(),
        "jaas.conf",
        &format!(
            "kafkashaded.org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule \
             required clientId=\"app-7\" clientSecret=\"{SECRET}\" \
             scope=\"https://myns.servicebus.windows.net/.default\" ssl.protocol=\"SSL\";\n"
        ),
    );
    let toml = file(pki.dir(),
        "eventhubs.toml",
        &format!(
            "[kafka]\n\
             \"bootstrap.servers\" = \"{bootstrap}\"\n\
             \"security.protocol\" = \"SASL_SSL\"\n\
             \"sasl.mechanism\" = \"OAUTHBEARER\"\n\
             \"sasl.jaas.config\" = \"@{jaas}\"\n\
             \"sasl.oauthbearer.token.endpoint.url\" = \"{url}\"\n\
             \"sasl.login.callback.handler.class\" = \
             \"kafkashaded.org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerLoginCallbackHandler\"\n\
             \"ssl.truststore.location\" = \"{ca}\"\n\
             \"ssl.truststore.type\" = \"PEM\"\n\
             \"sasl.oauthbearer.ssl.ca.location\" = \"{endpoint_ca}\"\n",
            bootstrap = cluster.bootstrap(),
            url = endpoint.url("tenant-1"),
            ca = pki.path("ca.pem"),
            endpoint_ca = endpoint.ca.display(),
        ),
    );
    let (input, expected) = lines(10);
    ferrokafka(&["--options", &toml, "write", "events"], Some(&input));
    let out = ferrokafka(
        &[
            "--options",
            &toml,
            "-vv",
            "read",
            "events",
            "--output",
            "raw",
        ],
        None,
    );
    assert_eq!(values(&out), expected);
    let bodies = endpoint.bodies.lock().unwrap().clone();
    assert!(!bodies.is_empty());
    assert!(
        bodies
            .iter()
            .all(|b| b.contains("grant_type=client_credentials") && b.contains("client_id=app-7")),
        "{bodies:?}"
    );
    drop(runtime);
}
