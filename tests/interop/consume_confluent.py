"""Reads records with librdkafka (PyPI confluent-kafka) and prints them,
for tests/tests/producer_interop.rs; or reports where librdkafka's
murmur2_random partitioner puts random keys.

Usage:
  consume_confluent.py read BOOTSTRAP TOPIC PARTITIONS COUNT
      Reads COUNT records in total from partitions 0..PARTITIONS-1 (from
      the start) and prints one line a record:
      partition<TAB>offset<TAB>timestamp<TAB>key<TAB>value<TAB>headers
      key/value: hex, or "-" for null; headers: comma-separated
      key_hex=value_hex (value "-" for null), "" for none.
  consume_confluent.py partition BOOTSTRAP TOPIC COUNT SEED
      Produces COUNT records with random keys (0..40 random bytes) with
      partitioner=murmur2_random and prints key_hex<TAB>partition per
      delivered record ("" for the empty key).
"""
import random
import sys

from confluent_kafka import Consumer, Producer, TopicPartition


def hx(data):
    return "-" if data is None else data.hex()


def read(bootstrap, topic, partitions, count):
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": "ferrokafka-interop-read",
        "enable.auto.commit": False,
        "check.crcs": True,
    })
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    lines = []
    idle = 0
    while len(lines) < count and idle < 200:
        msg = consumer.poll(0.1)
        if msg is None:
            idle += 1
            continue
        if msg.error():
            raise SystemExit(f"consume error: {msg.error()}")
        idle = 0
        headers = msg.headers() or []
        hdrs = ",".join(f"{k.encode().hex()}={hx(v)}" for k, v in headers)
        lines.append(f"{msg.partition()}\t{msg.offset()}\t{msg.timestamp()[1]}\t"
                     f"{hx(msg.key())}\t{hx(msg.value())}\t{hdrs}")
    consumer.close()
    print("\n".join(lines))


def partition(bootstrap, topic, count, seed):
    rng = random.Random(seed)
    producer = Producer({
        "bootstrap.servers": bootstrap,
        "partitioner": "murmur2_random",
        "linger.ms": 20,
        "enable.idempotence": False,
    })
    out = []
    errors = []

    def report(err, msg):
        if err is not None:
            errors.append(err)
        else:
            out.append(f"{msg.key().hex()}\t{msg.partition()}")

    for _ in range(count):
        key = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 41)))
        producer.produce(topic, key=key, value=b"v", on_delivery=report)
        producer.poll(0)
    producer.flush(60)
    if errors:
        raise SystemExit(f"delivery errors: {errors[:5]}")
    print("\n".join(out))


def main():
    mode = sys.argv[1]
    if mode == "read":
        read(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif mode == "partition":
        partition(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
