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
    /// How the body is damaged on the wire, if it is (chaos faults). Boxed: rarely anything
    /// but `Intact`, and replies travel by value.
    pub(crate) wire: Box<Wire>,
    /// The client a sign-in endpoint issued a token (or an assertion) to, for the request
    /// log; never sent.
    pub(crate) client: Option<String>,
    /// The body already serialised, when building it as a `Value` first would copy too much
    /// (a Resource Graph page borrows its rows from the tables); `body` is then null.
    pub(crate) encoded: Option<Vec<u8>>,
}

/// How a reply travels: intact, replaced by other bytes, cut, or not at all.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) enum Wire {
    #[default]
    Intact,
    /// These bytes instead of the JSON body (a complete HTTP message).
    Bytes(Vec<u8>),
    /// `Content-Length` of the whole body, but the connection closes after half of it.
    CutMidBody,
    /// The connection closes before any byte of the response.
    Drop,
}

/// Marks a response whose connection the server must close instead of answering.
#[derive(Clone, Copy, Debug)]
pub(crate) struct DropConnection;

impl Reply {
    pub(crate) fn ok(body: Value) -> Reply {
        Reply {
            status: StatusCode::OK,
            body: Box::new(body),
            headers: Vec::new(),
            wire: Box::default(),
            client: None,
            encoded: None,
        }
    }

    /// An ARM error envelope.
    pub(crate) fn arm(status: StatusCode, code: &str, message: impl Into<String>) -> Reply {
        Reply {
            status,
            body: Box::new(json!({"error": {"code": code, "message": message.into()}})),
            headers: Vec::new(),
            wire: Box::default(),
            client: None,
            encoded: None,
        }
    }

    /// A 200 whose JSON body is already serialised.
    pub(crate) fn ok_encoded(json: Vec<u8>) -> Reply {
        Reply {
            encoded: Some(json),
            ..Reply::ok(Value::Null)
        }
    }

    /// The body as it goes on the wire (before any damage).
    pub(crate) fn json_bytes(&self) -> Vec<u8> {
        match &self.encoded {
            Some(json) => json.clone(),
            None => serde_json::to_vec(&self.body).unwrap_or_default(),
        }
    }

    /// The body as a value, whichever way it is held (for tests).
    #[cfg(test)]
    pub(crate) fn value(&self) -> Value {
        match &self.encoded {
            Some(json) => serde_json::from_slice(json).unwrap_or(Value::Null),
            None => (*self.body).clone(),
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
            wire: Box::default(),
            encoded: None,
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
            wire: Box::default(),
            encoded: None,
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
    pub(crate) fn with_wire(mut self, wire: Wire) -> Reply {
        self.wire = Box::new(wire);
        self
    }

    pub(crate) fn into_response(self) -> Response {
        let json = match self.encoded {
            Some(json) => json,
            None => serde_json::to_vec(&self.body).unwrap_or_default(),
        };
        let body = match *self.wire {
            Wire::Intact => Body::from(json),
            Wire::Bytes(bytes) => Body::from(bytes),
            Wire::CutMidBody => {
                // Half the body, a pause so that the headers and that half leave the server,
                // then an error: hyper closes the connection with the body incomplete.
                let half = json[..json.len() / 2].to_vec();
                let chunks = futures_util::stream::unfold(0u8, move |step| {
                    let half = half.clone();
                    async move {
                        match step {
                            0 => Some((Ok(half), 1)),
                            1 => {
                                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                                Some((
                                    Err(std::io::Error::new(
                                        std::io::ErrorKind::ConnectionReset,
                                        "connection dropped mid-body (injected fault)",
                                    )),
                                    2,
                                ))
                            }
                            _ => None,
                        }
                    }
                });
                let mut response = Response::new(Body::from_stream(chunks));
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from(json.len()));
                *response.status_mut() = self.status;
                return response;
            }
            Wire::Drop => {
                let mut response = Response::new(Body::empty());
                response.extensions_mut().insert(DropConnection);
                return response;
            }
        };
        let mut response = Response::new(body);
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
