//! Descopes that answer the other plausible way: where `docs/descope-api.md` marks a fact UNSURE,
//! or where Descope may shape an answer differently from the SDKs' examples, the emulator can play
//! either side, so tests show that dmgmt works whichever way the real Descope answers.
//!
//! Every option's default is the emulator's normal behaviour — what `docs/descope-api.md` assumes
//! and what the official SDKs are tested against; `dmgmt emulator` always runs with the defaults.
//! Rules about objects (what a delete or a rename does to other objects, what an update keeps) are
//! read by the area modules; the shape of answers (statuses, error bodies, `Retry-After`, empty or
//! sparse bodies) is rewritten here by [`reshape`], after the handler ran, so that the area modules
//! stay about Descope's rules and know nothing of these variants.

use axum::body::Body;
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::errors::{CONFLICT, INVALID_ARGUMENTS, NOT_FOUND, UNAUTHORIZED};

/// How this emulator answers where Descope's behaviour is undocumented. `Default` is the
/// emulator's normal behaviour.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DescopeVariant {
    /// `role/all` lists project roles only (`docs/descope-api.md` §4: UNSURE); `role/search` still
    /// finds tenant-scoped ones.
    pub role_all_project_only: bool,
    /// A permission's rename removes it from the roles that grant it instead of renaming it there
    /// (§4: UNSURE).
    pub permission_rename_drops_from_roles: bool,
    /// A permission's delete leaves its name in the roles that grant it (§4: UNSURE).
    pub permission_delete_keeps_in_roles: bool,
    /// A tenant's delete leaves its tenant-scoped roles behind (§4: UNSURE).
    pub tenant_delete_keeps_roles: bool,
    /// A tenant update keeps the fields its body leaves out, as a patch does, instead of emptying
    /// them (§3: UNSURE).
    pub tenant_update_keeps_absent: bool,
    /// `GET /v1/mgmt/tenant?id=` answers `{"tenant": {...}}`, as Descope's docs show, instead of
    /// the flat object the SDKs read (§3: conflict).
    pub tenant_load_wrapped: bool,
    /// "Not found" (a load, update or delete of a missing object) is HTTP 400 `E011004` instead
    /// of 404 `E011404` (§2: UNSURE).
    pub missing_is_bad_request: bool,
    /// "Already exists" is HTTP 400 `E011004` instead of 409 `E011409` (§4: UNSURE).
    pub exists_is_bad_request: bool,
    /// A wrong key is HTTP 403 instead of 401 (§9: UNSURE).
    pub unauthorized_is_forbidden: bool,
    /// What error answers carry.
    pub error_bodies: ErrorBodies,
    /// What a 429 says in `Retry-After`.
    pub retry_after: RetryAfter,
    /// 2xx answers of calls that change something have an empty body (`{"id"}` of a tenant
    /// create and the document of a v1 flow or theme import included).
    pub empty_replies: bool,
    /// Answers that list objects (load all, search, tenant load, flow list) leave out or `null`
    /// what is empty (`"customAttributes": null`, no `description`, no `total`...) and carry
    /// fields dmgmt does not know.
    pub sparse_replies: bool,
    /// What the theme export of a new project (no theme imported yet) answers.
    pub new_theme: NewTheme,
    /// What `GET /v1/mgmt/tenant/settings` answers for a tenant whose settings were never set
    /// (undocumented).
    pub unset_settings: UnsetSettings,
}

/// The settings answer for a tenant whose settings were never set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum UnsetSettings {
    /// The whole settings object with every value at its default.
    #[default]
    Defaults,
    /// 404, as for a missing object.
    NotFound,
    /// `{}`.
    Empty,
}

/// The body of an error answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ErrorBodies {
    /// Descope's JSON: `{"errorCode", "errorDescription", "errorMessage"}`.
    #[default]
    Descope,
    /// Not JSON, as a proxy in front of Descope answers: an HTML page for a 5xx, plain text for
    /// the rest (a 429's is Cloudflare's `error code: 1015`).
    Text,
    /// Descope's JSON with an empty `errorCode`.
    EmptyCode,
}

/// The `Retry-After` header of a 429.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum RetryAfter {
    /// Whole seconds (Descope's documented form).
    #[default]
    Seconds,
    /// No header.
    Absent,
    /// `0`, whatever the wait.
    Zero,
    /// An HTTP date (RFC 9110's other form) that many seconds ahead.
    HttpDate,
}

/// The theme export of a new project.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum NewTheme {
    /// The default theme, wrapped: `{"theme": {id, version, cssTemplate, ...}}`.
    #[default]
    Default,
    /// `{}`: no theme at all.
    Absent,
    /// `{"theme": {}}`.
    Empty,
}

/// Whether `method path` reads (a GET, a list, an export, a search) rather than changes anything.
fn is_read(method: &Method, path: &str) -> bool {
    *method == Method::GET
        || ["/list", "/export", "/search"]
            .iter()
            .any(|s| path.ends_with(s))
}

/// The answer `response` to `method path`, reshaped as `variant` says.
pub(crate) async fn reshape(
    variant: &DescopeVariant,
    method: &Method,
    path: &str,
    response: Response,
) -> Response {
    if *variant == DescopeVariant::default() {
        return response;
    }
    let status = response.status();
    if status.is_success() {
        let reshape_read = is_read(method, path)
            && ((variant.sparse_replies && LISTINGS.contains(&path))
                || (variant.tenant_load_wrapped && path == TENANT_LOAD));
        let empty = variant.empty_replies && !is_read(method, path);
        if !reshape_read && !empty {
            return response;
        }
        let (mut parts, body) = response.into_parts();
        parts.headers.remove(header::CONTENT_LENGTH);
        if empty {
            parts.headers.remove(header::CONTENT_TYPE);
            return Response::from_parts(parts, Body::empty());
        }
        let Some(mut value) = read_json(body).await else {
            return Response::from_parts(parts, Body::empty());
        };
        if variant.sparse_replies && LISTINGS.contains(&path) {
            sparse_answer(path, &mut value);
        }
        if variant.tenant_load_wrapped && path == TENANT_LOAD {
            value = json!({ "tenant": value });
        }
        return Response::from_parts(parts, Body::from(value.to_string()));
    }
    let retry_after = response
        .headers()
        .get(header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    // Every error the emulator makes is Descope's JSON (see `errors`).
    let error = read_json(response.into_body()).await.unwrap_or(Value::Null);
    let code = error["errorCode"].as_str().unwrap_or_default().to_owned();
    let (status, code) = match code.as_str() {
        NOT_FOUND if variant.missing_is_bad_request => (StatusCode::BAD_REQUEST, INVALID_ARGUMENTS),
        CONFLICT if variant.exists_is_bad_request => (StatusCode::BAD_REQUEST, INVALID_ARGUMENTS),
        UNAUTHORIZED if variant.unauthorized_is_forbidden => (StatusCode::FORBIDDEN, "E011403"),
        _ => (status, code.as_str()),
    };
    let description = error["errorDescription"].as_str().unwrap_or_default();
    let mut out = match variant.error_bodies {
        ErrorBodies::Descope | ErrorBodies::EmptyCode => {
            let code = match variant.error_bodies {
                ErrorBodies::EmptyCode => "",
                _ => code,
            };
            let body = json!({
                "errorCode": code,
                "errorDescription": description,
                "errorMessage": error["errorMessage"],
            });
            (status, axum::Json(body)).into_response()
        }
        ErrorBodies::Text => text_error(status, description),
    };
    if let Some(seconds) = retry_after {
        let value = match variant.retry_after {
            RetryAfter::Seconds => Some(HeaderValue::from(seconds)),
            RetryAfter::Absent => None,
            RetryAfter::Zero => Some(HeaderValue::from(0)),
            RetryAfter::HttpDate => http_date(seconds),
        };
        if let Some(value) = value {
            out.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    out
}

const TENANT_LOAD: &str = "/v1/mgmt/tenant";

/// The answers that list objects, or hold one (tenant load): what `sparse_replies` thins out.
/// Flow and theme documents are never touched: Descope gives them back as they were written.
const LISTINGS: [&str; 7] = [
    TENANT_LOAD,
    "/v1/mgmt/tenant/all",
    "/v1/mgmt/tenant/search",
    "/v1/mgmt/role/all",
    "/v1/mgmt/role/search",
    "/v1/mgmt/permission/all",
    "/v1/mgmt/flow/list",
];

async fn read_json(body: Body) -> Option<Value> {
    let bytes = axum::body::to_bytes(body, usize::MAX).await.ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// An error answer that is not JSON: what a proxy or a load balancer in front of Descope sends.
fn text_error(status: StatusCode, description: &str) -> Response {
    let reason = status.canonical_reason().unwrap_or("Error");
    let (content_type, body) = if status == StatusCode::TOO_MANY_REQUESTS {
        ("text/plain; charset=UTF-8", "error code: 1015".to_owned())
    } else if status.is_server_error() {
        let code = status.as_u16();
        (
            "text/html",
            format!(
                "<html>\r\n<head><title>{code} {reason}</title></head>\r\n<body>\r\n<center><h1>{code} {reason}</h1></center>\r\n<hr><center>cloudflare</center>\r\n</body>\r\n</html>\r\n"
            ),
        )
    } else {
        (
            "text/plain; charset=UTF-8",
            format!("{reason}: {description}"),
        )
    };
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// `Retry-After` as an HTTP date `seconds` from now.
fn http_date(seconds: u64) -> Option<HeaderValue> {
    let seconds = i64::try_from(seconds).ok()?;
    let at = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_secs(seconds))
        .ok()?;
    let text = jiff::fmt::rfc2822::DateTimePrinter::new()
        .timestamp_to_rfc9110_string(&at)
        .ok()?;
    HeaderValue::from_str(&text).ok()
}

/// A read's answer with its empty values left out or `null`, and fields nobody asked for.
fn sparse_answer(path: &str, answer: &mut Value) {
    let Some(top) = answer.as_object_mut() else {
        return;
    };
    if path == "/v1/mgmt/flow/list" {
        top.remove("total");
    }
    if path == TENANT_LOAD {
        sparse_object(top);
        return;
    }
    for list in top.values_mut() {
        for item in list.as_array_mut().into_iter().flatten() {
            if let Some(object) = item.as_object_mut() {
                sparse_object(object);
            }
        }
    }
    top.insert("nextPageToken".to_owned(), Value::Null);
}

/// Empty strings, lists and maps of one object become `null` (an empty `description` goes),
/// `false` goes, and a field dmgmt does not know appears.
fn sparse_object(object: &mut Map<String, Value>) {
    object.retain(|key, value| match value {
        Value::Bool(false) => false,
        Value::String(s) if s.is_empty() => key != "description",
        _ => true,
    });
    for value in object.values_mut() {
        let empty = match value {
            Value::String(s) => s.is_empty(),
            Value::Array(a) => a.is_empty(),
            Value::Object(o) => o.is_empty(),
            _ => false,
        };
        if empty {
            *value = Value::Null;
        }
    }
    object.insert(
        "uiSettings".to_owned(),
        json!({"color": "#ffffff", "tags": ["new"]}),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparse_objects_drop_or_null_what_is_empty_and_gain_unknown_fields() {
        let mut answer = json!({"roles": [{"name": "A", "description": "", "permissionNames": [],
            "tenantId": "", "default": false, "createdTime": 5}], "total": 1});
        sparse_answer("/v1/mgmt/role/all", &mut answer);
        let role = &answer["roles"][0];
        assert_eq!(role.get("description"), None);
        assert_eq!(role.get("default"), None);
        assert_eq!(role["permissionNames"], Value::Null);
        assert_eq!(role["tenantId"], Value::Null);
        assert_eq!(role["createdTime"], 5);
        assert!(role["uiSettings"].is_object());
        let mut flows = json!({"flows": [{"id": "f", "description": ""}], "total": 1});
        sparse_answer("/v1/mgmt/flow/list", &mut flows);
        assert_eq!(flows.get("total"), None);
        assert_eq!(flows["flows"][0].get("description"), None);
    }

    #[test]
    fn an_http_date_reads_back_as_about_that_many_seconds_ahead() {
        let text = http_date(30).unwrap();
        let at = jiff::fmt::rfc2822::DateTimeParser::new()
            .parse_timestamp(text.to_str().unwrap())
            .unwrap();
        let ahead = at.duration_since(jiff::Timestamp::now()).as_secs();
        assert!((28..=30).contains(&ahead), "{text:?}: {ahead}");
        assert!(text.to_str().unwrap().ends_with(" GMT"), "{text:?}");
    }
}
