//! InitProducerId requests, for an idempotent or transactional producer.

use std::time::Duration;

use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, ProducerId, TransactionalId};
use kafka_protocol::protocol::StrBytes;

use super::{check_version, millis_i32, RequestBuildError};

/// The first InitProducerId version that can bump an epoch (KIP-360).
const EPOCH_BUMP_FROM: i16 = 3;

/// A producer id and its epoch, as a broker handed them out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerIdAndEpoch {
    /// The producer id.
    pub id: i64,
    /// The epoch.
    pub epoch: i16,
}

/// An InitProducerId request at `version`: a new producer id when
/// `current` is `None`, else an epoch bump of `current` (KIP-360).
///
/// Brokers bump an epoch from v3 on; before v3 the request cannot say
/// which producer it is, so a bump is sent as a request for a new producer
/// id (what the Java client does with such brokers): the answer then
/// carries a new id at epoch 0, which serves the same purpose.
///
/// `transactional_id` is `None` for an idempotent producer without
/// transactions; `transaction_timeout` is sent in whole milliseconds, at
/// most `i32::MAX` (an idempotent producer sends the maximum).
///
/// ```
/// use std::time::Duration;
/// use ferrokafka_protocol::requests::{init_producer_id_request, ProducerIdAndEpoch};
///
/// let current = ProducerIdAndEpoch { id: 4000, epoch: 2 };
/// let bump = init_producer_id_request(4, None, Duration::MAX, Some(current))?;
/// assert_eq!((bump.producer_id.0, bump.producer_epoch), (4000, 2));
/// assert_eq!(bump.transaction_timeout_ms, i32::MAX);
///
/// // v2 cannot bump: the same call asks for a new producer id.
/// let fresh = init_producer_id_request(2, None, Duration::MAX, Some(current))?;
/// assert_eq!((fresh.producer_id.0, fresh.producer_epoch), (-1, -1));
/// # Ok::<(), ferrokafka_protocol::requests::RequestBuildError>(())
/// ```
pub fn init_producer_id_request(
    version: i16,
    transactional_id: Option<&str>,
    transaction_timeout: Duration,
    current: Option<ProducerIdAndEpoch>,
) -> Result<InitProducerIdRequest, RequestBuildError> {
    check_version(ApiKey::InitProducerId, version)?;
    let (id, epoch) = match current {
        Some(p) if version >= EPOCH_BUMP_FROM => (p.id, p.epoch),
        _ => (-1, -1),
    };
    Ok(InitProducerIdRequest::default()
        .with_transactional_id(
            transactional_id.map(|t| TransactionalId(StrBytes::from_string(t.to_owned()))),
        )
        .with_transaction_timeout_ms(millis_i32(transaction_timeout))
        .with_producer_id(ProducerId(id))
        .with_producer_epoch(epoch))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{as_sent, versions};
    use super::*;

    const CURRENT: ProducerIdAndEpoch = ProducerIdAndEpoch {
        id: 123_456_789_000,
        epoch: 7,
    };

    #[test]
    fn a_bump_is_sent_from_v3_and_a_new_id_asked_for_before() {
        for version in versions::<InitProducerIdRequest>() {
            let built =
                init_producer_id_request(version, None, Duration::MAX, Some(CURRENT)).unwrap();
            let sent = as_sent(&built, version);
            assert_eq!(sent, built, "v{version}: nothing is lost on the wire");
            let expected = if version >= 3 {
                (CURRENT.id, CURRENT.epoch)
            } else {
                (-1, -1)
            };
            assert_eq!(
                (sent.producer_id.0, sent.producer_epoch),
                expected,
                "v{version}"
            );
            assert_eq!(sent.transactional_id, None);
            assert_eq!(sent.transaction_timeout_ms, i32::MAX);
        }
    }

    #[test]
    fn a_new_id_for_a_transactional_producer_encodes_at_every_version() {
        for version in versions::<InitProducerIdRequest>() {
            let built =
                init_producer_id_request(version, Some("tx-1"), Duration::from_secs(60), None)
                    .unwrap();
            let sent = as_sent(&built, version);
            assert_eq!(sent, built, "v{version}");
            assert_eq!(sent.transactional_id.as_deref().map(|t| &**t), Some("tx-1"));
            assert_eq!(sent.transaction_timeout_ms, 60_000);
            assert_eq!((sent.producer_id.0, sent.producer_epoch), (-1, -1));
        }
    }

    #[test]
    fn versions_outside_the_table_are_refused() {
        assert!(matches!(
            init_producer_id_request(5, None, Duration::MAX, None),
            Err(RequestBuildError::UnsupportedVersion {
                api: ApiKey::InitProducerId,
                version: 5,
                supported: (0, 4)
            })
        ));
    }
}
