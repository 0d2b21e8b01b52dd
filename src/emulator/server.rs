//! The emulator's HTTP server: shared state, the gate every request passes (latency, rate limit,
//! authorization, request log), fault injection around mutations (503 before, or a "lost" 502
//! after the change), the router of all areas, and the running server's handle.
//!
//! Request semantics live in the area modules; this module must not know any object's rules.

use std::fs::File;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::config::{EmulatorConfig, EmulatorRateLimit};
use super::errors::{EmuError, METHOD_NOT_ALLOWED, Reply, UNKNOWN_ROUTE};
use super::journal::Journal;
use super::store::Store;
use super::variant::{self, DescopeVariant};
use super::{flow, permission, role, tenant, theme};

/// Flows can be large documents; Descope accepts them, so must the emulator.
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// One served request, in arrival order of completion. The `Authorization` header is never
/// recorded, so the management key cannot appear in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestLogEntry {
    pub method: String,
    pub path: String,
    pub status: u16,
    /// When the answer was ready, in microseconds since the emulator started (benches and tests
    /// measure how calls spread over time with it). In memory only: not in the log file.
    #[serde(skip)]
    pub at_us: u64,
    /// The request body as JSON: `null` when there was none (or only whitespace), the text as a
    /// JSON string when it was not JSON.
    #[serde(default)]
    pub body: Value,
}

/// Locks a mutex, ignoring poisoning: every critical section leaves the data consistent.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A fixed window: `limit` requests per `period`.
struct RateWindow {
    limit: u32,
    period: Duration,
    start: Instant,
    count: u32,
}

impl RateWindow {
    fn new(limit: EmulatorRateLimit) -> RateWindow {
        RateWindow {
            limit: limit.requests,
            period: Duration::from_secs(u64::from(limit.per_seconds)),
            start: Instant::now(),
            count: 0,
        }
    }

    /// `Err(seconds to wait)` when the window is full.
    fn admit(&mut self, now: Instant) -> Result<(), u64> {
        if now.duration_since(self.start) >= self.period {
            self.start = now;
            self.count = 0;
        }
        if self.count < self.limit {
            self.count += 1;
            return Ok(());
        }
        let left = (self.start + self.period).saturating_duration_since(now);
        Err(left.as_secs_f64().ceil().max(1.0) as u64)
    }
}

/// State shared by all handlers.
pub(crate) struct Shared {
    store: Mutex<Store>,
    /// With `--data`: locked only while `store` is, after it.
    journal: Option<Mutex<Journal>>,
    authorization: String,
    /// The rate limit and latency: settable while serving ([`EmulatorHandle::set_limits`]).
    rate: Mutex<Option<RateWindow>>,
    fault_rate: f64,
    rng: Mutex<fastrand::Rng>,
    lost_reply_rate: f64,
    /// Its own stream, so turning lost replies on does not move which calls fault.
    lost_rng: Mutex<fastrand::Rng>,
    latency: Mutex<Duration>,
    started: Instant,
    pub(crate) variant: DescopeVariant,
    log: Mutex<Vec<RequestLogEntry>>,
    log_file: Option<Mutex<File>>,
}

pub(crate) type Emu = Arc<Shared>;

impl Shared {
    /// Runs a read-only operation on the store.
    pub(crate) fn read<R>(
        &self,
        f: impl FnOnce(&Store) -> Result<R, EmuError>,
    ) -> Result<R, EmuError> {
        f(&lock(&self.store))
    }

    /// Runs a mutation: maybe an injected fault first (503, nothing done), then `f`, then
    /// persistence, then maybe a lost reply (502 although the change is committed and persisted).
    /// `f` must either fail before changing anything or succeed; a failed `f` answers its own
    /// error. Every call past the fault gate draws once for the lost reply, so with one client
    /// sending one call at a time a seed always loses the same calls.
    pub(crate) fn mutate<R>(
        &self,
        f: impl FnOnce(&mut Store) -> Result<R, EmuError>,
    ) -> Result<R, EmuError> {
        if self.fault_rate > 0.0 && lock(&self.rng).f64() < self.fault_rate {
            return Err(EmuError::fault());
        }
        let lose_reply =
            self.lost_reply_rate > 0.0 && lock(&self.lost_rng).f64() < self.lost_reply_rate;
        let mut store = lock(&self.store);
        let out = f(&mut store)?;
        if let Some(journal) = &self.journal {
            lock(journal)
                .record(&store)
                .map_err(|e| EmuError::internal(e.to_string()))?;
        }
        if lose_reply {
            return Err(EmuError::lost_reply());
        }
        Ok(out)
    }

    /// Rate limit, then authorization.
    fn admit(&self, req: &Request) -> Result<(), EmuError> {
        if let Some(rate) = lock(&self.rate).as_mut() {
            rate.admit(Instant::now()).map_err(EmuError::rate_limited)?;
        }
        let auth = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match auth {
            None => Err(EmuError::unauthorized("missing `Authorization` header")),
            Some(a) if a == self.authorization => Ok(()),
            Some(_) => Err(EmuError::unauthorized(
                "invalid `Authorization`: expected `Bearer <projectId>:<managementKey>` of this project",
            )),
        }
    }

    fn record(&self, entry: RequestLogEntry) {
        if let Some(file) = &self.log_file
            && let Ok(line) = serde_json::to_string(&entry)
        {
            // The log is a test aid: a failed append must not fail the request.
            let _ = writeln!(lock(file), "{line}");
        }
        lock(&self.log).push(entry);
    }
}

async fn gatekeeper(State(emu): State<Emu>, req: Request, next: Next) -> Response {
    let verb = req.method().clone();
    let method = verb.to_string();
    let path = req.uri().path().to_owned();
    let latency = *lock(&emu.latency);
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    // The body is read here once, for the log, and handed on unchanged.
    let (parts, body) = req.into_parts();
    let (response, logged) = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Err(e) => (
            EmuError::bad_request(format!("cannot read the request body: {e}")).into_response(),
            Value::Null,
        ),
        Ok(bytes) => {
            let logged = body_as_json(&bytes);
            let req = Request::from_parts(parts, Body::from(bytes));
            let response = match emu.admit(&req) {
                Err(e) => e.into_response(),
                Ok(()) => next.run(req).await,
            };
            let response = variant::reshape(&emu.variant, &verb, &path, response).await;
            (response, logged)
        }
    };
    emu.record(RequestLogEntry {
        method,
        path,
        status: response.status().as_u16(),
        at_us: u64::try_from(emu.started.elapsed().as_micros()).unwrap_or(u64::MAX),
        body: logged,
    });
    response
}

/// A request body for the log: `null` when empty, the JSON it holds, or else its text.
fn body_as_json(bytes: &[u8]) -> Value {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Value::Null;
    }
    serde_json::from_slice(bytes)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(bytes).into_owned()))
}

async fn unknown_route(req: Request) -> EmuError {
    EmuError::new(
        axum::http::StatusCode::NOT_FOUND,
        UNKNOWN_ROUTE,
        format!("unknown route `{}`", req.uri().path()),
    )
}

async fn wrong_method(req: Request) -> EmuError {
    EmuError::new(
        axum::http::StatusCode::METHOD_NOT_ALLOWED,
        METHOD_NOT_ALLOWED,
        format!(
            "method `{}` is not allowed on `{}`",
            req.method(),
            req.uri().path()
        ),
    )
}

async fn license() -> Reply {
    Ok(Json(json!({"rateLimitTier": "tier1"})))
}

fn router(emu: Emu) -> Router {
    Router::new()
        .route("/v1/mgmt/license", get(license))
        .merge(tenant::routes())
        .merge(role::routes())
        .merge(permission::routes())
        .merge(flow::routes())
        .merge(theme::routes())
        .fallback(unknown_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(middleware::from_fn_with_state(emu.clone(), gatekeeper))
        .with_state(emu)
}

/// Why the emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] super::store::StoreError),
    #[error("cannot open request log `{}`", path.display())]
    RequestLog {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot listen on `{addr}`")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A running emulator. Dropping it stops the server and folds the journal of its data file;
/// [`EmulatorHandle::shutdown`] also waits for the server to end.
pub struct EmulatorHandle {
    addr: SocketAddr,
    shared: Emu,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

impl std::fmt::Debug for EmulatorHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl EmulatorHandle {
    /// `http://ADDR`, to use as a client's base URL.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request served so far, in order.
    pub fn request_log(&self) -> Vec<RequestLogEntry> {
        lock(&self.shared.log).clone()
    }

    /// Changes the rate limit and the latency from the next request on (a bench seeds a project
    /// at full speed, then measures against a limit).
    pub fn set_limits(&self, rate_limit: Option<EmulatorRateLimit>, latency: Duration) {
        *lock(&self.shared.rate) = rate_limit.map(RateWindow::new);
        *lock(&self.shared.latency) = latency;
    }

    /// Puts `tenants` into the project at once, as one `tenant/create` and one
    /// `tenant/updateDefaultRoles` each would leave them (the same checks: ids given and unused,
    /// names unused, parents and default roles existing; nothing goes in if one is refused). For
    /// benches that need 100,000 tenants, which a call each would take minutes to seed. Logs no
    /// request; with `--data` it is journaled like any change.
    pub fn insert_tenants(&self, tenants: Vec<crate::api::wire::Tenant>) -> Result<(), String> {
        self.shared
            .mutate(|store| super::tenant::insert_all(store, tenants))
            .map_err(|e| e.message)
    }

    /// Stops accepting, lets in-flight requests finish, waits for the server to end, and with
    /// `--data` folds the journal into the data file (so the file alone holds everything).
    pub async fn shutdown(mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.map_err(std::io::Error::other)??;
        }
        if let Some(journal) = &self.shared.journal {
            let store = lock(&self.shared.store);
            let mut journal = lock(journal);
            if journal.has_changes() {
                journal.compact(&store).map_err(std::io::Error::other)?;
            }
        }
        Ok(())
    }
}

impl Drop for EmulatorHandle {
    /// Stops the server and, with `--data`, folds the journal into the data file (unless
    /// [`EmulatorHandle::shutdown`] did), so that the data file alone holds every change once the
    /// emulator is gone: it can be copied without its journal (the embedded emulator of an
    /// `emulator: true` environment ends this way, with its command). A request still in flight
    /// after the fold is journaled against the new snapshot, as any other change.
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(journal) = &self.shared.journal {
            let store = lock(&self.shared.store);
            let mut journal = lock(journal);
            if journal.has_changes() {
                // Nothing is lost if the fold fails: the journal is still there and the next
                // start replays it.
                let _ = journal.compact(&store);
            }
        }
    }
}

/// Loads the data, binds, and spawns the server on the current tokio runtime.
pub(crate) async fn spawn(config: EmulatorConfig) -> Result<EmulatorHandle, StartError> {
    let (store, journal) = match &config.data {
        Some(path) => {
            let (store, journal) = Journal::open(path)?;
            (store, Some(Mutex::new(journal)))
        }
        None => (Store::default(), None),
    };
    let log_file = match &config.request_log {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| StartError::RequestLog {
                    path: path.clone(),
                    source,
                })?,
        )),
        None => None,
    };
    let shared = Arc::new(Shared {
        store: Mutex::new(store),
        journal,
        authorization: format!("Bearer {}:{}", config.project_id, config.management_key),
        rate: Mutex::new(config.rate_limit.map(RateWindow::new)),
        fault_rate: config.fault_rate,
        // Two streams, so the lost replies a seed picks do not depend on the fault rate
        // (tests/testsuite/emulator_faults.rs shows both reproducible with a seed).
        rng: Mutex::new(fastrand::Rng::with_seed(
            config.seed ^ 0x9E37_79B9_7F4A_7C15,
        )),
        lost_reply_rate: config.lost_reply_rate,
        lost_rng: Mutex::new(fastrand::Rng::with_seed(
            config.seed ^ 0xD1B5_4A32_D192_ED03,
        )),
        latency: Mutex::new(config.latency),
        started: Instant::now(),
        variant: config.variant,
        log: Mutex::new(Vec::new()),
        log_file,
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| StartError::Bind {
            addr: config.listen,
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: config.listen,
        source,
    })?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = router(shared.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stopped.await;
            })
            .await
    });
    Ok(EmulatorHandle {
        addr,
        shared,
        stop: Some(stop),
        task: Some(task),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_window_admits_limit_then_asks_to_wait() {
        let start = Instant::now();
        let mut w = RateWindow {
            limit: 2,
            period: Duration::from_secs(10),
            start,
            count: 0,
        };
        assert_eq!(w.admit(start), Ok(()));
        assert_eq!(w.admit(start), Ok(()));
        assert_eq!(w.admit(start + Duration::from_millis(3500)), Err(7));
        assert_eq!(w.admit(start + Duration::from_secs(10)), Ok(()));
    }
}
