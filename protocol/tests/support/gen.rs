//! A deterministic generator of non-default field values, shared by the
//! request and response round-trip tests: every field gets a distinct
//! value, so a schema that skips or swaps a field cannot round-trip.
//!
//! Include with `#[path = "support/gen.rs"] mod gen;`.
#![allow(dead_code)]

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::messages::{BrokerId, GroupId, ProducerId, TopicName};
use kafka_protocol::protocol::StrBytes;

/// Deterministic generator of non-default field values.
pub(crate) struct Gen {
    pub(crate) n: u32,
    /// Every nullable value is null.
    pub(crate) nulls: bool,
    /// The version being built is flexible (tagged fields exist).
    pub(crate) flexible: bool,
}

impl Gen {
    pub(crate) fn next(&mut self) -> u32 {
        self.n += 1;
        self.n
    }
    pub(crate) fn i8(&mut self) -> i8 {
        0x21 + (self.next() % 0x50) as i8
    }
    pub(crate) fn i16(&mut self) -> i16 {
        0x6B00 | (self.next() & 0xff) as i16
    }
    pub(crate) fn i32(&mut self) -> i32 {
        0x6B6C_0000 | (self.next() & 0xffff) as i32
    }
    pub(crate) fn i64(&mut self) -> i64 {
        0x6B6C_6D6E_0000_0000 | i64::from(self.next())
    }
    pub(crate) fn broker(&mut self) -> BrokerId {
        BrokerId(self.i32())
    }
    pub(crate) fn uuid(&mut self) -> uuid::Uuid {
        uuid::Uuid::from_u128(0x6B6C_6D6E_6F70_7172_7374_7576_0000_0000 | u128::from(self.next()))
    }
    /// A string of 3 to 13 bytes, some of them multi-byte UTF-8.
    pub(crate) fn s(&mut self) -> StrBytes {
        let n = self.next();
        StrBytes::from_string(format!("r{n}-{}", "ß".repeat((n % 5) as usize)))
    }
    pub(crate) fn os(&mut self) -> Option<StrBytes> {
        (!self.nulls).then(|| self.s())
    }
    pub(crate) fn topic(&mut self) -> TopicName {
        TopicName(self.s())
    }
    pub(crate) fn producer(&mut self) -> ProducerId {
        ProducerId(self.i64())
    }
    pub(crate) fn group(&mut self) -> GroupId {
        GroupId(self.s())
    }
    pub(crate) fn bytes(&mut self) -> Bytes {
        let n = self.next();
        Bytes::from(
            (0..(n % 13 + 1))
                .map(|i| (n * 7 + i) as u8)
                .collect::<Vec<u8>>(),
        )
    }
    pub(crate) fn ob(&mut self) -> Option<Bytes> {
        (!self.nulls).then(|| self.bytes())
    }
    /// Unknown tagged fields (only in flexible versions): one with a
    /// payload, one empty, with tags no request defines.
    pub(crate) fn tags(&mut self) -> BTreeMap<i32, Bytes> {
        let mut tags = BTreeMap::new();
        if self.flexible {
            tags.insert(90, self.bytes());
            tags.insert(200 + (self.next() % 40) as i32, Bytes::new());
        }
        tags
    }
    pub(crate) fn list<T>(&mut self, mut f: impl FnMut(&mut Self) -> T) -> Vec<T> {
        (0..2).map(|_| f(self)).collect()
    }
    pub(crate) fn olist<T>(&mut self, f: impl FnMut(&mut Self) -> T) -> Option<Vec<T>> {
        if self.nulls {
            None
        } else {
            Some(self.list(f))
        }
    }
}
