//! HS256 JSON Web Tokens, for test identity providers and the fake
//! cluster (the `server` feature): sign a token, and validate signature,
//! expiry and audience. Clients never look inside their tokens.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use ring::hmac;

/// The claims the fake cluster checks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// `sub`: the principal.
    pub subject: String,
    /// `aud`.
    pub audience: String,
    /// `exp`, seconds since the Unix epoch.
    pub expires_at: u64,
}

/// Signs `claims` with HMAC-SHA256.
pub fn sign_hs256(claims: &Claims, key: &[u8]) -> String {
    let header = B64URL.encode(br#"{"alg":"HS256","typ":"JWT"}"#);
    let payload = B64URL.encode(
        serde_json::json!({
            "sub": claims.subject,
            "aud": claims.audience,
            "exp": claims.expires_at,
        })
        .to_string(),
    );
    let signing_input = format!("{header}.{payload}");
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        signing_input.as_bytes(),
    );
    format!("{signing_input}.{}", B64URL.encode(tag.as_ref()))
}

/// Checks an HS256 token's signature, `exp` against `now_secs` and `aud`.
pub fn validate_hs256(
    token: &str,
    key: &[u8],
    audience: &str,
    now_secs: u64,
) -> Result<Claims, &'static str> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err("not a JWT (three dot-separated parts expected)");
    };
    let header: serde_json::Value = B64URL
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice(&h).ok())
        .ok_or("bad JWT header")?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("HS256") {
        return Err("only alg HS256 is accepted");
    }
    let signature = B64URL
        .decode(signature)
        .map_err(|_| "bad JWT signature encoding")?;
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        format!("{}.{payload}", token.split('.').next().unwrap_or_default()).as_bytes(),
        &signature,
    )
    .map_err(|_| "bad JWT signature")?;
    let claims: serde_json::Value = B64URL
        .decode(payload)
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .ok_or("bad JWT payload")?;
    let expires_at = claims
        .get("exp")
        .and_then(|e| e.as_u64())
        .ok_or("no exp claim")?;
    if expires_at <= now_secs {
        return Err("token expired");
    }
    let aud = claims
        .get("aud")
        .and_then(|a| a.as_str())
        .unwrap_or_default();
    if aud != audience {
        return Err("wrong audience");
    }
    Ok(Claims {
        subject: claims
            .get("sub")
            .and_then(|s| s.as_str())
            .ok_or("no sub claim")?
            .to_owned(),
        audience: aud.to_owned(),
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_and_validates() {
        let claims = Claims {
            subject: "app".into(),
            audience: "kafka".into(),
            expires_at: 2000,
        };
        let token = sign_hs256(&claims, b"key");
        assert_eq!(validate_hs256(&token, b"key", "kafka", 1000), Ok(claims));
        assert_eq!(
            validate_hs256(&token, b"other", "kafka", 1000),
            Err("bad JWT signature")
        );
        assert_eq!(
            validate_hs256(&token, b"key", "kafka", 2000),
            Err("token expired")
        );
        assert_eq!(
            validate_hs256(&token, b"key", "nope", 1000),
            Err("wrong audience")
        );
        let mut tampered = token.clone();
        tampered.insert(token.find('.').unwrap() + 2, 'x');
        assert!(validate_hs256(&tampered, b"key", "kafka", 1000).is_err());
        assert!(validate_hs256("a.b", b"key", "kafka", 1000).is_err());
    }
}
