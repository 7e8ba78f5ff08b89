//! SaslHandshake and SaslAuthenticate requests.

message!(
    SASL_HANDSHAKE = "SaslHandshakeRequest",
    flexible from i16::MAX,
    root SASL_HANDSHAKE_REQUEST
);

structs! {
    struct SASL_HANDSHAKE_REQUEST = "SaslHandshakeRequest" {
        mechanism: string,
    }
}

message!(
    SASL_AUTHENTICATE = "SaslAuthenticateRequest",
    flexible from 2,
    root SASL_AUTHENTICATE_REQUEST
);

structs! {
    struct SASL_AUTHENTICATE_REQUEST = "SaslAuthenticateRequest" {
        auth_bytes: bytes,
    }
}
