//! Length-prefixed frames: every Kafka request and response is a 4-byte
//! big-endian length followed by that many bytes.
//!
//! [`FrameDecoder`] splits a byte stream into frames. It never allocates from
//! the length prefix: a frame is returned only once all of its bytes are in
//! the caller's buffer, and the length is checked against a configurable
//! maximum first. A partial frame is not an error; [`FrameDecoder::decode`]
//! returns `Ok(None)` and [`FrameDecoder::needed`] says how many more bytes
//! would complete it.
//!
//! The first reply on a connection gets a closer look: a TLS record or the
//! start of an HTTP answer means the client dialled the wrong port or uses
//! the wrong `security.protocol`, and the error says so instead of reading
//! `0x15030300` as a 350 MB length.
//!
//! ```
//! use bytes::BytesMut;
//! use ferrokafka_protocol::frame::{encode_frame, FrameDecoder};
//!
//! let mut wire = BytesMut::new();
//! encode_frame(&mut wire, b"hello");
//! let mut decoder = FrameDecoder::new();
//! let mut input = wire.split_to(6); // only part of the frame has arrived
//! assert!(decoder.decode(&mut input).unwrap().is_none());
//! input.unsplit(wire);
//! assert_eq!(&decoder.decode(&mut input).unwrap().unwrap()[..], b"hello");
//! ```

use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The default cap on one frame: 100 MiB, as Kafka's
/// `socket.request.max.bytes` and librdkafka's `receive.message.max.bytes`.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 100 * 1024 * 1024;

/// Why a frame could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The length prefix is negative: the peer is not speaking Kafka or the
    /// stream is out of step.
    #[error("the peer sent a negative frame length ({length}); the connection is out of step or the peer does not speak the Kafka protocol")]
    NegativeLength {
        /// The length read off the wire.
        length: i32,
    },
    /// The length prefix is larger than the configured maximum.
    #[error("the peer announced a frame of {length} bytes, more than the maximum of {max} bytes; raise the maximum frame size if the broker really sends responses this large")]
    TooLarge {
        /// The length read off the wire.
        length: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The first bytes from the peer look like another protocol.
    #[error("the peer answered with {seen}, not Kafka: wrong port or security.protocol?")]
    WrongProtocol {
        /// What the bytes looked like, e.g. "a TLS alert record".
        seen: &'static str,
    },
}

/// Appends `payload` to `out` as one frame.
///
/// # Panics
/// If `payload` is longer than `i32::MAX` bytes, which no Kafka message can be.
pub fn encode_frame(out: &mut BytesMut, payload: &[u8]) {
    let len = i32::try_from(payload.len()).expect("a Kafka frame is at most i32::MAX bytes");
    out.reserve(4 + payload.len());
    out.put_i32(len);
    out.put_slice(payload);
}

/// Reserves the 4-byte length prefix of a frame whose payload will be
/// written into `out` next; returns the position to pass to
/// [`finish_frame`]. Lets encoders write a message straight into the output
/// buffer without knowing its size first.
pub fn start_frame(out: &mut BytesMut) -> usize {
    let at = out.len();
    out.put_i32(0);
    at
}

/// Fills in the length prefix reserved by [`start_frame`] at `at`.
///
/// # Panics
/// If `at` is not a position returned by [`start_frame`] on this buffer, or
/// the frame is longer than `i32::MAX` bytes.
pub fn finish_frame(out: &mut BytesMut, at: usize) {
    let len = out.len() - at - 4;
    let len = i32::try_from(len).expect("a Kafka frame is at most i32::MAX bytes");
    out[at..at + 4].copy_from_slice(&len.to_be_bytes());
}

/// Splits a byte stream into frames. One per connection direction.
#[derive(Debug, Clone)]
pub struct FrameDecoder {
    max_frame_size: usize,
    sniff_first: bool,
    needed: usize,
}

impl Default for FrameDecoder {
    fn default() -> Self {
        Self::new()
    }
}

impl FrameDecoder {
    /// A decoder with the default 100 MiB cap that checks the first frame
    /// for a TLS or HTTP answer.
    pub fn new() -> Self {
        Self::with_max_frame_size(DEFAULT_MAX_FRAME_SIZE)
    }

    /// A decoder with a custom cap on the frame size.
    pub fn with_max_frame_size(max_frame_size: usize) -> Self {
        FrameDecoder {
            max_frame_size,
            sniff_first: true,
            needed: 4,
        }
    }

    /// Turns the first-reply check off, for a server reading requests (a
    /// request is never mistaken for TLS or HTTP by a Kafka broker).
    pub fn without_protocol_sniffing(mut self) -> Self {
        self.sniff_first = false;
        self
    }

    /// The configured maximum frame size.
    pub fn max_frame_size(&self) -> usize {
        self.max_frame_size
    }

    /// How many bytes must be in the buffer before the next call to
    /// [`decode`](Self::decode) can return a frame: the whole frame including
    /// its prefix once the prefix is known, 4 before.
    pub fn needed(&self) -> usize {
        self.needed
    }

    /// Takes one complete frame's payload off the front of `buf`, or returns
    /// `Ok(None)` when more bytes are needed. Errors are final: the stream is
    /// no longer in step and the connection should be closed.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if buf.len() < 4 {
            if self.sniff_first {
                sniff(buf)?;
            }
            self.needed = 4;
            return Ok(None);
        }
        let prefix = [buf[0], buf[1], buf[2], buf[3]];
        if self.sniff_first {
            sniff(&prefix)?;
        }
        let length = i32::from_be_bytes(prefix);
        if length < 0 {
            return Err(FrameError::NegativeLength { length });
        }
        let length = length as usize;
        if length > self.max_frame_size {
            return Err(FrameError::TooLarge {
                length,
                max: self.max_frame_size,
            });
        }
        if buf.len() < 4 + length {
            self.needed = 4 + length;
            return Ok(None);
        }
        self.sniff_first = false;
        self.needed = 4;
        buf.advance(4);
        Ok(Some(buf.split_to(length).freeze()))
    }
}

/// Recognises the start of an answer that is not Kafka. Works on as few
/// bytes as have arrived (at most the 4 of the length prefix are looked at),
/// so a short HTTP or TLS answer followed by a close is still named.
fn sniff(prefix: &[u8]) -> Result<(), FrameError> {
    // A TLS record: content type alert (21) or handshake (22), then the
    // record version's major byte 3. As a Kafka length that is ~350 MB.
    match prefix {
        [0x15, 0x03, ..] => {
            return Err(FrameError::WrongProtocol {
                seen: "a TLS alert record (the port expects TLS)",
            })
        }
        [0x16, 0x03, ..] => {
            return Err(FrameError::WrongProtocol {
                seen: "a TLS handshake record (the port expects TLS)",
            })
        }
        _ => {}
    }
    const TEXT: [(&[u8], &str); 3] = [
        (b"HTTP", "an HTTP response"),
        (b"<htm", "an HTML page"),
        (b"SSH-", "an SSH banner"),
    ];
    if prefix.len() == 4 {
        for (start, seen) in TEXT {
            if prefix.eq_ignore_ascii_case(start) {
                return Err(FrameError::WrongProtocol { seen });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(input: &[u8]) -> Result<Vec<Bytes>, FrameError> {
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::from(input);
        let mut frames = Vec::new();
        while let Some(frame) = decoder.decode(&mut buf)? {
            frames.push(frame);
        }
        Ok(frames)
    }

    #[test]
    fn splits_frames_and_waits_for_partial_ones() {
        let mut wire = BytesMut::new();
        encode_frame(&mut wire, b"abc");
        encode_frame(&mut wire, b"");
        encode_frame(&mut wire, b"defg");
        let whole = wire.clone().freeze();
        // Feed the stream one byte at a time: every frame still comes out whole.
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::new();
        let mut frames = Vec::new();
        for byte in whole.iter() {
            buf.put_u8(*byte);
            while let Some(frame) = decoder.decode(&mut buf).unwrap() {
                frames.push(frame);
            }
        }
        assert_eq!(frames, vec![&b"abc"[..], &b""[..], &b"defg"[..]]);
        assert!(buf.is_empty());
    }

    #[test]
    fn reports_bytes_needed() {
        let mut decoder = FrameDecoder::new();
        let mut buf = BytesMut::from(&[0u8, 0, 0, 10, 1, 2][..]);
        assert!(decoder.decode(&mut buf).unwrap().is_none());
        assert_eq!(decoder.needed(), 14);
    }

    #[test]
    fn golden_bytes() {
        let mut wire = BytesMut::new();
        encode_frame(&mut wire, &[0xAA, 0xBB]);
        assert_eq!(&wire[..], &[0, 0, 0, 2, 0xAA, 0xBB]);
        let mut wire = BytesMut::new();
        let at = start_frame(&mut wire);
        wire.put_slice(b"xyz");
        finish_frame(&mut wire, at);
        assert_eq!(&wire[..], &[0, 0, 0, 3, b'x', b'y', b'z']);
    }

    #[test]
    fn negative_and_oversized_lengths_are_errors() {
        assert_eq!(
            decode_all(&[0xFF, 0xFF, 0xFF, 0xFF]),
            Err(FrameError::NegativeLength { length: -1 })
        );
        assert_eq!(
            decode_all(&[0x7F, 0xFF, 0xFF, 0xFF]),
            Err(FrameError::TooLarge {
                length: i32::MAX as usize,
                max: DEFAULT_MAX_FRAME_SIZE
            })
        );
        let mut small = FrameDecoder::with_max_frame_size(16);
        let mut buf = BytesMut::from(&[0u8, 0, 0, 17][..]);
        assert!(matches!(
            small.decode(&mut buf),
            Err(FrameError::TooLarge {
                length: 17,
                max: 16
            })
        ));
    }

    #[test]
    fn recognises_tls_and_http_answers() {
        for (input, needle) in [
            (
                &[0x15u8, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46][..],
                "TLS alert",
            ),
            (&[0x16, 0x03, 0x01][..], "TLS handshake"),
            (b"HTTP/1.1 400 Bad Request\r\n".as_slice(), "HTTP"),
            (b"http".as_slice(), "HTTP"),
        ] {
            let err = decode_all(input).unwrap_err();
            let text = err.to_string();
            assert!(text.contains(needle), "{text}");
            assert!(text.contains("wrong port or security.protocol?"), "{text}");
        }
    }

    #[test]
    fn only_the_first_frame_is_sniffed() {
        // After a good first frame, a payload that starts like TLS is just data,
        // and a second length prefix that starts with 0x16 0x03 is a length.
        let mut wire = BytesMut::new();
        encode_frame(&mut wire, &[0x16, 0x03, 0x01, 0x00]);
        encode_frame(&mut wire, b"HTTP");
        let frames = decode_all(&wire).unwrap();
        assert_eq!(frames.len(), 2);

        let mut decoder = FrameDecoder::new().without_protocol_sniffing();
        let mut buf = BytesMut::from(&b"HTTP"[..]);
        assert!(matches!(
            decoder.decode(&mut buf),
            Err(FrameError::TooLarge { .. })
        ));
    }
}
