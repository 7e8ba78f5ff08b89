//! ApiVersions (key 18). Flexible from v3 (the response header stays v0).

message!(API_VERSIONS = "ApiVersionsResponse", flexible from 3, root API_VERSIONS_RESPONSE);

structs! {
    struct API_VERSIONS_RESPONSE = "ApiVersionsResponse" {
        error_code: i16,
        api_keys: [API_VERSION],
        throttle_time_ms: i32 [1..],
    } tagged {
        0 => supported_features: [SUPPORTED_FEATURE_KEY] [3..],
        1 => finalized_features_epoch: i64 [3..],
        2 => finalized_features: [FINALIZED_FEATURE_KEY] [3..],
        3 => zk_migration_ready: bool [3..],
    }

    struct API_VERSION = "ApiVersion" {
        api_key: i16,
        min_version: i16,
        max_version: i16,
    }

    struct SUPPORTED_FEATURE_KEY = "SupportedFeatureKey" {
        name: string [3..],
        min_version: i16 [3..],
        max_version: i16 [3..],
    }

    struct FINALIZED_FEATURE_KEY = "FinalizedFeatureKey" {
        name: string [3..],
        max_version_level: i16 [3..],
        min_version_level: i16 [3..],
    }
}
