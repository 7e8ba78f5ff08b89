//! Named byte patches on encoded batches: header fields rewritten in
//! place, without decoding or re-encoding the records.

use bytes::{Bytes, BytesMut};

use super::{layout, RecordBatch, RecordError};

/// Returns a copy of one sealed batch with its producer id, producer epoch
/// and base sequence replaced and its CRC-32C recomputed.
///
/// This is what an idempotent producer does to batches it already sealed
/// when its epoch is bumped (KIP-360): the batches keep their records and
/// order but must carry the new identity, and their sequences restart.
/// Only the 14 bytes of those three fields and the 4 of the CRC change;
/// compressed records are not touched.
///
/// `batch` must be exactly one record batch v2 (`12 + batchLength`
/// bytes). Its stored CRC is checked first, so a batch damaged in memory
/// is refused ([`RecordError::Corrupt`]) instead of being signed anew;
/// a buffer that is not one whole v2 batch gives the error
/// [`RecordBatch::parse`] gives.
///
/// ```
/// use bytes::BytesMut;
/// use ferrokafka_protocol::record::{rewrite_producer_identity, BatchBuilder, BatchOptions, RecordBatch};
///
/// let options = BatchOptions {
///     producer_id: 7,
///     producer_epoch: 0,
///     base_sequence: 40,
///     ..BatchOptions::default()
/// };
/// let mut builder = BatchBuilder::with_options(options)?;
/// builder.try_append(1_700_000_000_000, None, Some(b"value"), &[])?;
/// let mut sealed = BytesMut::new();
/// builder.finish(&mut sealed)?;
///
/// // The epoch was bumped: same producer id, next epoch, sequences from 0.
/// let bumped = RecordBatch::parse(rewrite_producer_identity(&sealed.freeze(), 7, 1, 0)?)?;
/// assert_eq!(bumped.producer_epoch(), 1);
/// assert_eq!(bumped.base_sequence(), 0);
/// bumped.verify_crc()?;
/// # Ok::<(), ferrokafka_protocol::record::RecordError>(())
/// ```
pub fn rewrite_producer_identity(
    batch: &Bytes,
    producer_id: i64,
    producer_epoch: i16,
    base_sequence: i32,
) -> Result<Bytes, RecordError> {
    RecordBatch::parse(batch.clone())?.verify_crc()?;
    let mut out = BytesMut::from(&batch[..]);
    out[layout::PRODUCER_ID..layout::PRODUCER_ID + 8].copy_from_slice(&producer_id.to_be_bytes());
    out[layout::PRODUCER_EPOCH..layout::PRODUCER_EPOCH + 2]
        .copy_from_slice(&producer_epoch.to_be_bytes());
    out[layout::BASE_SEQUENCE..layout::BASE_SEQUENCE + 4]
        .copy_from_slice(&base_sequence.to_be_bytes());
    let crc = crc32c::crc32c(&out[layout::ATTRIBUTES..]);
    out[layout::CRC..layout::CRC + 4].copy_from_slice(&crc.to_be_bytes());
    Ok(out.freeze())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compression::Compression;
    use crate::record::{BatchBuilder, BatchOptions};

    fn sealed(compression: Compression, producer_epoch: i16, base_sequence: i32) -> Bytes {
        let mut builder = BatchBuilder::with_options(BatchOptions {
            producer_id: 7_000_000_000,
            producer_epoch,
            base_sequence,
            compression,
            ..BatchOptions::default()
        })
        .unwrap();
        for i in 0..5u8 {
            builder
                .try_append(
                    1_700_000_000_000 + i64::from(i),
                    Some(&[i]),
                    Some(b"value"),
                    &[],
                )
                .unwrap();
        }
        let mut out = BytesMut::new();
        builder.finish(&mut out).unwrap();
        out.freeze()
    }

    #[test]
    fn the_result_is_the_batch_encoded_with_the_new_identity() {
        for codec in [Compression::None, Compression::Lz4, Compression::Zstd] {
            let old = sealed(codec, 3, 40);
            let rewritten = rewrite_producer_identity(&old, 7_000_000_000, 4, 0).unwrap();
            assert_eq!(rewritten, sealed(codec, 4, 0), "{codec:?}");
            let batch = RecordBatch::parse(rewritten).unwrap();
            assert_eq!(
                (
                    batch.producer_id(),
                    batch.producer_epoch(),
                    batch.base_sequence()
                ),
                (7_000_000_000, 4, 0)
            );
            batch.verify_crc().unwrap();
        }
    }

    #[test]
    fn only_the_identity_and_the_crc_change() {
        let old = sealed(Compression::Gzip, 0, 0);
        let new = rewrite_producer_identity(&old, -2, -3, -4).unwrap();
        let changed: Vec<usize> = (0..old.len()).filter(|&i| old[i] != new[i]).collect();
        let allowed = layout::CRC..layout::CRC + 4;
        let identity = layout::PRODUCER_ID..layout::BASE_SEQUENCE + 4;
        assert!(
            changed
                .iter()
                .all(|i| allowed.contains(i) || identity.contains(i)),
            "{changed:?}"
        );
        assert!(
            changed.iter().any(|i| allowed.contains(i)),
            "the CRC changed"
        );
        assert_eq!(old.len(), new.len());
    }

    #[test]
    fn a_damaged_batch_is_refused_not_signed_anew() {
        let mut damaged = BytesMut::from(&sealed(Compression::None, 0, 0)[..]);
        let last = damaged.len() - 1;
        damaged[last] ^= 0x40;
        let err = rewrite_producer_identity(&damaged.freeze(), 1, 1, 1).unwrap_err();
        assert!(matches!(err, RecordError::Corrupt { .. }), "{err}");
    }

    #[test]
    fn anything_but_one_whole_batch_is_refused() {
        let one = sealed(Compression::None, 0, 0);
        let short = one.slice(..60);
        assert!(matches!(
            rewrite_producer_identity(&short, 1, 1, 1),
            Err(RecordError::Truncated { .. })
        ));
        let two = Bytes::from([&one[..], &one[..]].concat());
        assert!(matches!(
            rewrite_producer_identity(&two, 1, 1, 1),
            Err(RecordError::InvalidLength { .. })
        ));
        let mut legacy = BytesMut::from(&one[..]);
        legacy[layout::MAGIC] = 1;
        assert!(matches!(
            rewrite_producer_identity(&legacy.freeze(), 1, 1, 1),
            Err(RecordError::InvalidMagic { magic: 1, .. })
        ));
    }
}
