//! The response value every route builds before it becomes HTTP, and the two error body
//! shapes clients parse: ARM's `{"error":{"code","message"}}` envelope and Entra's OAuth
//! error (`error`, `error_description` with its AADSTS code, `error_codes`, ids). Building a
//! plain value first lets the server add the common headers, count and log in one place,
//! and lets route logic be tested without HTTP.

use axum::body::Body;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde_json::{Value, json};

use crate::{clock, random};

#[derive(Clone, Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    /// Boxed, to keep `Result<_, Reply>` small.
    pub(crate) body: Box<Value>,
    pub(crate) headers: Vec<(HeaderName, String)>,
    /// The client a sign-in endpoint issued a token (or an assertion) to, for the request
    /// log; never sent.
    pub(crate) client: Option<String>,
}

impl Reply {
    pub(crate) fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Box::new(body),
            headers: Vec::new(),
            client: None,
        }
    }

    /// An ARM error envelope.
    pub(crate) fn arm(status: StatusCode, code: &str, message: impl Into<String>) -> Reply {
        Reply {
            status,
            body: Box::new(json!({"error": {"code": code, "message": message.into()}})),
            headers: Vec::new(),
            client: None,
        }
    }

    pub(crate) fn not_found(code: &str, message: impl Into<String>) -> Reply {
        Reply::arm(StatusCode::NOT_FOUND, code, message)
    }

    pub(crate) fn bad_request(code: &str, message: impl Into<String>) -> Reply {
        Reply::arm(StatusCode::BAD_REQUEST, code, message)
    }

    /// An Entra token-endpoint error; `aadsts` is the numeric code that also prefixes the
    /// description, as the real service does.
    pub(crate) fn entra(status: StatusCode, error: &str, aadsts: u32, description: &str) -> Reply {
        let trace = random::guid();
        let correlation = random::guid();
        let now = clock::entra(clock::unix_now());
        let description = format!(
            "AADSTS{aadsts}: {description} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {now}"
        );
        Reply {
            status,
            body: Box::new(json!({
                "error": error,
                "error_description": description,
                "error_codes": [aadsts],
                "timestamp": now,
                "trace_id": trace,
                "correlation_id": correlation,
                "error_uri": format!("https://login.microsoftonline.com/error?code={aadsts}"),
            })),
            headers: Vec::new(),
            client: None,
        }
    }

    /// Records who was issued a token by this reply (see `client`).
    pub(crate) fn issued_to(mut self, client: impl Into<String>) -> Reply {
        self.client = Some(client.into());
        self
    }

    /// A 200 or error with a body of any shape (Azure DevOps, managed-identity endpoints).
    pub(crate) fn json(status: StatusCode, body: Value) -> Reply {
        Reply {
            status,
            body: Box::new(body),
            headers: Vec::new(),
            client: None,
        }
    }

    pub(crate) fn with_header(mut self, name: HeaderName, value: impl Into<String>) -> Reply {
        self.headers.push((name, value.into()));
        self
    }

    /// The ARM error code, for tests and logs.
    #[cfg(test)]
    pub(crate) fn code(&self) -> Option<&str> {
        self.body
            .get("error")
            .and_then(|e| e.get("code"))
            .and_then(Value::as_str)
    }

    /// Converts to HTTP. Header values that are not valid HTTP (impossible for the values
    /// built here) are dropped rather than allowed to panic.
    pub(crate) fn into_response(self) -> Response {
        let bytes = serde_json::to_vec(&self.body).unwrap_or_default();
        let mut response = Response::new(Body::from(bytes));
        *response.status_mut() = self.status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=utf-8"),
        );
        for (name, value) in self.headers {
            if let Ok(value) = HeaderValue::from_str(&value) {
                headers.append(name, value);
            }
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arm_envelope_and_entra_body() {
        let r = Reply::not_found("ResourceNotFound", "gone");
        assert_eq!(r.code(), Some("ResourceNotFound"));
        assert_eq!(r.body["error"]["message"], "gone");
        let e = Reply::entra(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7_000_215,
            "Invalid client secret provided.",
        );
        assert_eq!(e.body["error_codes"][0], 7_000_215);
        let description = e.body["error_description"].as_str().unwrap_or("");
        assert!(description.starts_with("AADSTS7000215: Invalid client secret provided."));
        let response = e
            .with_header(header::WWW_AUTHENTICATE, "Bearer")
            .into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(response.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
