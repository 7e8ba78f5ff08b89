//! Metadata requests.

use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{ApiKey, MetadataRequest};

use super::{check_version, topic_name, RequestBuildError};

/// The `topics` argument of [`metadata_request`] that asks about every
/// topic in the cluster.
pub const ALL_TOPICS: Option<&[&str]> = None;

/// A Metadata request at `version` for `topics` (`None`, or
/// [`ALL_TOPICS`], for every topic in the cluster).
///
/// `allow_auto_topic_creation` asks the broker to create the named topics
/// that do not exist yet (when its `auto.create.topics.enable` allows):
/// a producer asks for it, everything else should not. The field exists
/// from v4; before that the broker decides alone, and the request carries
/// `kafka-protocol`'s default (true), the only value those versions can
/// encode. Authorized operations are never asked for.
///
/// Versions before v1 are not implemented (v0 had no way to ask about
/// no topics, and meant "all" by an empty list), and are refused.
///
/// ```
/// use std::sync::Arc;
/// use ferrokafka_protocol::requests::{metadata_request, ALL_TOPICS};
///
/// let everything = metadata_request(12, ALL_TOPICS, false)?;
/// assert!(everything.topics.is_none());
///
/// let wanted: Vec<Arc<str>> = vec![Arc::from("orders")];
/// let produce_to = metadata_request(12, Some(&wanted[..]), true)?;
/// assert_eq!(produce_to.topics.unwrap().len(), 1);
/// assert!(produce_to.allow_auto_topic_creation);
/// # Ok::<(), ferrokafka_protocol::requests::RequestBuildError>(())
/// ```
pub fn metadata_request<S: AsRef<str>>(
    version: i16,
    topics: Option<&[S]>,
    allow_auto_topic_creation: bool,
) -> Result<MetadataRequest, RequestBuildError> {
    check_version(ApiKey::Metadata, version)?;
    let topics = topics.map(|names| {
        names
            .iter()
            .map(|name| MetadataRequestTopic::default().with_name(Some(topic_name(name.as_ref()))))
            .collect()
    });
    Ok(MetadataRequest::default()
        .with_topics(topics)
        .with_allow_auto_topic_creation(version < 4 || allow_auto_topic_creation)
        .with_include_cluster_authorized_operations(false)
        .with_include_topic_authorized_operations(false))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{as_sent, versions};
    use super::*;

    #[test]
    fn all_topics_is_null_at_every_version() {
        for version in versions::<MetadataRequest>() {
            let sent = as_sent(
                &metadata_request(version, ALL_TOPICS, false).unwrap(),
                version,
            );
            assert_eq!(sent.topics, None, "v{version}");
        }
    }

    #[test]
    fn named_topics_are_sent_in_order_at_every_version() {
        let names = ["b", "a", "c"];
        for version in versions::<MetadataRequest>() {
            let sent = as_sent(
                &metadata_request(version, Some(&names[..]), false).unwrap(),
                version,
            );
            let sent: Vec<String> = sent
                .topics
                .unwrap()
                .iter()
                .map(|t| t.name.as_ref().unwrap().to_string())
                .collect();
            assert_eq!(sent, names, "v{version}");
        }
        let none: [&str; 0] = [];
        let sent = as_sent(&metadata_request(12, Some(&none[..]), false).unwrap(), 12);
        assert_eq!(
            sent.topics,
            Some(vec![]),
            "an empty list asks about no topic"
        );
    }

    #[test]
    fn auto_creation_is_asked_for_from_v4_and_left_to_the_broker_before() {
        for version in versions::<MetadataRequest>() {
            for allow in [false, true] {
                let sent = as_sent(
                    &metadata_request(version, Some(&["t"][..]), allow).unwrap(),
                    version,
                );
                // Before v4 the field is not on the wire: it decodes as the default.
                let expected = if version >= 4 { allow } else { true };
                assert_eq!(
                    sent.allow_auto_topic_creation, expected,
                    "v{version} allow {allow}"
                );
            }
        }
    }

    #[test]
    fn versions_outside_the_table_are_refused() {
        for version in [0, 13] {
            let err = metadata_request(version, ALL_TOPICS, false).unwrap_err();
            assert_eq!(
                err,
                RequestBuildError::UnsupportedVersion {
                    api: ApiKey::Metadata,
                    version,
                    supported: (1, 12)
                }
            );
            assert!(
                err.to_string().contains("BrokerVersions::negotiate"),
                "{err}"
            );
        }
    }
}
