//! Compact JWTs, as far as the emulator needs them: splitting and decoding a client assertion
//! (header, claims, signing input, signature) and encoding the unsigned-but-remembered ones
//! the Azure DevOps OIDC endpoint hands out.

use serde_json::Value;

/// A decoded compact JWS.
#[derive(Debug)]
pub(crate) struct Jwt {
    pub(crate) header: Value,
    pub(crate) claims: Value,
    /// `base64url(header) "." base64url(claims)`: what the signature covers.
    pub(crate) signing_input: String,
    pub(crate) signature: Vec<u8>,
}

impl Jwt {
    /// Splits and decodes `header.claims.signature`; `None` unless all three parts decode
    /// and header and claims are JSON objects.
    pub(crate) fn decode(token: &str) -> Option<Jwt> {
        let mut parts = token.trim().split('.');
        let (header, claims, signature) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() {
            return None;
        }
        let header_json: Value = serde_json::from_slice(&b64url_decode(header)?).ok()?;
        let claims_json: Value = serde_json::from_slice(&b64url_decode(claims)?).ok()?;
        if !header_json.is_object() || !claims_json.is_object() {
            return None;
        }
        Some(Jwt {
            header: header_json,
            claims: claims_json,
            signing_input: format!("{header}.{claims}"),
            signature: b64url_decode(signature)?,
        })
    }

    /// A string claim.
    pub(crate) fn claim(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    /// A numeric date claim (`exp`, `nbf`).
    pub(crate) fn time(&self, name: &str) -> Option<u64> {
        self.claims.get(name).and_then(Value::as_u64)
    }

    /// The `aud` claim, a string or an array of strings.
    pub(crate) fn audiences(&self) -> Vec<&str> {
        match self.claims.get("aud") {
            Some(Value::String(a)) => vec![a.as_str()],
            Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        }
    }
}

/// Encodes header and claims and appends `signature` (already raw bytes).
pub(crate) fn encode(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64url_encode(header.to_string().as_bytes()),
        b64url_encode(claims.to_string().as_bytes()),
        b64url_encode(signature)
    )
}

/// base64url without padding (RFC 7515 §2).
pub(crate) fn b64url_encode(bytes: &[u8]) -> String {
    openssl::base64::encode_block(bytes)
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_")
}

/// Decodes base64url, padded or not; standard base64 is accepted too (azure_identity writes
/// the `x5t` header in the standard alphabet).
pub(crate) fn b64url_decode(text: &str) -> Option<Vec<u8>> {
    let mut standard: String = text
        .trim()
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    if standard
        .chars()
        .any(|c| !(c.is_ascii_alphanumeric() || c == '+' || c == '/'))
    {
        return None;
    }
    while !standard.len().is_multiple_of(4) {
        standard.push('=');
    }
    openssl::base64::decode_block(&standard).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let token = encode(
            &json!({"alg": "none"}),
            &json!({"aud": ["a", "b"], "exp": 5}),
            b"\xff\xfe",
        );
        let jwt = Jwt::decode(&token).expect("decodes");
        assert_eq!(jwt.audiences(), ["a", "b"]);
        assert_eq!(jwt.time("exp"), Some(5));
        assert_eq!(jwt.signature, b"\xff\xfe");
        assert!(token.starts_with(&jwt.signing_input));
        assert!(!token.contains('=') && !token.contains('+') && !token.contains('/'));
        assert!(Jwt::decode("eyJ.x.y").is_none());
        assert!(Jwt::decode("a.b").is_none());
        assert!(Jwt::decode(&format!("{token}.x")).is_none());
        assert_eq!(b64url_decode("+/8="), b64url_decode("-_8"));
    }
}
