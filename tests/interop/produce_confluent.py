"""Produces interop records with librdkafka (PyPI confluent-kafka) and
prints what it sent, one record per line, for tests/tests/client_interop.rs.

Usage: produce_confluent.py BOOTSTRAP TOPIC

Partition i gets the records of codec CODECS[i]. Output lines:
  partition<TAB>timestamp<TAB>key<TAB>value<TAB>headers
key/value: hex, or "-" for null; headers: comma-separated key_hex=value_hex
(value "-" for null), "" for none.
"""
import sys

from confluent_kafka import Producer

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def hx(data):
    return "-" if data is None else data.hex()


def records(partition):
    base = 1_600_000_000_000 + partition * 1_000_000
    out = []
    for i in range(40):
        key = None if i % 7 == 3 else f"key-{partition}-{i}".encode()
        value = None if i % 11 == 5 else bytes((i + j) % 256 for j in range(i * 13 % 300))
        headers = []
        if i % 3 == 0:
            headers = [("dup", b"first"), ("dup", b"second"), ("null", None)]
        elif i % 3 == 1:
            headers = [("bin", bytes(range(256))[i:i + 5])]
        out.append((base + i * 17, key, value, headers))
    # A large, compressible value that spans many bytes.
    out.append((base + 9999, b"big", b"abcdefgh" * 20000, []))
    return out


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    lines = []
    for partition, codec in enumerate(CODECS):
        producer = Producer({
            "bootstrap.servers": bootstrap,
            "compression.codec": codec,
            "linger.ms": 50,
            "acks": "all",
            "enable.idempotence": False,
            "message.max.bytes": 10_000_000,
        })
        errors = []

        def report(err, _msg):
            if err is not None:
                errors.append(err)

        for ts, key, value, headers in records(partition):
            producer.produce(topic, value=value, key=key, partition=partition,
                             timestamp=ts, headers=headers or None, on_delivery=report)
            hdrs = ",".join(f"{k.encode().hex()}={hx(v)}" for k, v in headers)
            lines.append(f"{partition}\t{ts}\t{hx(key)}\t{hx(value)}\t{hdrs}")
        left = producer.flush(30)
        if left or errors:
            sys.exit(f"librdkafka could not deliver ({codec}): {left} left, errors {errors}")
    sys.stdout.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
