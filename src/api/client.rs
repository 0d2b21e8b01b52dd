//! The HTTP client of the Descope management API: base URL, identification headers, and the one
//! request loop every call goes through (pause gate, rate limiter, retries, error mapping).
//!
//! Knows transport and Descope's error shape; the individual calls are in `calls.rs`. The
//! management key goes into one sensitive header value and nowhere else: not into `Debug`, URLs,
//! errors or logs.

use std::fmt;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use reqwest::header::{self, HeaderMap, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::endpoint::Endpoint;
use super::error::{ApiError, DescopeError};
use super::limiter::WindowLimiter;
use super::retry::{PauseGate, RateLimit, RetryPolicy, Sleeper, TokioSleeper, jitter};
use super::secret::ManagementKey;

/// Descope's default API host.
const DEFAULT_BASE_URL: &str = "https://api.descope.com";

/// Per-request timeout, as the SDKs (60 s).
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// The base URL Descope's SDKs derive from a project id: ids of 32 characters or more carry their
/// region in characters 1..5 (`Peuc1…` -> `https://api.euc1.descope.com`).
fn base_url_for_project_id(project_id: &str) -> String {
    match project_id.get(1..5) {
        Some(region) if project_id.len() >= 32 => format!("https://api.{region}.descope.com"),
        _ => DEFAULT_BASE_URL.to_owned(),
    }
}

/// What the client did on the wire, for `-vv` and for the "pausing for a 429" line: method and
/// path only, never a header or a body, so nothing here can carry the management key.
#[derive(Debug, Clone, Copy)]
pub(crate) enum HttpEvent {
    /// One request and its answer (`status: None`: no answer, a transport error).
    Exchange {
        endpoint: Endpoint,
        status: Option<u16>,
        duration: Duration,
        /// 1 for the first attempt of this call.
        attempt: u32,
    },
    /// A 429: every caller pauses this long before the next request.
    RateLimited { endpoint: Endpoint, pause: Duration },
}

/// Receives every [`HttpEvent`] (the CLI prints them; the client never does).
#[derive(Clone)]
pub(crate) struct HttpLog(pub(crate) Arc<dyn Fn(&HttpEvent) + Send + Sync>);

impl fmt::Debug for HttpLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HttpLog")
    }
}

/// Everything needed to talk to one environment's project.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    pub(crate) project_id: String,
    pub management_key: ManagementKey,
    /// Overrides the regional rule (e.g. the emulator's `http://127.0.0.1:PORT`).
    pub base_url: Option<String>,
    pub(crate) timeout: Duration,
    pub rate_limit: RateLimit,
    pub retry: RetryPolicy,
    /// Name of the env var the key came from; only used in hints.
    pub key_env: Option<String>,
    /// Told about every request and every 429 pause.
    pub(crate) http_log: Option<HttpLog>,
}

impl ClientConfig {
    pub fn new(project_id: impl Into<String>, management_key: ManagementKey) -> Self {
        ClientConfig {
            project_id: project_id.into(),
            management_key,
            base_url: None,
            timeout: DEFAULT_TIMEOUT,
            rate_limit: RateLimit::default(),
            retry: RetryPolicy::default(),
            key_env: None,
            http_log: None,
        }
    }
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    project_id: String,
    authorization: HeaderValue,
    limiter: WindowLimiter,
    rate_limit: RateLimit,
    gate: PauseGate,
    retry: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    license: RwLock<Option<HeaderValue>>,
    key_env: Option<String>,
    http_log: Option<HttpLog>,
}

/// A Descope management client for one project. Cheap to clone; clones share the rate limiter and
/// the 429 pause, so one client per environment paces every caller.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("project_id", &self.inner.project_id)
            .field("base_url", &self.inner.base_url)
            .field("management_key", &"***")
            .field("rate_limit", &self.inner.rate_limit)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

fn header_value(name: &str, value: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(value).map_err(|_| ApiError::Config {
        reason: format!("`{name}` contains characters not allowed in a header"),
    })
}

impl Client {
    pub fn new(config: ClientConfig) -> Result<Client, ApiError> {
        Client::with_sleeper(config, Arc::new(TokioSleeper))
    }

    /// As [`Client::new`], sleeping through `sleeper` (tests observe the pauses).
    pub fn with_sleeper(
        config: ClientConfig,
        sleeper: Arc<dyn Sleeper>,
    ) -> Result<Client, ApiError> {
        if config.project_id.is_empty() {
            return Err(ApiError::Config {
                reason: "the project id is empty".to_owned(),
            });
        }
        let base_url = config
            .base_url
            .clone()
            .unwrap_or_else(|| base_url_for_project_id(&config.project_id))
            .trim_end_matches('/')
            .to_owned();
        let parsed = reqwest::Url::parse(&base_url).map_err(|e| ApiError::Config {
            reason: format!("base URL `{base_url}` is not a URL: {e}"),
        })?;
        if !matches!(parsed.scheme(), "http" | "https")
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(ApiError::Config {
                reason: format!("base URL `{base_url}` must be http(s) without user info"),
            });
        }
        let mut authorization = header_value(
            "the management key",
            &format!(
                "Bearer {}:{}",
                config.project_id,
                config.management_key.expose_secret()
            ),
        )?;
        authorization.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("x-descope-sdk-name", HeaderValue::from_static("dmgmt"));
        headers.insert(
            "x-descope-sdk-version",
            HeaderValue::from_static(env!("CARGO_PKG_VERSION")),
        );
        headers.insert(
            "x-descope-project-id",
            header_value("the project id", &config.project_id)?,
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .user_agent(concat!("dmgmt/", env!("CARGO_PKG_VERSION")))
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| ApiError::Config {
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url,
                project_id: config.project_id,
                authorization,
                limiter: config.rate_limit.limiter(),
                rate_limit: config.rate_limit,
                gate: PauseGate::default(),
                retry: config.retry,
                sleeper,
                license: RwLock::new(None),
                key_env: config.key_env,
                http_log: config.http_log,
            }),
        })
    }

    fn log(&self, event: &HttpEvent) {
        if let Some(HttpLog(log)) = &self.inner.http_log {
            log(event);
        }
    }

    /// Remembers the licence tier; later requests send it as `x-descope-license`.
    pub(crate) fn set_license(&self, tier: &str) {
        if let Ok(value) = HeaderValue::from_str(tier) {
            *self
                .inner
                .license
                .write()
                .unwrap_or_else(|e| e.into_inner()) = Some(value);
        }
    }

    fn request(
        &self,
        endpoint: Endpoint,
        query: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> reqwest::RequestBuilder {
        let url = format!("{}{}", self.inner.base_url, endpoint.path);
        let mut req = self
            .inner
            .http
            .request(endpoint.method.into(), url)
            .header(header::AUTHORIZATION, self.inner.authorization.clone());
        if !query.is_empty() {
            req = req.query(query);
        }
        if let Some(license) = self
            .inner
            .license
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
        {
            req = req.header("x-descope-license", license);
        }
        if let Some(body) = body {
            req = req
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.to_vec());
        }
        req
    }

    /// A connection error or timeout: fails for good after `max_attempts`, else backs off (with
    /// jitter) before the caller tries again. A mutation fails at once unless the connection was
    /// never made (`sent: false` and a connect error): once the request may have reached Descope,
    /// only its caller can tell, by reading the object back, whether resending is safe.
    async fn after_transport_failure(
        &self,
        endpoint: Endpoint,
        failures: u32,
        source: reqwest::Error,
    ) -> Result<(), ApiError> {
        let inner = &*self.inner;
        let maybe_delivered = endpoint.mutating && !source.is_connect();
        if failures >= inner.retry.max_attempts || maybe_delivered {
            return Err(ApiError::Transport {
                endpoint,
                attempts: failures,
                source,
            });
        }
        inner
            .sleeper
            .sleep(inner.retry.backoff(failures, jitter()))
            .await;
        Ok(())
    }

    /// Sends one call: waits out any 429 pause, takes a place in the rate window, sends, and retries
    /// 429 (after `Retry-After`, pausing every caller; a 429 was not applied, so this holds for
    /// mutations too). A read is also retried after a 5xx or a transport error (bounded backoff);
    /// a mutation is not (see [`Endpoint::mutating`]): its error comes back to the caller at once.
    pub(crate) async fn call<B, R>(
        &self,
        endpoint: Endpoint,
        query: &[(&str, &str)],
        body: Option<&B>,
    ) -> Result<R, ApiError>
    where
        B: Serialize + Sync + ?Sized,
        R: DeserializeOwned,
    {
        self.call_decoding(endpoint, query, body, |bytes| serde_json::from_slice(bytes))
            .await
    }

    /// [`call`](Self::call), the answer's bytes read by `decode` (once, for the answer that
    /// succeeded): for answers read item by item as they are parsed.
    pub(crate) async fn call_decoding<B, R>(
        &self,
        endpoint: Endpoint,
        query: &[(&str, &str)],
        body: Option<&B>,
        decode: impl FnOnce(&[u8]) -> Result<R, serde_json::Error> + Send,
    ) -> Result<R, ApiError>
    where
        B: Serialize + Sync + ?Sized,
    {
        let inner = &*self.inner;
        let body = encoded(endpoint, body)?;
        let mut failures = 0u32;
        let mut waits = 0u32;
        loop {
            inner.gate.wait(&*inner.sleeper).await;
            let permit = inner.limiter.acquire().await;
            inner.gate.wait(&*inner.sleeper).await;
            let started = std::time::Instant::now();
            let sent = self.request(endpoint, query, body.as_deref()).send().await;
            // Answered (or failed): the call's place in the rate window is counted from here.
            drop(permit);
            self.log(&HttpEvent::Exchange {
                endpoint,
                status: sent.as_ref().ok().map(|r| r.status().as_u16()),
                duration: started.elapsed(),
                attempt: failures + waits + 1,
            });
            let response = match sent {
                Ok(r) => r,
                Err(source) => {
                    failures += 1;
                    self.after_transport_failure(endpoint, failures, source)
                        .await?;
                    continue;
                }
            };
            let status = response.status().as_u16();
            if status == 429 {
                if waits >= inner.retry.max_rate_limit_retries {
                    return Err(ApiError::RateLimited {
                        endpoint,
                        retries: waits,
                    });
                }
                waits += 1;
                self.pause_for_rate_limit(endpoint, &response, waits)?;
                continue;
            }
            let bytes = match response.bytes().await {
                Ok(b) => b,
                Err(source) if endpoint.mutating => {
                    // Descope answered: the request was delivered, whatever became of the reply.
                    return Err(ApiError::Transport {
                        endpoint,
                        attempts: failures + 1,
                        source,
                    });
                }
                Err(source) => {
                    failures += 1;
                    self.after_transport_failure(endpoint, failures, source)
                        .await?;
                    continue;
                }
            };
            if (200..300).contains(&status) {
                return decoded(endpoint, status, &bytes, decode);
            }
            if status >= 500 && !endpoint.mutating {
                failures += 1;
                if self.backed_off(failures).await {
                    continue;
                }
            }
            return Err(self.descope_error(endpoint, status, &bytes));
        }
    }

    /// After failure number `failures` of a read answered 5xx: waits the backoff and says `true`
    /// while attempts are left.
    async fn backed_off(&self, failures: u32) -> bool {
        let inner = &*self.inner;
        if failures >= inner.retry.max_attempts {
            return false;
        }
        inner
            .sleeper
            .sleep(inner.retry.backoff(failures, jitter()))
            .await;
        true
    }

    /// Descope's 429 (number `waits` of this call): every call pauses for what its `Retry-After`
    /// asks (the gate), unless that is longer than the client waits.
    fn pause_for_rate_limit(
        &self,
        endpoint: Endpoint,
        response: &reqwest::Response,
        waits: u32,
    ) -> Result<(), ApiError> {
        let inner = &*self.inner;
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok());
        let pause = inner
            .retry
            .retry_after(retry_after, waits)
            .map_err(|asked| ApiError::RetryAfterTooLong {
                endpoint,
                asked,
                limit: inner.retry.max_retry_after,
            })?;
        self.log(&HttpEvent::RateLimited { endpoint, pause });
        inner.gate.pause_for(pause);
        Ok(())
    }

    /// The pause before the caller resends a mutation after failure number `failures` (1-based):
    /// the same backoff with jitter the client uses between its own attempts.
    pub(crate) fn resend_pause(&self, failures: u32) -> super::Pause<'static> {
        let inner = &*self.inner;
        inner
            .sleeper
            .sleep(inner.retry.backoff(failures.max(1), jitter()))
    }

    fn descope_error(&self, endpoint: Endpoint, status: u16, bytes: &[u8]) -> ApiError {
        let key_env = self.inner.key_env.clone();
        ApiError::Descope(Box::new(DescopeError::from_answer(
            endpoint, status, bytes, key_env,
        )))
    }
}

/// A call's body as JSON bytes.
fn encoded<B: Serialize + ?Sized>(
    endpoint: Endpoint,
    body: Option<&B>,
) -> Result<Option<Vec<u8>>, ApiError> {
    body.map(serde_json::to_vec)
        .transpose()
        .map_err(|e| ApiError::Refused {
            endpoint,
            reason: format!("cannot encode the body: {e}"),
        })
}

/// A successful answer read by `decode` (an empty answer reads as `{}`).
fn decoded<R>(
    endpoint: Endpoint,
    status: u16,
    bytes: &[u8],
    decode: impl FnOnce(&[u8]) -> Result<R, serde_json::Error>,
) -> Result<R, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
        b"{}"
    } else {
        bytes
    };
    decode(bytes).map_err(|e| ApiError::Decode {
        endpoint,
        status,
        detail: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regional_rule_follows_the_sdks() {
        assert_eq!(
            base_url_for_project_id("Peuc12345678901234567890123456789"),
            "https://api.euc1.descope.com"
        );
        assert_eq!(base_url_for_project_id("P2abc"), DEFAULT_BASE_URL);
        assert_eq!(
            base_url_for_project_id(crate::emulator::LOCAL_PROJECT_ID),
            DEFAULT_BASE_URL
        );
    }

    #[test]
    fn debug_never_shows_the_key() {
        let config = ClientConfig::new("P2abc", ManagementKey::new("K2topsecret"));
        let client = Client::new(config.clone()).unwrap();
        assert!(!format!("{client:?}").contains("topsecret"));
        assert!(!format!("{config:?}").contains("topsecret"));
    }

    #[test]
    fn rejects_base_urls_with_user_info() {
        let mut config = ClientConfig::new("P2abc", ManagementKey::new("k"));
        config.base_url = Some("http://user:pw@127.0.0.1:1".into());
        assert!(matches!(Client::new(config), Err(ApiError::Config { .. })));
    }
}
