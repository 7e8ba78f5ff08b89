//! The standalone binary: starts the brokers it announces, and each of
//! them answers Kafka requests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn the_binary_serves_the_brokers_it_announces() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ferrokafka-fake"))
        .args(["--brokers", "3", "--port", "0", "--topic", "orders:6"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("start ferrokafka-fake");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let bootstrap = loop {
        let line = lines.next().expect("a bootstrap line").unwrap();
        if let Some(servers) = line.strip_prefix("bootstrap.servers=") {
            break servers.to_owned();
        }
    };
    let addrs: Vec<&str> = bootstrap.split(',').collect();
    assert_eq!(addrs.len(), 3, "{bootstrap}");
    for addr in addrs {
        assert!(addr.starts_with("127.0.0.1:"), "{addr}");
        let mut socket = TcpStream::connect(addr).unwrap();
        // ApiVersions v0, correlation id 7, null client id.
        socket
            .write_all(&[0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 7, 0xff, 0xff])
            .unwrap();
        let mut head = [0u8; 10];
        socket.read_exact(&mut head).unwrap();
        let correlation = i32::from_be_bytes([head[4], head[5], head[6], head[7]]);
        let error_code = i16::from_be_bytes([head[8], head[9]]);
        assert_eq!((correlation, error_code), (7, 0));
    }
    let bad = Command::new(env!("CARGO_BIN_EXE_ferrokafka-fake"))
        .args(["--topic", "orders:zero"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("orders:6"));
    child.kill().unwrap();
    child.wait().unwrap();
}
