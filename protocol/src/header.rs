//! Request and response headers.
//!
//! A request starts with the request header: v1 (api key, api version,
//! correlation id, nullable client id) for non-flexible API versions, and
//! v2 (v1 plus an empty tagged-field section) for flexible ones. The client
//! id stays a classic `i16`-length string even in v2.
//!
//! A response starts with the response header: v0 (correlation id) or v1
//! (correlation id plus tagged fields). Which one follows from the API and
//! version of the request it answers; ApiVersions always answers with v0 so
//! that a client can read the answer before it knows anything else.
//!
//! [`encode_request`] writes a whole framed request (length prefix, header,
//! body) into the caller's buffer in one pass.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::Encodable;

use crate::frame::{finish_frame, start_frame};
use crate::ProtocolError;

/// Which request header version goes with `api` at `version` (1 or 2).
pub fn request_header_version(api: ApiKey, version: i16) -> i16 {
    api.request_header_version(version)
}

/// Which response header version answers `api` at `version` (0 or 1).
pub fn response_header_version(api: ApiKey, version: i16) -> i16 {
    api.response_header_version(version)
}

/// The fields of a request header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestHeader<'a> {
    /// Which API this request calls.
    pub api_key: ApiKey,
    /// The version of that API the body is encoded with.
    pub api_version: i16,
    /// Echoed by the broker in the response header.
    pub correlation_id: i32,
    /// `client.id`; `None` is sent as a null string.
    pub client_id: Option<&'a str>,
}

impl RequestHeader<'_> {
    /// Appends the header, in the version the API and version call for, to `out`.
    pub fn encode(&self, out: &mut BytesMut) {
        out.put_i16(self.api_key as i16);
        out.put_i16(self.api_version);
        out.put_i32(self.correlation_id);
        match self.client_id {
            // Longer client ids are cut at a UTF-8 boundary rather than refused:
            // the broker only logs them.
            Some(id) => {
                let id = truncate_utf8(id, i16::MAX as usize);
                out.put_i16(id.len() as i16);
                out.put_slice(id.as_bytes());
            }
            None => out.put_i16(-1),
        }
        if request_header_version(self.api_key, self.api_version) >= 2 {
            out.put_u8(0); // no tagged fields
        }
    }
}

fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Appends one framed request — length prefix, header and body — to `out`.
///
/// The body is encoded by `kafka-protocol` at `header.api_version`; a field
/// set that this version cannot carry is an error naming the API.
///
/// ```
/// use bytes::BytesMut;
/// use ferrokafka_protocol::header::{encode_request, RequestHeader};
/// use ferrokafka_protocol::messages::{ApiKey, ApiVersionsRequest};
///
/// let mut out = BytesMut::new();
/// let header = RequestHeader {
///     api_key: ApiKey::ApiVersions,
///     api_version: 0,
///     correlation_id: 7,
///     client_id: Some("me"),
/// };
/// encode_request(&mut out, &header, &ApiVersionsRequest::default()).unwrap();
/// assert_eq!(&out[..], &[0, 0, 0, 12, 0, 18, 0, 0, 0, 0, 0, 7, 0, 2, b'm', b'e']);
/// ```
pub fn encode_request<R: Encodable>(
    out: &mut BytesMut,
    header: &RequestHeader<'_>,
    body: &R,
) -> Result<(), ProtocolError> {
    let start = out.len();
    let at = start_frame(out);
    header.encode(out);
    if let Err(source) = body.encode(out, header.api_version) {
        out.truncate(start);
        return Err(ProtocolError::Encode {
            api: header.api_key,
            version: header.api_version,
            reason: source.to_string(),
        });
    }
    finish_frame(out, at);
    Ok(())
}

/// Where the correlation id sits in an encoded request frame: after the
/// length prefix (4 bytes), the api key (2) and the api version (2). The
/// same in every request header version.
pub const REQUEST_CORRELATION_ID_OFFSET: usize = 8;

/// Writes `correlation_id` into an encoded request frame (length prefix
/// included, as [`encode_request`] writes it), replacing the one it was
/// encoded with. A connection that assigns correlation ids only when it
/// writes a request encodes it with any id and patches it here.
///
/// Only the start of the frame is needed: `frame` may be the head of a
/// [`SplitFrame`](crate::produce::SplitFrame). A frame too short to hold a
/// correlation id is refused and left as it was.
///
/// ```
/// use bytes::BytesMut;
/// use ferrokafka_protocol::header::{encode_request, set_request_correlation_id, RequestHeader};
/// use ferrokafka_protocol::messages::{ApiKey, ApiVersionsRequest};
///
/// let header = RequestHeader {
///     api_key: ApiKey::ApiVersions,
///     api_version: 0,
///     correlation_id: 0,
///     client_id: None,
/// };
/// let mut frame = BytesMut::new();
/// encode_request(&mut frame, &header, &ApiVersionsRequest::default())?;
/// set_request_correlation_id(&mut frame, 0x0102_0304)?;
/// assert_eq!(&frame[8..12], &[1, 2, 3, 4]);
/// # Ok::<(), ferrokafka_protocol::ProtocolError>(())
/// ```
pub fn set_request_correlation_id(
    frame: &mut [u8],
    correlation_id: i32,
) -> Result<(), ProtocolError> {
    let len = frame.len();
    let slot = frame
        .get_mut(REQUEST_CORRELATION_ID_OFFSET..REQUEST_CORRELATION_ID_OFFSET + 4)
        .ok_or(ProtocolError::TruncatedRequestFrame { len })?;
    slot.copy_from_slice(&correlation_id.to_be_bytes());
    Ok(())
}

/// A decoded response header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHeader {
    /// The correlation id of the request this answers.
    pub correlation_id: i32,
}

/// Reads the response header off the front of a response frame and returns
/// it with the body that follows. `header_version` comes from
/// [`response_header_version`]; tagged fields in a v1 header are skipped
/// (each checked against the bytes left, nothing allocated).
pub fn decode_response_header(
    mut frame: Bytes,
    header_version: i16,
) -> Result<(ResponseHeader, Bytes), ProtocolError> {
    if frame.len() < 4 {
        return Err(ProtocolError::TruncatedHeader { len: frame.len() });
    }
    let correlation_id = frame.get_i32();
    if header_version >= 1 {
        skip_tagged_fields(&mut frame).ok_or(ProtocolError::MalformedHeader { correlation_id })?;
    }
    Ok((ResponseHeader { correlation_id }, frame))
}

/// Reads only the correlation id of a response frame, to match it to its
/// request before knowing which header version it carries.
pub fn peek_correlation_id(frame: &[u8]) -> Option<i32> {
    frame
        .get(..4)
        .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn skip_tagged_fields(buf: &mut Bytes) -> Option<()> {
    let count = read_unsigned_varint(buf)?;
    for _ in 0..count {
        let _tag = read_unsigned_varint(buf)?;
        let size = read_unsigned_varint(buf)? as usize;
        if size > buf.len() {
            return None;
        }
        buf.advance(size);
    }
    Some(())
}

/// Reads an unsigned LEB128 varint of at most 5 bytes (a u32).
pub(crate) fn read_unsigned_varint(buf: &mut impl Buf) -> Option<u32> {
    let mut value: u32 = 0;
    for i in 0..5 {
        if !buf.has_remaining() {
            return None;
        }
        let byte = buf.get_u8();
        if i == 4 && byte > 0x0F {
            return None; // more than 32 bits
        }
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{MetadataRequest, RequestHeader as KpRequestHeader};
    use kafka_protocol::protocol::{Decodable, StrBytes};

    #[test]
    fn request_header_v1_golden_bytes() {
        let mut out = BytesMut::new();
        RequestHeader {
            api_key: ApiKey::Metadata,
            api_version: 8,
            correlation_id: 0x01020304,
            client_id: Some("fk"),
        }
        .encode(&mut out);
        assert_eq!(
            &out[..],
            &[0, 3, 0, 8, 1, 2, 3, 4, 0, 2, b'f', b'k'],
            "api key, version, correlation id, i16-length client id"
        );
    }

    #[test]
    fn request_header_v2_golden_bytes_and_null_client_id() {
        let mut out = BytesMut::new();
        RequestHeader {
            api_key: ApiKey::Metadata,
            api_version: 12,
            correlation_id: -1,
            client_id: None,
        }
        .encode(&mut out);
        assert_eq!(
            &out[..],
            &[0, 3, 0, 12, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0],
            "null client id, then an empty tagged-field section"
        );
    }

    #[test]
    fn request_header_matches_kafka_protocol() {
        for (api, version) in [
            (ApiKey::Produce, 3),
            (ApiKey::Produce, 9),
            (ApiKey::Fetch, 12),
            (ApiKey::ApiVersions, 3),
        ] {
            let mut ours = BytesMut::new();
            RequestHeader {
                api_key: api,
                api_version: version,
                correlation_id: 42,
                client_id: Some("client-é"),
            }
            .encode(&mut ours);
            let theirs = KpRequestHeader::default()
                .with_request_api_key(api as i16)
                .with_request_api_version(version)
                .with_correlation_id(42)
                .with_client_id(Some(StrBytes::from_static_str("client-é")));
            let mut expected = BytesMut::new();
            theirs
                .encode(&mut expected, request_header_version(api, version))
                .unwrap();
            assert_eq!(ours, expected, "{api:?} v{version}");
            let decoded =
                KpRequestHeader::decode(&mut ours.freeze(), request_header_version(api, version))
                    .unwrap();
            assert_eq!(decoded, theirs);
        }
    }

    #[test]
    fn encode_request_frames_header_and_body() {
        let mut out = BytesMut::from(&b"previous"[..]);
        let header = RequestHeader {
            api_key: ApiKey::Metadata,
            api_version: 12,
            correlation_id: 5,
            client_id: Some("c"),
        };
        encode_request(&mut out, &header, &MetadataRequest::default()).unwrap();
        let frame = &out[8..];
        let len = i32::from_be_bytes(frame[..4].try_into().unwrap()) as usize;
        assert_eq!(len, frame.len() - 4);
        // header v2: 2+2+4+(2+1)+1 = 12 bytes
        assert_eq!(&frame[4..16], &[0, 3, 0, 12, 0, 0, 0, 5, 0, 1, b'c', 0]);
        // body v12: an empty topic list (compact count 0 + 1),
        // allow_auto_topic_creation, include_topic_authorized_operations, no tags
        assert_eq!(&frame[16..], &[1, 1, 0, 0]);
    }

    #[test]
    fn encode_request_refuses_fields_the_version_cannot_carry() {
        let mut out = BytesMut::from(&b"keep"[..]);
        let header = RequestHeader {
            api_key: ApiKey::Metadata,
            api_version: 1,
            correlation_id: 5,
            client_id: None,
        };
        // include_topic_authorized_operations exists only from v8.
        let body = MetadataRequest::default().with_include_topic_authorized_operations(true);
        let err = encode_request(&mut out, &header, &body).unwrap_err();
        assert!(err.to_string().contains("Metadata"), "{err}");
        assert_eq!(
            &out[..],
            b"keep",
            "a failed encode leaves the buffer as it was"
        );
    }

    #[test]
    fn the_correlation_id_is_patched_in_place_in_every_header_version() {
        for (api, version) in [(ApiKey::Metadata, 8), (ApiKey::Metadata, 12)] {
            let header = RequestHeader {
                api_key: api,
                api_version: version,
                correlation_id: 0,
                client_id: Some("c"),
            };
            let mut patched = BytesMut::new();
            encode_request(&mut patched, &header, &MetadataRequest::default()).unwrap();
            set_request_correlation_id(&mut patched, -123_456).unwrap();
            let mut expected = BytesMut::new();
            let header = RequestHeader {
                correlation_id: -123_456,
                ..header
            };
            encode_request(&mut expected, &header, &MetadataRequest::default()).unwrap();
            assert_eq!(patched, expected, "{api:?} v{version}");
        }
    }

    #[test]
    fn a_frame_too_short_for_a_correlation_id_is_refused_unchanged() {
        let mut frame = [9u8; 11];
        let err = set_request_correlation_id(&mut frame, 1).unwrap_err();
        assert!(
            matches!(err, ProtocolError::TruncatedRequestFrame { len: 11 }),
            "{err}"
        );
        assert_eq!(frame, [9u8; 11]);
        let mut frame = [9u8; 12];
        set_request_correlation_id(&mut frame, 1).unwrap();
        assert_eq!(frame[8..], [0, 0, 0, 1]);
        assert_eq!(frame[..8], [9u8; 8]);
    }

    #[test]
    fn response_headers_v0_and_v1() {
        let (h, body) = decode_response_header(Bytes::from_static(&[0, 0, 0, 9, 0xAB]), 0).unwrap();
        assert_eq!(h.correlation_id, 9);
        assert_eq!(&body[..], &[0xAB]);

        // v1 with one tagged field (tag 3, 2 bytes) before the body.
        let (h, body) =
            decode_response_header(Bytes::from_static(&[0, 0, 1, 0, 1, 3, 2, 7, 7, 0xCD]), 1)
                .unwrap();
        assert_eq!(h.correlation_id, 256);
        assert_eq!(&body[..], &[0xCD]);
    }

    #[test]
    fn hostile_response_headers_are_errors() {
        assert!(decode_response_header(Bytes::from_static(&[0, 0]), 0).is_err());
        // tagged field claiming more bytes than are left
        assert!(decode_response_header(Bytes::from_static(&[0, 0, 0, 1, 1, 0, 0x7F]), 1).is_err());
        // a tag count of u32::MAX with nothing behind it
        assert!(decode_response_header(
            Bytes::from_static(&[0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
            1
        )
        .is_err());
        // overlong varint
        assert!(decode_response_header(
            Bytes::from_static(&[0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]),
            1
        )
        .is_err());
    }

    #[test]
    fn header_versions_follow_flexible_versions() {
        assert_eq!(request_header_version(ApiKey::Metadata, 8), 1);
        assert_eq!(request_header_version(ApiKey::Metadata, 9), 2);
        assert_eq!(response_header_version(ApiKey::Metadata, 9), 1);
        assert_eq!(response_header_version(ApiKey::ApiVersions, 3), 0);
    }
}
