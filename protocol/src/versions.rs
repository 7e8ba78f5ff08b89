//! API version negotiation.
//!
//! The first request on every connection is ApiVersions. Its answer lists,
//! per API, the range of versions the broker accepts; [`BrokerVersions`]
//! keeps that list and [`BrokerVersions::negotiate`] picks, per API, the
//! highest version both sides support, from the table of versions this
//! crate implements ([`implemented_versions`]).
//!
//! [`ApiVersionsExchange`] runs the exchange itself, including the downgrade
//! a broker asks for when it does not know the ApiVersions version we sent:
//! it answers UNSUPPORTED_VERSION in the v0 layout, listing the ApiVersions
//! versions it does know, and the client tries again with the highest of
//! those.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use ferrokafka_protocol::messages::{ApiKey, ApiVersionsResponse};
//! use ferrokafka_protocol::messages::api_versions_response::ApiVersion;
//! use ferrokafka_protocol::versions::{ApiVersionsExchange, ExchangeStep};
//! # use kafka_protocol::protocol::Encodable;
//!
//! let mut exchange = ApiVersionsExchange::new("ferrokafka", "0.1.0");
//! let version = exchange.version(); // send exchange.request() at this version
//! // ... the broker answers:
//! let answer = ApiVersionsResponse::default().with_api_keys(vec![
//!     ApiVersion::default().with_api_key(ApiKey::Metadata as i16).with_min_version(0).with_max_version(9),
//! ]);
//! let mut body = BytesMut::new();
//! answer.encode(&mut body, version).unwrap();
//! let ExchangeStep::Done(broker) = exchange.handle_response(body.freeze()).unwrap() else { panic!() };
//! assert_eq!(broker.negotiate(ApiKey::Metadata).unwrap(), 9);
//! assert!(broker.negotiate(ApiKey::Produce).is_err());
//! ```

use bytes::Bytes;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::bounded::{self, decode_response};
use crate::ProtocolError;

/// Kafka's error code for UNSUPPORTED_VERSION.
const UNSUPPORTED_VERSION: i16 = 35;

/// The inclusive range of versions of `api` this crate can encode and decode,
/// or `None` for an API it does not implement.
pub fn implemented_versions(api: ApiKey) -> Option<(i16, i16)> {
    bounded::supported_versions(api)
}

/// Why no version could be agreed for an API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VersionError {
    /// The broker's ApiVersions answer does not list the API at all.
    #[error("the broker does not support {api:?} at all; it may be an older Kafka or a Kafka-compatible server without this feature")]
    NotSupportedByBroker {
        /// The API asked for.
        api: ApiKey,
    },
    /// Both sides know the API, but their version ranges do not overlap.
    #[error("no common version for {api:?}: ferrokafka implements v{}..=v{}, the broker accepts v{}..=v{}; upgrade whichever side is older", ours.0, ours.1, broker.0, broker.1)]
    NoCommonVersion {
        /// The API asked for.
        api: ApiKey,
        /// The versions this crate implements.
        ours: (i16, i16),
        /// The versions the broker accepts.
        broker: (i16, i16),
    },
    /// This crate does not implement the API.
    #[error("ferrokafka does not implement {api:?}")]
    NotImplemented {
        /// The API asked for.
        api: ApiKey,
    },
    /// The broker answered ApiVersions with an error other than a version downgrade.
    #[error("the broker refused the ApiVersions request with error code {code}")]
    Refused {
        /// The Kafka error code.
        code: i16,
    },
    /// The broker kept asking for a downgrade without offering a lower version.
    #[error("the broker answered UNSUPPORTED_VERSION to ApiVersions v{version} and offers no lower version to retry with")]
    NoDowngrade {
        /// The ApiVersions version last sent.
        version: i16,
    },
}

/// The versions one broker accepts, from its ApiVersions answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerVersions {
    /// Indexed by api key; `None` where the broker did not list the key.
    ranges: Vec<Option<(i16, i16)>>,
    throttle_time_ms: i32,
}

impl BrokerVersions {
    /// Builds the table from a decoded ApiVersions response.
    pub fn from_response(response: &ApiVersionsResponse) -> Self {
        let mut ranges = Vec::new();
        for entry in &response.api_keys {
            // Keys are small (< 100 today); ignore absurd ones rather than
            // growing a table from a broker-chosen number.
            let Ok(index) = usize::try_from(entry.api_key) else {
                continue;
            };
            if index > 1024 || entry.min_version > entry.max_version {
                continue;
            }
            if ranges.len() <= index {
                ranges.resize(index + 1, None);
            }
            ranges[index] = Some((entry.min_version, entry.max_version));
        }
        BrokerVersions {
            ranges,
            throttle_time_ms: response.throttle_time_ms,
        }
    }

    /// The range the broker accepts for `api`, if it listed it.
    pub fn broker_range(&self, api: ApiKey) -> Option<(i16, i16)> {
        self.ranges.get(api as i16 as usize).copied().flatten()
    }

    /// The throttle time the broker asked for in its answer.
    pub fn throttle_time_ms(&self) -> i32 {
        self.throttle_time_ms
    }

    /// The highest version of `api` that both this crate and the broker support.
    pub fn negotiate(&self, api: ApiKey) -> Result<i16, VersionError> {
        let ours = implemented_versions(api).ok_or(VersionError::NotImplemented { api })?;
        let broker = self
            .broker_range(api)
            .ok_or(VersionError::NotSupportedByBroker { api })?;
        let high = ours.1.min(broker.1);
        let low = ours.0.max(broker.0);
        if high < low {
            return Err(VersionError::NoCommonVersion { api, ours, broker });
        }
        Ok(high)
    }
}

/// What to do after an ApiVersions answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExchangeStep {
    /// The exchange is over: these are the broker's versions.
    Done(BrokerVersions),
    /// Send [`ApiVersionsExchange::request`] again, now at this version.
    Retry {
        /// The ApiVersions version to use next.
        version: i16,
    },
}

/// The ApiVersions exchange, sans-IO: build the request, feed the answer,
/// follow the step.
#[derive(Debug, Clone)]
pub struct ApiVersionsExchange {
    version: i16,
    software_name: StrBytes,
    software_version: StrBytes,
}

impl ApiVersionsExchange {
    /// Starts at the highest ApiVersions version we implement. The software
    /// name and version are sent from v3 on; characters the broker would
    /// refuse (anything but ASCII letters, digits, `-` and `.`) are replaced.
    pub fn new(software_name: &str, software_version: &str) -> Self {
        let max = implemented_versions(ApiKey::ApiVersions).map_or(0, |(_, max)| max);
        ApiVersionsExchange {
            version: max,
            software_name: StrBytes::from_string(sanitize_software_field(software_name)),
            software_version: StrBytes::from_string(sanitize_software_field(software_version)),
        }
    }

    /// The version to encode the next request with.
    pub fn version(&self) -> i16 {
        self.version
    }

    /// The request to send at [`version`](Self::version).
    pub fn request(&self) -> ApiVersionsRequest {
        let request = ApiVersionsRequest::default();
        if self.version >= 3 {
            request
                .with_client_software_name(self.software_name.clone())
                .with_client_software_version(self.software_version.clone())
        } else {
            request
        }
    }

    /// Feeds the answer's body (after the v0 response header).
    pub fn handle_response(&mut self, body: Bytes) -> Result<ExchangeStep, ProtocolError> {
        // A broker that does not know our version answers UNSUPPORTED_VERSION
        // in the v0 layout. Both layouts start with the error code, so read
        // that first and pick the layout from it.
        let refused = body.get(..2) == Some(&UNSUPPORTED_VERSION.to_be_bytes()[..]);
        let layout = if refused { 0 } else { self.version };
        let response = match decode_response::<ApiVersionsResponse>(&mut body.clone(), layout) {
            Ok(response) => response,
            Err(first) if layout > 0 => {
                decode_response::<ApiVersionsResponse>(&mut body.clone(), 0).map_err(|_| first)?
            }
            Err(error) => return Err(error.into()),
        };
        match response.error_code {
            0 => Ok(ExchangeStep::Done(BrokerVersions::from_response(&response))),
            UNSUPPORTED_VERSION => {
                let offered = BrokerVersions::from_response(&response)
                    .broker_range(ApiKey::ApiVersions)
                    .map_or(0, |(_, max)| max);
                let next = offered.min(self.version.saturating_sub(1)).max(0);
                if self.version == 0 {
                    return Err(VersionError::NoDowngrade { version: 0 }.into());
                }
                self.version = next;
                Ok(ExchangeStep::Retry { version: next })
            }
            code => Err(VersionError::Refused { code }.into()),
        }
    }
}

/// Kafka checks these fields against `[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?`.
fn sanitize_software_field(value: &str) -> String {
    let mut out: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    while out.ends_with(['-', '.']) {
        out.pop();
    }
    while out.starts_with(['-', '.']) {
        out.remove(0);
    }
    if out.is_empty() {
        out.push_str("unknown");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;
    use kafka_protocol::messages::api_versions_response::ApiVersion;
    use kafka_protocol::protocol::{Decodable, Encodable};

    fn entry(api: ApiKey, min: i16, max: i16) -> ApiVersion {
        ApiVersion::default()
            .with_api_key(api as i16)
            .with_min_version(min)
            .with_max_version(max)
    }

    fn encode(response: &ApiVersionsResponse, version: i16) -> Bytes {
        let mut out = BytesMut::new();
        response.encode(&mut out, version).unwrap();
        out.freeze()
    }

    #[test]
    fn picks_highest_common_version() {
        let broker =
            BrokerVersions::from_response(&ApiVersionsResponse::default().with_api_keys(vec![
                entry(ApiKey::Metadata, 0, 99),
                entry(ApiKey::Produce, 0, 5),
                entry(ApiKey::Fetch, 0, 2),
            ]));
        let (_, our_max) = implemented_versions(ApiKey::Metadata).unwrap();
        assert_eq!(broker.negotiate(ApiKey::Metadata), Ok(our_max));
        assert_eq!(broker.negotiate(ApiKey::Produce), Ok(5));
        let err = broker.negotiate(ApiKey::Fetch).unwrap_err();
        assert!(matches!(
            err,
            VersionError::NoCommonVersion {
                api: ApiKey::Fetch,
                broker: (0, 2),
                ..
            }
        ));
        assert!(err.to_string().contains("Fetch"), "{err}");
        let err = broker.negotiate(ApiKey::DeleteRecords).unwrap_err();
        assert_eq!(
            err,
            VersionError::NotSupportedByBroker {
                api: ApiKey::DeleteRecords
            }
        );
        assert!(err.to_string().contains("DeleteRecords"));
        assert_eq!(
            broker.negotiate(ApiKey::AlterPartition),
            Err(VersionError::NotImplemented {
                api: ApiKey::AlterPartition
            })
        );
    }

    #[test]
    fn ignores_hostile_api_keys() {
        let broker =
            BrokerVersions::from_response(&ApiVersionsResponse::default().with_api_keys(vec![
                entry(ApiKey::Metadata, 0, 9),
                ApiVersion::default().with_api_key(i16::MAX),
                ApiVersion::default().with_api_key(-5),
            ]));
        assert!(broker.ranges.len() < 100);
        assert_eq!(broker.negotiate(ApiKey::Metadata), Ok(9));
    }

    #[test]
    fn downgrades_when_the_broker_answers_unsupported_version() {
        let mut exchange = ApiVersionsExchange::new("ferrokafka", "0.1.0");
        let first = exchange.version();
        assert!(first >= 3);
        // The broker knows ApiVersions only up to v2 and answers in the v0 layout.
        let refusal = ApiVersionsResponse::default()
            .with_error_code(UNSUPPORTED_VERSION)
            .with_api_keys(vec![entry(ApiKey::ApiVersions, 0, 2)]);
        let step = exchange.handle_response(encode(&refusal, 0)).unwrap();
        assert_eq!(step, ExchangeStep::Retry { version: 2 });
        assert_eq!(exchange.version(), 2);
        // The retried request must not carry v3-only fields.
        let mut out = BytesMut::new();
        exchange.request().encode(&mut out, 2).unwrap();
        assert!(out.is_empty());

        let answer = ApiVersionsResponse::default().with_api_keys(vec![
            entry(ApiKey::ApiVersions, 0, 2),
            entry(ApiKey::Metadata, 0, 7),
        ]);
        let ExchangeStep::Done(broker) = exchange.handle_response(encode(&answer, 2)).unwrap()
        else {
            panic!("expected the exchange to finish");
        };
        assert_eq!(broker.negotiate(ApiKey::Metadata), Ok(7));
    }

    #[test]
    fn downgrade_without_offer_falls_back_step_by_step_and_ends() {
        let mut exchange = ApiVersionsExchange::new("x", "y");
        let refusal = encode(
            &ApiVersionsResponse::default().with_error_code(UNSUPPORTED_VERSION),
            0,
        );
        let mut seen = vec![exchange.version()];
        loop {
            match exchange.handle_response(refusal.clone()) {
                Ok(ExchangeStep::Retry { version }) => seen.push(version),
                Ok(other) => panic!("unexpected {other:?}"),
                Err(err) => {
                    assert!(err.to_string().contains("no lower version"), "{err}");
                    break;
                }
            }
        }
        assert_eq!(seen.last(), Some(&0));
    }

    #[test]
    fn other_errors_are_reported() {
        let mut exchange = ApiVersionsExchange::new("x", "y");
        let version = exchange.version();
        let err = exchange
            .handle_response(encode(
                &ApiVersionsResponse::default().with_error_code(42),
                version,
            ))
            .unwrap_err();
        assert!(err.to_string().contains("42"), "{err}");
    }

    #[test]
    fn software_name_is_sanitized_and_sent_from_v3() {
        let exchange = ApiVersionsExchange::new("my client!", "1.0_beta+");
        let mut out = BytesMut::new();
        exchange.request().encode(&mut out, 3).unwrap();
        let request = ApiVersionsRequest::decode(&mut out.freeze(), 3).unwrap();
        assert_eq!(request.client_software_name.as_str(), "my-client");
        assert_eq!(request.client_software_version.as_str(), "1.0-beta");
    }
    #[test]
    fn api_versions_golden_bytes() {
        // v0: error_code, array count, then (api_key, min, max) per entry.
        let v0: &[u8] = &[0, 0, 0, 0, 0, 1, 0, 3, 0, 0, 0, 12];
        let mut exchange = ApiVersionsExchange::new("x", "y");
        exchange.version = 0;
        let ExchangeStep::Done(broker) = exchange.handle_response(Bytes::from_static(v0)).unwrap()
        else {
            panic!("expected Done");
        };
        assert_eq!(broker.broker_range(ApiKey::Metadata), Some((0, 12)));

        // v3 (flexible): error_code, compact array (count + 1), entries with an
        // empty tagged-field section each, throttle_time_ms, top-level tags.
        let v3: &[u8] = &[0, 0, 2, 0, 18, 0, 0, 0, 4, 0, 0, 0, 0, 100, 0];
        let mut exchange = ApiVersionsExchange::new("x", "y");
        exchange.version = 3;
        let ExchangeStep::Done(broker) = exchange.handle_response(Bytes::from_static(v3)).unwrap()
        else {
            panic!("expected Done");
        };
        assert_eq!(broker.broker_range(ApiKey::ApiVersions), Some((0, 4)));
        assert_eq!(broker.throttle_time_ms(), 100);
        let expected = ApiVersionsResponse::default()
            .with_throttle_time_ms(100)
            .with_api_keys(vec![entry(ApiKey::ApiVersions, 0, 4)]);
        assert_eq!(&encode(&expected, 3)[..], v3);
    }
}
