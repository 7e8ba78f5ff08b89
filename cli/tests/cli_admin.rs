//! The `ferrokafka` binary against the fake cluster: topics, offsets and
//! write, their output, and the exit code of each kind of failure.

mod support;

use ferrokafka_fake::FakeCluster;
use support::{ferrokafka, json_lines, ok};

#[test]
fn topics_offsets_and_write() {
    let cluster = FakeCluster::builder().build().unwrap();
    let b = cluster.bootstrap();
    ok(&ferrokafka(
        &[
            "-b",
            &b,
            "topics",
            "create",
            "events",
            "-p",
            "3",
            "--set",
            "retention.ms=60000",
        ],
        None,
    ));
    let listed = json_lines(&ok(&ferrokafka(
        &["-b", &b, "topics", "list", "--output", "json"],
        None,
    )));
    assert_eq!(
        listed,
        vec![serde_json::json!({"topic": "events", "partitions": 3, "internal": false})]
    );

    // Text lines with keys: keyed records spread by the Java partitioner.
    let input: String = (0..30).map(|i| format!("key-{i}:value {i}\n")).collect();
    let written = ferrokafka(
        &["-b", &b, "write", "events", "--key-delimiter", ":"],
        Some(input.as_bytes()),
    );
    ok(&written);
    assert!(
        String::from_utf8_lossy(&written.stderr).contains("30 records written"),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let offsets = json_lines(&ok(&ferrokafka(
        &["-b", &b, "offsets", "events", "--output", "json"],
        None,
    )));
    let total: i64 = offsets
        .iter()
        .map(|o| o["latest"].as_i64().unwrap() - o["earliest"].as_i64().unwrap())
        .sum();
    assert_eq!(total, 30);

    // JSON lines, base64, headers with duplicates and nulls, an explicit
    // partition and timestamp.
    let line = serde_json::json!({
        "key": "AAEC",
        "value": "/wD+",
        "partition": 1,
        "timestamp": 1_700_000_000_123_i64,
        "headers": [{"key": "h", "value": "eA=="}, {"key": "h", "value": null}],
    });
    ok(&ferrokafka(
        &[
            "-b",
            &b,
            "write",
            "events",
            "--format",
            "json",
            "--encoding",
            "base64",
        ],
        Some(format!("{line}\n").as_bytes()),
    ));
    let batches = cluster.batches("events", 1).unwrap();
    let last = batches.last().unwrap();
    let records = last.records().unwrap();
    let record = records.iter().last().unwrap().unwrap();
    assert_eq!(record.key(), Some(&[0u8, 1, 2][..]));
    assert_eq!(record.value(), Some(&[0xffu8, 0, 0xfe][..]));
    assert_eq!(record.timestamp(), 1_700_000_000_123);
    let headers: Vec<(Vec<u8>, Option<Vec<u8>>)> = record
        .headers()
        .iter()
        .map(|h| {
            let h = h.unwrap();
            (h.key().to_vec(), h.value().map(<[u8]>::to_vec))
        })
        .collect();
    assert_eq!(
        headers,
        vec![(b"h".to_vec(), Some(b"x".to_vec())), (b"h".to_vec(), None)]
    );

    // Describe: every partition with its offsets.
    let described = json_lines(&ok(&ferrokafka(
        &["-b", &b, "topics", "describe", "events", "--output", "json"],
        None,
    )));
    assert_eq!(described.len(), 3);
    assert_eq!(
        described
            .iter()
            .map(|p| p["records"].as_i64().unwrap())
            .sum::<i64>(),
        31
    );
    ok(&ferrokafka(&["-b", &b, "topics", "delete", "events"], None));
    let listed = ok(&ferrokafka(
        &["-b", &b, "topics", "list", "--output", "json"],
        None,
    ));
    assert!(listed.trim().is_empty(), "{listed}");
}

#[test]
fn each_kind_of_failure_has_its_exit_code() {
    let cluster = FakeCluster::builder().topic("t", 1).build().unwrap();
    let b = cluster.bootstrap();
    let code = |args: &[&str]| {
        let out = ferrokafka(args, None);
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // A wrong command line.
    assert_eq!(code(&["topics", "frobnicate"]).0, 2);
    // No cluster given; a misspelt client setting (with the key meant).
    let (c, text) = code(&["topics", "list"]);
    assert_eq!(c, 3, "{text}");
    assert!(text.contains("-b host:port"), "{text}");
    let (c, text) = code(&[
        "-b",
        &b,
        "-o",
        "kafka.request.timeout=100",
        "topics",
        "list",
    ]);
    assert_eq!(c, 3, "{text}");
    assert!(
        text.contains("did you mean kafka.request.timeout.ms"),
        "{text}"
    );
    // Nothing listens there.
    let (c, text) = code(&[
        "-b",
        "127.0.0.1:1",
        "-o",
        "kafka.bootstrap.timeout.ms=500",
        "topics",
        "list",
    ]);
    assert_eq!(c, 4, "{text}");
    // The broker refuses: no such topic.
    let (c, text) = code(&["-b", &b, "offsets", "missing"]);
    assert_eq!(c, 5, "{text}");
    // A bad line in the input stops the write, naming the line.
    let out = ferrokafka(
        &["-b", &b, "write", "t", "--format", "json"],
        Some(b"{\"value\": \"a\"}\nnot json\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
}

#[test]
fn secrets_come_from_files_and_the_environment_and_are_never_shown() {
    let dir = std::env::temp_dir().join(format!("fk-cli-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let jaas = dir.join("jaas.conf");
    std::fs::write(
        &jaas,
        "org.apache.kafka.common.security.plain.PlainLoginModule required username=\"u\" password=\"file-canary-7\";\n",
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ferrokafka"))
        .args([
            "-b",
            "127.0.0.1:9",
            "-o",
            "kafka.security.protocol=SASL_PLAINTEXT",
            "-o",
            "kafka.sasl.mechanism=PLAIN",
            "-o",
            &format!("kafka.sasl.jaas.config=@{}", jaas.display()),
            "-o",
            "kafka.ssl.truststore.password=env:FK_CLI_CANARY",
            "-vv",
            "config",
            "check",
        ])
        .env("FK_CLI_CANARY", "env-canary-9")
        .output()
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // TLS settings without TLS are refused (exit 3), naming the key only.
    assert_eq!(out.status.code(), Some(3), "{all}");
    assert!(all.contains("ssl.truststore.password"), "{all}");
    assert!(
        !all.contains("file-canary-7") && !all.contains("env-canary-9"),
        "{all}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
