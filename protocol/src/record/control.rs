//! Control records: the transaction markers (commit / abort) a
//! transaction coordinator writes into each partition a transaction touched.
//!
//! A control batch (attribute bit 5) holds one control record whose
//!
//! - key is `version: i16` (0) then `type: i16` (0 abort, 1 commit, others
//!   are KRaft-internal), and whose
//! - value, for commit and abort, is `version: i16` (0) then
//!   `coordinatorEpoch: i32`.
//!
//! A `read_committed` consumer drops the records of aborted transactions:
//! it needs [`ControlRecordType`] of each control batch
//! ([`RecordBatch::control_type`](super::RecordBatch::control_type)).

use super::RecordError;

/// The type of a control record, from its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ControlRecordType {
    /// The producer's transaction was aborted (type 0).
    Abort,
    /// The producer's transaction was committed (type 1).
    Commit,
    /// Any other type (KRaft's leader-change, snapshot and voter records,
    /// or one newer than this client); consumers skip these.
    Unknown(i16),
}

impl ControlRecordType {
    /// The type id written in the key.
    pub const fn id(self) -> i16 {
        match self {
            ControlRecordType::Abort => 0,
            ControlRecordType::Commit => 1,
            ControlRecordType::Unknown(id) => id,
        }
    }

    /// The type for an id.
    pub const fn from_id(id: i16) -> Self {
        match id {
            0 => ControlRecordType::Abort,
            1 => ControlRecordType::Commit,
            other => ControlRecordType::Unknown(other),
        }
    }

    /// Reads the type from a control record key (`version: i16`,
    /// `type: i16`). As Java's `ControlRecordType.parse`: a key shorter than
    /// 4 bytes or with a negative version is an error; a newer version is
    /// read as version 0.
    pub fn parse_key(key: &[u8], base_offset: i64) -> Result<Self, RecordError> {
        let Some(&[v0, v1, t0, t1]) = key.first_chunk::<4>() else {
            return Err(RecordError::InvalidControlRecord {
                base_offset,
                detail: "key shorter than 4 bytes",
            });
        };
        if i16::from_be_bytes([v0, v1]) < 0 {
            return Err(RecordError::InvalidControlRecord {
                base_offset,
                detail: "negative key version",
            });
        }
        Ok(Self::from_id(i16::from_be_bytes([t0, t1])))
    }

    /// The 4-byte key of a version-0 control record of this type.
    pub const fn encode_key(self) -> [u8; 4] {
        let t = self.id().to_be_bytes();
        [0, 0, t[0], t[1]]
    }
}

/// A commit or abort marker: the content of a transaction's control record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EndTransactionMarker {
    /// Whether the transaction committed ([`ControlRecordType::Commit`]) or
    /// aborted ([`ControlRecordType::Abort`]).
    pub kind: ControlRecordType,
    /// Epoch of the transaction coordinator that wrote the marker.
    pub coordinator_epoch: i32,
}

impl EndTransactionMarker {
    /// A commit marker.
    pub const fn commit(coordinator_epoch: i32) -> Self {
        EndTransactionMarker {
            kind: ControlRecordType::Commit,
            coordinator_epoch,
        }
    }

    /// An abort marker.
    pub const fn abort(coordinator_epoch: i32) -> Self {
        EndTransactionMarker {
            kind: ControlRecordType::Abort,
            coordinator_epoch,
        }
    }

    /// Reads a marker from a control record's key and value. The key must be
    /// a commit or abort; the value `version: i16` (not negative),
    /// `coordinatorEpoch: i32`.
    pub fn parse(key: &[u8], value: Option<&[u8]>, base_offset: i64) -> Result<Self, RecordError> {
        let kind = ControlRecordType::parse_key(key, base_offset)?;
        if !matches!(kind, ControlRecordType::Abort | ControlRecordType::Commit) {
            return Err(RecordError::InvalidControlRecord {
                base_offset,
                detail: "not a commit or abort marker",
            });
        }
        let Some(&[v0, v1, e0, e1, e2, e3]) = value.and_then(|v| v.first_chunk::<6>()) else {
            return Err(RecordError::InvalidControlRecord {
                base_offset,
                detail: "marker value shorter than 6 bytes",
            });
        };
        if i16::from_be_bytes([v0, v1]) < 0 {
            return Err(RecordError::InvalidControlRecord {
                base_offset,
                detail: "negative marker value version",
            });
        }
        Ok(EndTransactionMarker {
            kind,
            coordinator_epoch: i32::from_be_bytes([e0, e1, e2, e3]),
        })
    }

    /// The record key: version 0 and the type.
    pub const fn encode_key(&self) -> [u8; 4] {
        self.kind.encode_key()
    }

    /// The record value: version 0 and the coordinator epoch.
    pub const fn encode_value(&self) -> [u8; 6] {
        let e = self.coordinator_epoch.to_be_bytes();
        [0, 0, e[0], e[1], e[2], e[3]]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_values() {
        let m = EndTransactionMarker::commit(7);
        assert_eq!(m.encode_key(), [0, 0, 0, 1]);
        assert_eq!(m.encode_value(), [0, 0, 0, 0, 0, 7]);
        assert_eq!(
            EndTransactionMarker::parse(&m.encode_key(), Some(&m.encode_value()), 0).unwrap(),
            m
        );
        assert_eq!(
            ControlRecordType::parse_key(&[0, 0, 0, 0], 0).unwrap(),
            ControlRecordType::Abort
        );
        assert_eq!(
            ControlRecordType::parse_key(&[0, 1, 0, 3, 9], 0).unwrap(),
            ControlRecordType::Unknown(3)
        );
        assert!(ControlRecordType::parse_key(&[0, 0, 0], 0).is_err());
        assert!(ControlRecordType::parse_key(&[0xff, 0, 0, 1], 0).is_err());
        assert!(EndTransactionMarker::parse(&[0, 0, 0, 1], None, 0).is_err());
        assert!(EndTransactionMarker::parse(&[0, 0, 0, 1], Some(&[0, 0, 1]), 0).is_err());
        assert!(EndTransactionMarker::parse(&[0, 0, 0, 2], Some(&[0; 6]), 0).is_err());
    }
}
