//! The round trip that proves a schema table matches `kafka-protocol`'s
//! wire layout, shared by the response and the request round-trip tests
//! (`bounded_roundtrip.rs`, `request_roundtrip.rs`).
//!
//! For every implemented version of an API, a message is built twice by
//! the test file's builder (once with every nullable value present, once
//! with all of them null), encoded with `Encodable::encode`, and then:
//! - the walk must end exactly at the end of the encoding;
//! - the typed and the `*_kind` decoders must return a value equal to the
//!   original and consume the body;
//! - every strict prefix must be refused;
//! - with 1 to 16 bytes after the last field, the walk must still end at
//!   the same place and both decoders must return the same value, the
//!   extra bytes consumed and ignored (as Kafka ignores them);
//! - every byte nudged up or down by one either fails the walk, or
//!   `kafka-protocol` refuses it, or both read exactly the same bytes.
//!
//! Include with `#[path = "support/gen.rs"] mod gen;` and
//! `#[macro_use] #[path = "support/roundtrip.rs"] mod roundtrip;` at the
//! root of the test, then list the builders with [`round_trips!`].
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::fmt::Debug;

use bytes::{Bytes, BytesMut};
use ferrokafka_protocol::bounded::{
    decode_request, decode_request_kind, decode_response, decode_response_kind, supported_versions,
    validate, validate_request, BoundedRequest, BoundedResponse, DecodeError, RequestDecodeError,
    SUPPORTED_VERSIONS,
};
use kafka_protocol::messages::{ApiKey, RequestKind, ResponseKind};
use kafka_protocol::protocol::Encodable;

use crate::gen::Gen;

/// Declares, in a module `round_trip`, one test per builder (named after
/// it) running [`round_trip`], a test that every API of the table has a
/// builder in the list, and a test that versions and APIs outside the
/// table are refused. `$side` is [`Responses`] or [`Requests`].
macro_rules! round_trips {
    ($side:ident: $($build:ident),* $(,)?) => {
        mod round_trip {
            use crate::roundtrip::{self, $side};

            $(
                #[test]
                fn $build() {
                    roundtrip::round_trip::<$side, _>(super::$build);
                }
            )*

            #[test]
            fn every_api_of_the_table_has_one() {
                roundtrip::assert_covers_the_table(&[
                    $(roundtrip::api_of::<$side, _>(super::$build)),*
                ]);
            }

            #[test]
            fn versions_and_apis_outside_the_table_are_refused() {
                roundtrip::assert_outside_the_table_is_refused::<$side>();
            }
        }
    };
}

/// What kind of failure a decoding error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// The walk refused the body.
    Malformed,
    /// The walk accepted it, `kafka-protocol` did not.
    Rejected,
    /// Not an implemented version of the API.
    UnsupportedVersion {
        api_key: ApiKey,
        version: i16,
        supported: (i16, i16),
    },
    /// Not an implemented API.
    UnsupportedApi,
}

/// One direction of the bounded decoder: [`Responses`] or [`Requests`].
pub(crate) trait Side {
    /// `ResponseKind` or `RequestKind`.
    type Kind: PartialEq + Debug;
    /// `DecodeError` or `RequestDecodeError`.
    type Error: std::error::Error;
    /// "response" or "request", for messages.
    const NOUN: &'static str;
    fn validate(api: ApiKey, version: i16, body: &[u8]) -> Result<usize, Self::Error>;
    fn decode_kind(api: ApiKey, version: i16, body: &mut Bytes) -> Result<Self::Kind, Self::Error>;
    fn failure(error: &Self::Error) -> Failure;
}

/// A message type of one side.
pub(crate) trait Message<S: Side>: Encodable + PartialEq + Debug + Clone {
    const API: ApiKey;
    fn decode(body: &mut Bytes, version: i16) -> Result<Self, S::Error>;
    fn into_kind(self) -> S::Kind;
}

/// Implements [`Side`] for `$side` and [`Message`] for its message types,
/// from the entry points and error type of that side.
macro_rules! side {
    (
        $(#[$doc:meta])* $side:ident, $noun:literal, $kind:ident, $error:ident,
        $bound:ident, $validate:ident, $decode_kind:ident, $decode:ident
    ) => {
        $(#[$doc])*
        pub(crate) struct $side;

        impl Side for $side {
            type Kind = $kind;
            type Error = $error;
            const NOUN: &'static str = $noun;
            fn validate(api: ApiKey, version: i16, body: &[u8]) -> Result<usize, $error> {
                $validate(api, version, body)
            }
            fn decode_kind(api: ApiKey, version: i16, body: &mut Bytes) -> Result<$kind, $error> {
                $decode_kind(api, version, body)
            }
            fn failure(error: &$error) -> Failure {
                match *error {
                    $error::Malformed { .. } => Failure::Malformed,
                    $error::Rejected { .. } => Failure::Rejected,
                    $error::UnsupportedVersion {
                        api_key,
                        version,
                        supported,
                    } => Failure::UnsupportedVersion {
                        api_key,
                        version,
                        supported,
                    },
                    $error::UnsupportedApi { .. } => Failure::UnsupportedApi,
                    _ => panic!("a new kind of {}: {error}", stringify!($error)),
                }
            }
        }

        impl<M> Message<$side> for M
        where
            M: $bound + Encodable + PartialEq + Debug + Clone,
            $kind: From<M>,
        {
            const API: ApiKey = M::API_KEY;
            fn decode(body: &mut Bytes, version: i16) -> Result<M, $error> {
                $decode(body, version)
            }
            fn into_kind(self) -> $kind {
                $kind::from(self)
            }
        }
    };
}

side!(
    /// Responses, as a client reads them.
    Responses, "response", ResponseKind, DecodeError,
    BoundedResponse, validate, decode_response_kind, decode_response
);

side!(
    /// Requests, as a broker reads them.
    Requests, "request", RequestKind, RequestDecodeError,
    BoundedRequest, validate_request, decode_request_kind, decode_request
);

/// The API a builder builds messages of.
pub(crate) fn api_of<S: Side, M: Message<S>>(_build: fn(i16, &mut Gen) -> M) -> ApiKey {
    M::API
}

/// Runs the round trip (see the module documentation) for every
/// implemented version of `M`'s API.
pub(crate) fn round_trip<S: Side, M: Message<S>>(build: fn(i16, &mut Gen) -> M) {
    let api = M::API;
    let (min, max) = supported_versions(api).expect("api in table");
    for v in min..=max {
        for nulls in [false, true] {
            let mut g = Gen {
                n: 0,
                nulls,
                // A flexible body goes with request header v2 (kafka-protocol's table).
                flexible: api.request_header_version(v) >= 2,
            };
            let original = build(v, &mut g);
            let ctx = format!("{api:?} {} v{v} (nulls: {nulls})", S::NOUN);
            let mut buf = BytesMut::new();
            original
                .encode(&mut buf, v)
                .unwrap_or_else(|e| panic!("{ctx}: kafka-protocol refused to encode: {e}"));
            assert_eq!(
                original.compute_size(v).expect("size"),
                buf.len(),
                "{ctx}: encoder size mismatch"
            );
            let wire = buf.freeze();
            decodes_to::<S, M>(&wire, wire.len(), v, &original, &ctx);

            for cut in 0..wire.len() {
                assert!(
                    S::validate(api, v, &wire[..cut]).is_err(),
                    "{ctx}: prefix of {cut}/{} bytes accepted",
                    wire.len()
                );
            }
            for extra in 1..=16u8 {
                let mut padded = wire.to_vec();
                // Bytes that would parse as lengths, counts and tags if read.
                padded.extend((0..extra).map(|i| i.wrapping_mul(0x3b) ^ 0x81));
                let ctx = format!("{ctx} + {extra} bytes after the last field");
                decodes_to::<S, M>(&Bytes::from(padded), wire.len(), v, &original, &ctx);
            }

            differential::<S, M>(v, &wire, &ctx);
        }
    }
}

/// Asserts that the walk of `body` ends at `end` and that both decoders
/// return `original` and consume `body`.
fn decodes_to<S: Side, M: Message<S>>(body: &Bytes, end: usize, v: i16, original: &M, ctx: &str) {
    let api = M::API;
    let walked =
        S::validate(api, v, body).unwrap_or_else(|e| panic!("{ctx}: validate refused: {e}"));
    assert_eq!(walked, end, "{ctx}: the walk ended elsewhere");

    let mut rest = body.clone();
    let decoded =
        M::decode(&mut rest, v).unwrap_or_else(|e| panic!("{ctx}: the typed decoder failed: {e}"));
    assert!(rest.is_empty(), "{ctx}: body not consumed");
    assert_eq!(&decoded, original, "{ctx}: round trip changed the value");

    let mut rest = body.clone();
    let kind =
        S::decode_kind(api, v, &mut rest).unwrap_or_else(|e| panic!("{ctx}: *_kind failed: {e}"));
    assert!(rest.is_empty(), "{ctx}: body not consumed by kind");
    assert_eq!(kind, original.clone().into_kind(), "{ctx}: kind");
}

/// Nudges every byte of `wire` up and down by one. Whenever the walk
/// accepts the result, `kafka-protocol` must either refuse it or read
/// exactly the bytes the walk read: a table that gets a field's size or a
/// tag number wrong lets the two disagree on where the body ends (a known
/// tag walked as unknown, for instance, is skipped by its size while
/// `kafka-protocol` reads its value whatever the size says).
fn differential<S: Side, M: Message<S>>(v: i16, wire: &Bytes, ctx: &str) {
    for at in 0..wire.len() {
        for delta in [1u8, 0xff] {
            let mut body = wire.to_vec();
            body[at] = body[at].wrapping_add(delta);
            if S::validate(M::API, v, &body).is_err() {
                continue;
            }
            if let Err(e) = M::decode(&mut Bytes::from(body), v) {
                assert_eq!(
                    S::failure(&e),
                    Failure::Rejected,
                    "{ctx}: byte {at} + {delta}: validated, then: {e}"
                );
            }
        }
    }
}

/// Asserts that `covered` lists every API of the table once.
pub(crate) fn assert_covers_the_table(covered: &[ApiKey]) {
    let listed: BTreeSet<i16> = covered.iter().map(|k| *k as i16).collect();
    assert_eq!(listed.len(), covered.len(), "an API is listed twice");
    let missing: Vec<ApiKey> = SUPPORTED_VERSIONS
        .iter()
        .map(|(k, _, _)| *k)
        .filter(|k| !listed.contains(&(*k as i16)))
        .collect();
    assert!(missing.is_empty(), "no round trip for {missing:?}");
    assert_eq!(
        listed.len(),
        SUPPORTED_VERSIONS.len(),
        "an API outside the table"
    );
}

/// Asserts that the versions next to each API's range, and an API outside
/// the table, are refused with the matching error by both entry points.
pub(crate) fn assert_outside_the_table_is_refused<S: Side>() {
    for (api, min, max) in SUPPORTED_VERSIONS {
        for v in [min - 1, max + 1] {
            let expected = Failure::UnsupportedVersion {
                api_key: api,
                version: v,
                supported: (min, max),
            };
            let err = S::validate(api, v, &[]).expect_err("out of table");
            assert_eq!(S::failure(&err), expected, "{api:?} v{v}: {err}");
            let err = S::decode_kind(api, v, &mut Bytes::new()).expect_err("out of table");
            assert_eq!(S::failure(&err), expected, "{api:?} v{v}: {err}");
        }
    }
    let err = S::validate(ApiKey::DescribeAcls, 1, &[]).expect_err("not in the table");
    assert_eq!(S::failure(&err), Failure::UnsupportedApi, "{err}");
    let err = S::decode_kind(ApiKey::DescribeAcls, 1, &mut Bytes::new()).expect_err("x");
    assert_eq!(S::failure(&err), Failure::UnsupportedApi, "{err}");
}
