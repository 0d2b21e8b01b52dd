//! Errors of the Descope client: a Descope error answer, an unreachable server, an endless rate
//! limit, an unreadable answer, or a request the client refuses to send.
//!
//! Every variant names the endpoint (method and path). None ever holds the management key: the key
//! lives only in the `Authorization` header, and URLs and bodies never carry it.

use super::endpoint::Endpoint;
use crate::{Error, ErrorKind};

/// Descope's error answer: `{"errorCode", "errorDescription", "errorMessage"}` and its status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescopeError {
    pub(crate) endpoint: Endpoint,
    pub(crate) status: u16,
    /// Descope's code, e.g. `E011003`; empty if the body was not Descope's error JSON.
    pub(crate) error_code: String,
    pub(crate) error_description: String,
    pub(crate) error_message: String,
    /// The environment variable the key came from, for hints.
    pub(crate) key_env: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A non-2xx answer (after retries, for 5xx).
    #[error(
        "`{}` failed with HTTP {} `{}`: {}",
        .0.endpoint, .0.status, .0.error_code, .0.error_description
    )]
    Descope(Box<DescopeError>),
    /// Connection error or timeout on every attempt.
    #[error("cannot reach `{endpoint}` (tried {attempts} times)")]
    Transport {
        endpoint: Endpoint,
        attempts: u32,
        #[source]
        source: reqwest::Error,
    },
    /// Still HTTP 429 after the configured number of waits.
    #[error("`{endpoint}` is still rate limited after {retries} waits")]
    RateLimited { endpoint: Endpoint, retries: u32 },
    /// A 2xx answer whose body is not what the endpoint returns.
    #[error("`{endpoint}` answered HTTP {status} with an unexpected body: {detail}")]
    Decode {
        endpoint: Endpoint,
        status: u16,
        detail: String,
    },
    /// A request the client will not send (e.g. a batch delete with an empty filter).
    #[error("refusing to call `{endpoint}`: {reason}")]
    Refused { endpoint: Endpoint, reason: String },
    /// The client could not be built.
    #[error("invalid Descope client settings: {reason}")]
    Config { reason: String },
}

impl ApiError {
    /// The HTTP status of a Descope error answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Descope(e) => Some(e.status),
            ApiError::Decode { status, .. } => Some(*status),
            ApiError::RateLimited { .. } => Some(429),
            _ => None,
        }
    }

    /// Descope's `errorCode`.
    pub fn error_code(&self) -> Option<&str> {
        match self {
            ApiError::Descope(e) => Some(&e.error_code),
            _ => None,
        }
    }

    /// The object does not exist (HTTP 404).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ApiError::Descope(e) if e.status == 404)
    }

    /// The id or name is taken (HTTP 409) — after a timed-out create, read the object back.
    pub fn is_conflict(&self) -> bool {
        matches!(self, ApiError::Descope(e) if e.status == 409)
    }

    /// The request may have reached Descope and been applied with only its reply lost: a 5xx, a
    /// transport error after connecting, or a 2xx whose body could not be read. A mutation that
    /// failed so must be read back before it is resent.
    pub fn may_have_been_applied(&self) -> bool {
        match self {
            ApiError::Descope(e) => e.status >= 500,
            ApiError::Transport { .. } | ApiError::Decode { .. } => true,
            ApiError::RateLimited { .. } | ApiError::Refused { .. } | ApiError::Config { .. } => {
                false
            }
        }
    }

    /// Whether the request left the client at all (a refused or unbuildable one did not).
    pub(crate) fn was_sent(&self) -> bool {
        !matches!(self, ApiError::Refused { .. } | ApiError::Config { .. })
    }
}

impl From<ApiError> for Error {
    fn from(e: ApiError) -> Self {
        let hint: Option<String> = match &e {
            ApiError::Descope(d) if matches!(d.status, 401 | 403) => Some(match &d.key_env {
                // Descope answers a wrong project id exactly as it answers a wrong key.
                Some(var) => format!(
                    "check the management key in env var `{var}` and the environment's `project_id`: the key must belong to that project"
                ),
                None => "check the management key of this environment and its `project_id`: the key must belong to that project"
                    .to_owned(),
            }),
            ApiError::Transport { .. } => {
                Some("check the environment's `base_url` and the network".to_owned())
            }
            ApiError::RateLimited { .. } => {
                Some("lower the environment's `rate_limit` or `parallelism` and retry".to_owned())
            }
            _ => None,
        };
        let mut err = Error::new(ErrorKind::Api, e.to_string());
        if let Some(source) = std::error::Error::source(&e) {
            err = err.caused_by(source);
        }
        match hint {
            Some(h) => err.hint(h),
            None => err,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descope(status: u16) -> ApiError {
        ApiError::Descope(Box::new(DescopeError {
            endpoint: Endpoint::post("/v1/mgmt/tenant/create"),
            status,
            error_code: "E011401".into(),
            error_description: "bad key".into(),
            error_message: "bad key".into(),
            key_env: Some("DESCOPE_MANAGEMENT_KEY_DEV".into()),
        }))
    }

    #[test]
    fn unauthorized_converts_with_endpoint_code_and_key_hint() {
        let err = Error::from(descope(401));
        assert_eq!(err.kind(), ErrorKind::Api);
        assert_eq!(
            err.message(),
            "`POST /v1/mgmt/tenant/create` failed with HTTP 401 `E011401`: bad key"
        );
        assert!(err.hints()[0].contains("`DESCOPE_MANAGEMENT_KEY_DEV`"));
        assert!(err.hints()[0].contains("`project_id`"), "{:?}", err.hints());
    }

    #[test]
    fn classifies_not_found_and_conflict() {
        assert!(descope(404).is_not_found());
        assert!(descope(409).is_conflict());
        assert_eq!(descope(404).error_code(), Some("E011401"));
    }
}
