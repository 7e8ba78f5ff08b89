//! The ApiVersions request.

message!(API_VERSIONS = "ApiVersionsRequest", flexible from 3, root API_VERSIONS_REQUEST);

structs! {
    struct API_VERSIONS_REQUEST = "ApiVersionsRequest" {
        client_software_name: string [3..],
        client_software_version: string [3..],
    }
}
