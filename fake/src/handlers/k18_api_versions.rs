//! ApiVersions (key 18), versions 0–4.
//!
//! Behaviour, as a Kafka broker:
//! - Lists every API the fake serves with its version range, taken from
//!   the handler registry (narrowed by `FakeClusterBuilder::max_version`).
//! - A request at a version above 4 is answered (by the connection layer,
//!   before decoding) with UNSUPPORTED_VERSION in the v0 layout, listing
//!   the ApiVersions versions served, so the client can retry lower.
//! - Always answered with response header v0.
//!
//! Skipped: feature flags (`supported_features`, `finalized_features`).

use kafka_protocol::messages::api_versions_response::ApiVersion;
use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse, ResponseKind};

use super::{ApiSpec, Ctx, Handled};

pub(crate) const SPEC: ApiSpec = ApiSpec {
    key: ApiKey::ApiVersions,
    min: 0,
    max: 4,
};

pub(crate) fn handle(ctx: &mut Ctx<'_>, _request: &ApiVersionsRequest) -> Handled {
    let mut response = answer(&ctx.state.settings.api_versions);
    if let Some(error) = ctx.forced_code() {
        response.error_code = error;
    }
    Handled::Respond(ResponseKind::ApiVersions(response))
}

/// The ApiVersions answer listing `versions`.
pub(crate) fn answer(versions: &[(ApiKey, i16, i16)]) -> ApiVersionsResponse {
    ApiVersionsResponse::default().with_api_keys(
        versions
            .iter()
            .map(|&(key, min, max)| {
                ApiVersion::default()
                    .with_api_key(key as i16)
                    .with_min_version(min)
                    .with_max_version(max)
            })
            .collect(),
    )
}
