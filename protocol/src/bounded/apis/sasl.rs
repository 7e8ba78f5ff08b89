//! SASL: SaslHandshake (key 17, never flexible) and SaslAuthenticate
//! (key 36, flexible from v2).

message!(SASL_HANDSHAKE = "SaslHandshakeResponse", flexible from i16::MAX, root SASL_HANDSHAKE_RESPONSE);

structs! {
    struct SASL_HANDSHAKE_RESPONSE = "SaslHandshakeResponse" {
        error_code: i16,
        mechanisms: [string],
    }
}

message!(
    SASL_AUTHENTICATE = "SaslAuthenticateResponse",
    flexible from 2,
    root SASL_AUTHENTICATE_RESPONSE
);

structs! {
    struct SASL_AUTHENTICATE_RESPONSE = "SaslAuthenticateResponse" {
        error_code: i16,
        error_message: string,
        auth_bytes: bytes,
        session_lifetime_ms: i64 [1..],
    }
}
