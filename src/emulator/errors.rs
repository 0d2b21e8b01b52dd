//! Descope-shaped errors of the emulator, and the extractors that turn bad requests into them.
//!
//! Every non-2xx answer is `{"errorCode", "errorDescription", "errorMessage"}` with a non-empty
//! `errorCode` (the Go SDK turns an empty code into "invalid server response"), so axum's plain-text
//! rejections must never reach a client: bodies and queries go through [`Body`] and [`Params`].
//! Codes `E011001`–`E011004` and `E130429` are Descope's own (`docs/descope-api.md` §2); the others
//! are the emulator's choice, documented on each constant. This module never touches the store.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use serde_json::json;

/// Malformed JSON, or a body that is not a JSON object (Descope: bad request).
const BAD_REQUEST: &str = "E011001";
/// A required field is missing or empty (Descope: missing arguments).
const MISSING_ARGUMENTS: &str = "E011002";
/// Unknown field or wrong JSON type (Descope: validation failure).
const VALIDATION: &str = "E011003";
/// A field names something that does not exist or has a bad value (Descope: invalid arguments).
pub(crate) const INVALID_ARGUMENTS: &str = "E011004";
/// Missing or wrong `Authorization` (emulator's code; HTTP 401).
pub(crate) const UNAUTHORIZED: &str = "E011401";
/// The object to load, update or delete does not exist (emulator's code; HTTP 404).
pub(crate) const NOT_FOUND: &str = "E011404";
/// No such route (emulator's code; HTTP 404).
pub(crate) const UNKNOWN_ROUTE: &str = "E011400";
/// The route exists with another method (emulator's code; HTTP 405).
pub(crate) const METHOD_NOT_ALLOWED: &str = "E011405";
/// The id or name is taken (emulator's code; HTTP 409).
pub(crate) const CONFLICT: &str = "E011409";
/// An injected fault (emulator's code; HTTP 503, retried by the SDKs).
const FAULT: &str = "E011503";
/// An injected lost reply: the change was made, the answer says it failed (emulator's code; HTTP
/// 502, as a gateway that lost the upstream reply).
const LOST_REPLY: &str = "E011502";
/// Descope's rate-limit code (HTTP 429 with `Retry-After`).
const RATE_LIMITED: &str = "E130429";
/// The data file could not be written (emulator's code; HTTP 500).
const INTERNAL: &str = "E011500";

/// An error answer in Descope's shape.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EmuError {
    pub(crate) status: StatusCode,
    pub(crate) code: &'static str,
    pub(crate) description: String,
    pub(crate) message: String,
    /// Seconds, for 429.
    pub(crate) retry_after: Option<u64>,
}

impl EmuError {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        description: impl Into<String>,
    ) -> Self {
        let description = description.into();
        EmuError {
            status,
            code,
            message: description.clone(),
            description,
            retry_after: None,
        }
    }

    pub(crate) fn bad_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, BAD_REQUEST, description)
    }

    pub(crate) fn missing(field: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            MISSING_ARGUMENTS,
            format!("missing argument `{field}`"),
        )
    }

    pub(crate) fn validation(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, VALIDATION, description)
    }

    pub(crate) fn invalid(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, INVALID_ARGUMENTS, description)
    }

    pub(crate) fn not_found(description: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, NOT_FOUND, description)
    }

    pub(crate) fn conflict(description: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, CONFLICT, description)
    }

    pub(crate) fn unauthorized(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, UNAUTHORIZED, description)
    }

    pub(crate) fn internal(description: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, INTERNAL, description)
    }

    pub(crate) fn fault() -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            FAULT,
            "injected fault: service unavailable",
        )
    }

    /// The answer to a mutation that was carried out but whose reply is "lost".
    pub(crate) fn lost_reply() -> Self {
        Self::new(
            StatusCode::BAD_GATEWAY,
            LOST_REPLY,
            "injected fault: bad gateway (the change was made, its reply was lost)",
        )
    }

    /// Exactly the body of `docs/descope-api.md` §2.
    pub(crate) fn rate_limited(retry_after: u64) -> Self {
        EmuError {
            status: StatusCode::TOO_MANY_REQUESTS,
            code: RATE_LIMITED,
            description: "https://docs.descope.com/rate-limit".to_owned(),
            message: "API rate limit exceeded.".to_owned(),
            retry_after: Some(retry_after),
        }
    }
}

impl IntoResponse for EmuError {
    fn into_response(self) -> Response {
        let body = json!({
            "errorCode": self.code,
            "errorDescription": self.description,
            "errorMessage": self.message,
        });
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response
    }
}

/// What every handler returns: a JSON body (at least `{}`) or a Descope error.
pub(crate) type Reply = Result<Json<serde_json::Value>, EmuError>;

/// A JSON request body parsed strictly into `T`. An empty body reads as `{}` (the Python SDK posts
/// `flow/list` with no body).
pub(crate) struct Body<T>(pub(crate) T);

impl<T, S> FromRequest<S> for Body<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = EmuError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|e| EmuError::bad_request(format!("cannot read the request body: {e}")))?;
        parse_body(&bytes).map(Body)
    }
}

/// Parses a body: malformed JSON or a non-object is `E011001`, an unknown field or a wrong type is
/// `E011003`.
fn parse_body<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, EmuError> {
    let value: serde_json::Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        serde_json::Value::Object(serde_json::Map::new())
    } else {
        serde_json::from_slice(bytes)
            .map_err(|e| EmuError::bad_request(format!("malformed JSON body: {e}")))?
    };
    if !value.is_object() {
        return Err(EmuError::bad_request(
            "the request body must be a JSON object",
        ));
    }
    serde_json::from_value(value)
        .map_err(|e| EmuError::validation(format!("invalid request body: {e}")))
}

/// Query parameters parsed strictly into `T`.
pub(crate) struct Params<T>(pub(crate) T);

impl<T, S> FromRequestParts<S> for Params<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = EmuError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state)
            .await
            .map(|Query(q)| Params(q))
            .map_err(|e| EmuError::validation(format!("invalid query: {}", e.body_text())))
    }
}

/// `Some(s)` when `value` is present and not empty.
pub(crate) fn given(value: &Option<String>) -> Option<&str> {
    value.as_deref().filter(|s| !s.is_empty())
}

/// The value of a required string field, or `E011002`.
pub(crate) fn required<'a>(value: &'a Option<String>, field: &str) -> Result<&'a str, EmuError> {
    given(value).ok_or_else(|| EmuError::missing(field))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::wire::RoleCreate;

    #[test]
    fn empty_body_reads_as_empty_object() {
        let r: RoleCreate = parse_body(b"").unwrap();
        assert_eq!(r, RoleCreate::default());
    }

    #[test]
    fn bad_bodies_map_to_descope_codes() {
        assert_eq!(
            parse_body::<RoleCreate>(b"{").unwrap_err().code,
            BAD_REQUEST
        );
        assert_eq!(
            parse_body::<RoleCreate>(b"[]").unwrap_err().code,
            BAD_REQUEST
        );
        assert_eq!(
            parse_body::<RoleCreate>(br#"{"x":1}"#).unwrap_err().code,
            VALIDATION
        );
        assert_eq!(
            parse_body::<RoleCreate>(br#"{"name":1}"#).unwrap_err().code,
            VALIDATION
        );
    }
}
