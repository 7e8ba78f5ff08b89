//! Zigzag varints, as in protobuf and Kafka's `ByteUtils`.
//!
//! A *varint* is an `i32` zigzag-encoded (`0 → 0, -1 → 1, 1 → 2, …`) and
//! then written 7 bits per byte, least significant group first, with the high
//! bit of each byte set when another byte follows: at most 5 bytes. A
//! *varlong* is the same for `i64`: at most 10 bytes.
//!
//! Decoding is strict where Kafka's Java reader is lax: an encoding longer
//! than 5 (10) bytes is [`VarintError::TooLong`], and a last byte carrying
//! bits beyond 32 (64) is [`VarintError::Overflow`] (Java silently drops
//! them; no writer produces them). Non-minimal encodings (such as `80 00`
//! for 0) are accepted, as Java does.

use bytes::BufMut;

/// Most bytes a varint (`i32`) takes.
pub const MAX_VARINT_LEN: usize = 5;
/// Most bytes a varlong (`i64`) takes.
pub const MAX_VARLONG_LEN: usize = 10;

/// Why a varint could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VarintError {
    /// The data ends before the varint's last byte.
    #[error("the data ends inside a varint (truncated or corrupt data)")]
    Truncated,
    /// More continuation bytes than the type allows.
    #[error("varint longer than {max} bytes (corrupt data)")]
    TooLong {
        /// The longest valid encoding for the type: 5 or 10.
        max: usize,
    },
    /// The last byte sets bits past the type's width.
    #[error("varint does not fit in {bits} bits (corrupt data)")]
    Overflow {
        /// The type's width: 32 or 64.
        bits: u32,
    },
}

/// Zigzag-encodes an `i32`.
#[inline]
pub const fn zigzag_encode32(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

/// Zigzag-decodes into an `i32`.
#[inline]
pub const fn zigzag_decode32(n: u32) -> i32 {
    ((n >> 1) as i32) ^ -((n & 1) as i32)
}

/// Zigzag-encodes an `i64`.
#[inline]
pub const fn zigzag_encode64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

/// Zigzag-decodes into an `i64`.
#[inline]
pub const fn zigzag_decode64(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// Bytes the varint encoding of `value` takes (1..=5).
#[inline]
pub const fn varint_len(value: i32) -> usize {
    let bits = 32 - (zigzag_encode32(value) | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Bytes the varlong encoding of `value` takes (1..=10).
#[inline]
pub const fn varlong_len(value: i64) -> usize {
    let bits = 64 - (zigzag_encode64(value) | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Reads an unsigned LEB128 of at most `max` bytes whose last byte may
/// carry at most `last_bits` bits.
#[inline]
fn read_unsigned(
    buf: &[u8],
    max: usize,
    last_bits: u32,
    bits: u32,
) -> Result<(u64, usize), VarintError> {
    let mut value = 0u64;
    for (i, &b) in buf.iter().take(max).enumerate() {
        if i + 1 == max {
            if b & 0x80 != 0 {
                return Err(VarintError::TooLong { max });
            }
            if u32::from(b) >> last_bits != 0 {
                return Err(VarintError::Overflow { bits });
            }
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Ok((value, i + 1));
        }
    }
    Err(VarintError::Truncated)
}

/// Reads a varint from the start of `buf`: the value and the number of bytes
/// it took.
#[inline]
pub fn read_varint(buf: &[u8]) -> Result<(i32, usize), VarintError> {
    match buf.first() {
        Some(&b) if b < 0x80 => Ok((zigzag_decode32(u32::from(b)), 1)),
        _ => {
            let (n, len) = read_unsigned(buf, MAX_VARINT_LEN, 4, 32)?;
            // At most 32 bits were accepted.
            Ok((zigzag_decode32(n as u32), len))
        }
    }
}

/// Reads a varlong from the start of `buf`: the value and the number of bytes
/// it took.
#[inline]
pub fn read_varlong(buf: &[u8]) -> Result<(i64, usize), VarintError> {
    match buf.first() {
        Some(&b) if b < 0x80 => Ok((zigzag_decode64(u64::from(b)), 1)),
        _ => {
            let (n, len) = read_unsigned(buf, MAX_VARLONG_LEN, 1, 64)?;
            Ok((zigzag_decode64(n), len))
        }
    }
}

/// Reads a varint from the front of `buf` and advances `buf` past it.
///
/// One- and two-byte encodings (values -8192..=8191: most lengths and
/// deltas in a batch) take a straight-line path.
#[inline(always)]
pub(crate) fn take_varint(buf: &mut &[u8]) -> Result<i32, VarintError> {
    match **buf {
        [b0, ref rest @ ..] if b0 < 0x80 => {
            *buf = rest;
            return Ok(zigzag_decode32(u32::from(b0)));
        }
        [b0, b1, ref rest @ ..] if b1 < 0x80 => {
            *buf = rest;
            return Ok(zigzag_decode32(u32::from(b0 & 0x7f) | (u32::from(b1) << 7)));
        }
        _ => {}
    }
    let (value, len) = read_varint(buf)?;
    *buf = buf.get(len..).unwrap_or_default();
    Ok(value)
}

/// Reads a varlong from the front of `buf` and advances `buf` past it.
#[inline(always)]
pub(crate) fn take_varlong(buf: &mut &[u8]) -> Result<i64, VarintError> {
    if let Some((&b, rest)) = buf.split_first() {
        if b < 0x80 {
            *buf = rest;
            return Ok(zigzag_decode64(u64::from(b)));
        }
    }
    let (value, len) = read_varlong(buf)?;
    *buf = buf.get(len..).unwrap_or_default();
    Ok(value)
}

#[inline]
fn encode_unsigned(mut n: u64, out: &mut [u8; MAX_VARLONG_LEN]) -> usize {
    let mut i = 0;
    while n >= 0x80 {
        out[i] = (n as u8) | 0x80;
        n >>= 7;
        i += 1;
    }
    out[i] = n as u8;
    i + 1
}

/// Writes the varint encoding of `value` into `out`, returning its length.
#[inline]
pub fn encode_varint(value: i32, out: &mut [u8; MAX_VARLONG_LEN]) -> usize {
    encode_unsigned(u64::from(zigzag_encode32(value)), out)
}

/// Writes the varlong encoding of `value` into `out`, returning its length.
#[inline]
pub fn encode_varlong(value: i64, out: &mut [u8; MAX_VARLONG_LEN]) -> usize {
    encode_unsigned(zigzag_encode64(value), out)
}

/// Appends the varint encoding of `value` to `out`.
#[inline]
pub fn put_varint<B: BufMut + ?Sized>(out: &mut B, value: i32) {
    put_unsigned(out, u64::from(zigzag_encode32(value)));
}

/// Appends the varlong encoding of `value` to `out`.
#[inline]
pub fn put_varlong<B: BufMut + ?Sized>(out: &mut B, value: i64) {
    put_unsigned(out, zigzag_encode64(value));
}

/// Byte by byte: a varint is one to ten bytes, and `put_slice` of so few
/// costs a `memcpy` call each (a tenth of the producer's send path once).
#[inline]
fn put_unsigned<B: BufMut + ?Sized>(out: &mut B, mut n: u64) {
    while n >= 0x80 {
        out.put_u8((n as u8) | 0x80);
        n >>= 7;
    }
    out.put_u8(n as u8);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_encodings() {
        let cases: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (300, &[0xd8, 0x04]),
            (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ];
        for &(v, bytes) in cases {
            let mut out = Vec::new();
            put_varint(&mut out, v);
            assert_eq!(out, bytes, "{v}");
            assert_eq!(varint_len(v), bytes.len());
            assert_eq!(read_varint(bytes).unwrap(), (v, bytes.len()));
        }
        let mut out = Vec::new();
        put_varlong(&mut out, i64::MIN);
        assert_eq!(
            out,
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
        );
        assert_eq!(read_varlong(&out).unwrap(), (i64::MIN, 10));
        assert_eq!(varlong_len(i64::MIN), 10);
        assert_eq!(varlong_len(0), 1);
    }

    #[test]
    fn round_trips_at_every_length_boundary() {
        let mut values: Vec<i64> = vec![0, 1, -1, i64::MAX, i64::MIN];
        for shift in 0..63 {
            let p = 1i64 << shift;
            values.extend([p, p - 1, -p, -p - 1, p + 1]);
        }
        for v in values {
            let mut out = Vec::new();
            put_varlong(&mut out, v);
            assert_eq!(out.len(), varlong_len(v));
            assert_eq!(read_varlong(&out).unwrap(), (v, out.len()));
            let mut arr = [0u8; MAX_VARLONG_LEN];
            assert_eq!(encode_varlong(v, &mut arr), out.len());
            if let Ok(v32) = i32::try_from(v) {
                let mut out = Vec::new();
                put_varint(&mut out, v32);
                assert_eq!(out.len(), varint_len(v32));
                assert_eq!(read_varint(&out).unwrap(), (v32, out.len()));
                let mut cur = &out[..];
                assert_eq!(take_varint(&mut cur).unwrap(), v32);
                assert!(cur.is_empty());
            }
        }
    }

    #[test]
    fn malformed_encodings_are_errors() {
        assert_eq!(read_varint(&[]), Err(VarintError::Truncated));
        assert_eq!(read_varint(&[0x80]), Err(VarintError::Truncated));
        assert_eq!(
            read_varint(&[0x80, 0x80, 0x80, 0x80]),
            Err(VarintError::Truncated)
        );
        assert_eq!(
            read_varint(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x00]),
            Err(VarintError::TooLong { max: 5 })
        );
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0x1f]),
            Err(VarintError::Overflow { bits: 32 })
        );
        assert_eq!(
            read_varlong(&[0xff; 10]),
            Err(VarintError::TooLong { max: 10 })
        );
        let mut eleven = [0x80u8; 11];
        eleven[10] = 0;
        assert_eq!(read_varlong(&eleven), Err(VarintError::TooLong { max: 10 }));
        assert_eq!(
            read_varlong(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            Err(VarintError::Overflow { bits: 64 })
        );
        // Non-minimal but in range: accepted, as Java does.
        assert_eq!(read_varint(&[0x80, 0x00]), Ok((0, 2)));
        let mut cur: &[u8] = &[0x80];
        assert_eq!(take_varint(&mut cur), Err(VarintError::Truncated));
        let mut cur: &[u8] = &[];
        assert_eq!(take_varlong(&mut cur), Err(VarintError::Truncated));
    }
}
