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

/// Longest error text kept from an answer that is not Descope's error JSON.
const MAX_TEXT: usize = 200;

impl DescopeError {
    /// The error an answer with `status` and `body` stands for. Descope's JSON gives the code and
    /// the texts; anything else — a proxy's HTML page, plain text, JSON of another shape, nothing
    /// — gives no code and a short readable text (an HTML page's title, whitespace folded).
    pub(crate) fn from_answer(
        endpoint: Endpoint,
        status: u16,
        body: &[u8],
        key_env: Option<String>,
    ) -> DescopeError {
        let text_of = |v: Option<&serde_json::Value>| match v {
            Some(serde_json::Value::String(s)) => s.trim().to_owned(),
            Some(serde_json::Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let (error_code, mut error_description, error_message) =
            match serde_json::from_slice::<serde_json::Value>(body) {
                Ok(serde_json::Value::Object(o)) => (
                    text_of(o.get("errorCode")),
                    text_of(o.get("errorDescription")),
                    text_of(o.get("errorMessage")),
                ),
                _ => (String::new(), readable(body), String::new()),
            };
        if error_description.is_empty() {
            error_description = if !error_message.is_empty() {
                error_message.clone()
            } else if body.iter().all(u8::is_ascii_whitespace) {
                "no details (the answer was empty)".to_owned()
            } else if !error_code.is_empty() {
                "server error".to_owned()
            } else {
                readable(body)
            };
        }
        DescopeError {
            endpoint,
            status,
            error_code,
            error_description,
            error_message,
            key_env,
        }
    }
}

/// An answer's text for a message: an HTML page's `<title>` (else its text without tags),
/// whitespace folded, at most [`MAX_TEXT`] characters.
fn readable(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let lower = text.to_ascii_lowercase();
    let html = lower.contains("<html") || lower.trim_start().starts_with("<!doctype");
    let title = || {
        let start = lower.find("<title>")? + "<title>".len();
        let end = start + lower[start..].find("</title>")?;
        Some(text.get(start..end)?.to_owned())
    };
    let picked = match html {
        true => title().unwrap_or_else(|| without_tags(&text)),
        false => text.into_owned(),
    };
    let folded = picked.split_whitespace().collect::<Vec<_>>().join(" ");
    match folded.char_indices().nth(MAX_TEXT) {
        Some((cut, _)) => format!("{}…", &folded[..cut]),
        None => folded,
    }
}

fn without_tags(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                out.push(' ');
            }
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out
}

/// A wait as people say it: `45s`, `12m 30s`, `2h`.
fn wait_text(d: std::time::Duration) -> String {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let parts = [(h, "h"), (m, "m"), (s, "s")]
        .into_iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, unit)| format!("{n}{unit}"))
        .collect::<Vec<_>>();
    match parts.is_empty() {
        true => "0s".to_owned(),
        false => parts.join(" "),
    }
}

/// `GET /path` failed with HTTP 404 `E011404`: what Descope said (no code when there is none).
fn failed(e: &DescopeError) -> String {
    let code = match e.error_code.is_empty() {
        true => String::new(),
        false => format!(" `{}`", e.error_code),
    };
    format!(
        "`{}` failed with HTTP {}{code}: {}{}",
        e.endpoint,
        e.status,
        e.error_description,
        reason(e)
    )
}

/// `: <errorMessage>` when Descope's message says more than its description: the description is
/// often only a category ("Invalid arguments") and the message the actual reason.
fn reason(e: &DescopeError) -> String {
    let plain = |s: &str| s.trim().trim_end_matches('.').to_lowercase();
    match e.error_message.is_empty() || plain(&e.error_message) == plain(&e.error_description) {
        true => String::new(),
        false => format!(": {}", e.error_message),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A non-2xx answer (after retries, for 5xx).
    #[error("{}", failed(.0))]
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
    /// HTTP 429 whose `Retry-After` asks for a longer wait than the client makes: failed at once
    /// rather than resent before the server's time.
    #[error(
        "`{endpoint}` is rate limited and asks to wait {} (`Retry-After`), more than the {} dmgmt waits",
        wait_text(*.asked),
        wait_text(*.limit)
    )]
    RetryAfterTooLong {
        endpoint: Endpoint,
        asked: std::time::Duration,
        limit: std::time::Duration,
    },
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
            ApiError::RateLimited { .. } | ApiError::RetryAfterTooLong { .. } => Some(429),
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
            ApiError::RateLimited { .. }
            | ApiError::RetryAfterTooLong { .. }
            | ApiError::Refused { .. }
            | ApiError::Config { .. } => false,
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
            ApiError::RetryAfterTooLong { asked, .. } => Some(format!(
                "run the command again in {}; the request was not resent",
                wait_text(*asked)
            )),
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
    fn a_forbidden_key_gets_the_same_hint_as_an_unauthorized_one() {
        // Descope's status for a wrong key is undocumented: 401 and 403 are both plausible.
        let err = Error::from(descope(403));
        assert!(err.hints()[0].contains("`DESCOPE_MANAGEMENT_KEY_DEV`"));
    }

    #[test]
    fn answers_that_are_not_descopes_json_read_as_short_text() {
        let from = |body: &str| {
            DescopeError::from_answer(
                Endpoint::get("/v1/mgmt/role/all"),
                502,
                body.as_bytes(),
                None,
            )
        };
        let page =
            from("<!DOCTYPE html><html><body><h1>Bad\n gateway</h1><p>try later</p></body></html>");
        assert_eq!(page.error_description, "Bad gateway try later");
        assert_eq!(page.error_code, "");
        let numbered = from(r#"{"errorCode": 11, "errorMessage": " busy "}"#);
        assert_eq!(
            (
                numbered.error_code.as_str(),
                numbered.error_description.as_str()
            ),
            ("11", "busy")
        );
        let coded = from(r#"{"errorCode": "E1"}"#);
        assert_eq!(coded.error_description, "server error");
        let other = from(r#"{"message": "upstream timeout"}"#);
        assert_eq!(
            other.error_description,
            r#"{"message": "upstream timeout"}"#
        );
        let list = from("[1, 2]");
        assert_eq!(list.error_description, "[1, 2]");
        let unicode = from(&"é".repeat(300));
        assert_eq!(unicode.error_description.chars().count(), MAX_TEXT + 1);
    }

    #[test]
    fn descopes_error_message_is_shown_beside_its_description() {
        let from = |body: &str| {
            let e = DescopeError::from_answer(
                Endpoint::post("/v1/mgmt/tenant/delete"),
                400,
                body.as_bytes(),
                None,
            );
            ApiError::Descope(Box::new(e)).to_string()
        };
        assert_eq!(
            from(
                r#"{"errorCode":"E011004","errorDescription":"Already exists","errorMessage":"tenant has sub-tenants"}"#
            ),
            "`POST /v1/mgmt/tenant/delete` failed with HTTP 400 `E011004`: Already exists: tenant has sub-tenants"
        );
        // The same text twice (whatever its case or final period) is shown once.
        assert_eq!(
            from(
                r#"{"errorCode":"E011004","errorDescription":"Invalid arguments","errorMessage":"invalid arguments."}"#
            ),
            "`POST /v1/mgmt/tenant/delete` failed with HTTP 400 `E011004`: Invalid arguments"
        );
        assert_eq!(
            from(r#"{"errorCode":"E1","errorMessage":"only a message"}"#),
            "`POST /v1/mgmt/tenant/delete` failed with HTTP 400 `E1`: only a message"
        );
    }

    #[test]
    fn classifies_not_found_and_conflict() {
        assert!(descope(404).is_not_found());
        assert!(descope(409).is_conflict());
        assert_eq!(descope(404).error_code(), Some("E011401"));
    }
}
