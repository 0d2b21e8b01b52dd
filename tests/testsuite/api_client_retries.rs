//! The Descope client's pacing and retries against the in-process emulator and a stub server:
//! 429s pause for `Retry-After` (and fail as rate-limited when they never stop), a mutation's 5xx
//! comes back at once, unresent, and reads are retried after 5xx and connection errors, a bounded
//! number of times. (Round trips, typed errors and the key are in `api_client.rs`.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use dmgmt::api::{ApiError, Client, ClientConfig, ManagementKey, Provider, RetryPolicy};
use dmgmt::emulator::{EmulatorConfig, EmulatorRateLimit};
use serde_json::json;

use crate::api_client::{created_permissions, created_roles, perm, tenant};
use crate::support::{config_for, recording_client, start, start_default};

#[tokio::test]
async fn rate_limited_calls_pause_for_retry_after_and_all_succeed() {
    let rate_limit = Some(EmulatorRateLimit {
        requests: 2,
        per_seconds: 1,
    });
    let emu = start(EmulatorConfig {
        rate_limit,
        ..EmulatorConfig::default()
    })
    .await;
    let (client, sleeper) = recording_client(config_for(&emu));
    let calls = (0..5).map(|_| {
        let c = client.clone();
        tokio::spawn(async move { c.load_all_tenants().await })
    });
    for call in calls.collect::<Vec<_>>() {
        call.await.unwrap().expect("a 429 is never a failure");
    }
    let log = emu.request_log();
    let limited = log.iter().filter(|e| e.status == 429).count();
    assert!(limited >= 1, "the emulator answered 429: {log:?}");
    assert_eq!(log.iter().filter(|e| e.status == 200).count(), 5);
    // Every pause is the Retry-After (1 s) or what remained of it, never a fixed backoff.
    let pauses = sleeper.pauses();
    assert!(!pauses.is_empty());
    assert!(
        pauses.iter().all(|p| *p <= Duration::from_secs(1)),
        "{pauses:?}"
    );
    assert!(
        pauses.iter().any(|p| *p >= Duration::from_millis(900)),
        "{pauses:?}"
    );
}

#[tokio::test]
async fn too_many_429s_fail_as_rate_limited() {
    let rate_limit = Some(EmulatorRateLimit {
        requests: 1,
        per_seconds: 1,
    });
    let emu = start(EmulatorConfig {
        rate_limit,
        ..EmulatorConfig::default()
    })
    .await;
    let mut config = config_for(&emu);
    config.retry.max_rate_limit_retries = 0;
    let c = Client::new(config).unwrap();
    created_roles(c.load_all_roles().await.unwrap());
    let err = c.load_all_roles().await.unwrap_err();
    assert!(
        matches!(err, ApiError::RateLimited { retries: 0, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_mutations_server_error_comes_back_at_once_unresent() {
    // Every mutation is answered 503: the client must not resend it (Descope may have applied it
    // with only the reply lost); the executor reads the object back and decides.
    let emu = start(EmulatorConfig {
        fault_rate: 1.0,
        ..EmulatorConfig::default()
    })
    .await;
    let (c, sleeper) = recording_client(config_for(&emu));
    let err = c.create_permission(&perm("x")).await.unwrap_err();
    assert_eq!(
        (err.status(), err.error_code()),
        (Some(503), Some("E011503"))
    );
    assert!(err.may_have_been_applied(), "{err:?}");
    let err = c
        .create_tenant(&tenant(Some("acme"), "Acme"))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(503));
    let log = emu.request_log();
    assert_eq!(
        log.iter().map(|e| e.path.as_str()).collect::<Vec<_>>(),
        ["/v1/mgmt/permission/create", "/v1/mgmt/tenant/create"],
        "each mutation sent once"
    );
    assert!(sleeper.pauses().is_empty(), "{:?}", sleeper.pauses());
    // Reads are not mutations: they succeed, unaffected.
    assert!(created_permissions(c.load_all_permissions().await.unwrap()).is_empty());
}

/// A server answering `GET /v1/mgmt/role/all` with 503 to its first `failures` requests, then an
/// empty list; its base URL and a count of the requests it served.
async fn flaky_roles(failures: usize) -> (String, Arc<AtomicUsize>) {
    use axum::extract::State;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};

    type Served = (Arc<AtomicUsize>, usize);
    async fn roles(State((served, failures)): State<Served>) -> Response {
        if served.fetch_add(1, Ordering::SeqCst) < failures {
            let body = json!({"errorCode": "E011503", "errorDescription": "unavailable"});
            return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
        }
        axum::Json(json!({"roles": []})).into_response()
    }
    let served = Arc::new(AtomicUsize::new(0));
    let app = axum::Router::new()
        .route("/v1/mgmt/role/all", axum::routing::get(roles))
        .with_state((served.clone(), failures));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), served)
}

fn stub_config(base_url: String) -> ClientConfig {
    let mut config = ClientConfig::new("P2stub", ManagementKey::new("K2key"));
    config.base_url = Some(base_url);
    config.retry = crate::support::fast_retry();
    config
}

#[tokio::test]
async fn reads_are_retried_after_server_errors_until_they_succeed() {
    let (url, served) = flaky_roles(2).await;
    let (c, sleeper) = recording_client(stub_config(url));
    assert!(c.load_all_roles().await.unwrap().is_empty());
    assert_eq!(served.load(Ordering::SeqCst), 3);
    assert_eq!(sleeper.pauses().len(), 2, "a backoff before each retry");
}

#[tokio::test]
async fn server_errors_on_reads_are_retried_a_bounded_number_of_times() {
    let (url, served) = flaky_roles(usize::MAX).await;
    let (c, sleeper) = recording_client(stub_config(url));
    let err = c.load_all_roles().await.unwrap_err();
    assert_eq!(
        (err.status(), err.error_code()),
        (Some(503), Some("E011503"))
    );
    assert_eq!(
        served.load(Ordering::SeqCst),
        RetryPolicy::default().max_attempts as usize
    );
    assert_eq!(sleeper.pauses().len(), 3, "a backoff between attempts");
}

#[tokio::test]
async fn connection_errors_are_retried_then_reported() {
    let emu = start_default().await;
    let config = config_for(&emu);
    emu.shutdown().await.unwrap();
    let (c, sleeper) = recording_client(config);
    let err = c.load_all_roles().await.unwrap_err();
    assert!(
        matches!(err, ApiError::Transport { attempts: 4, .. }),
        "{err:?}"
    );
    assert_eq!(sleeper.pauses().len(), 3);
    // A mutation that could not even connect never left: resending it is safe.
    let err = c.create_permission(&perm("x")).await.unwrap_err();
    assert!(
        matches!(err, ApiError::Transport { attempts: 4, .. }),
        "{err:?}"
    );
    assert_eq!(sleeper.pauses().len(), 6);
}

/// An emulator allowing 2 calls a second whose 429s say `retry_after` (see `DescopeVariant`).
async fn limited(retry_after: dmgmt::emulator::RetryAfter) -> dmgmt::emulator::EmulatorHandle {
    start(EmulatorConfig {
        rate_limit: Some(EmulatorRateLimit {
            requests: 2,
            per_seconds: 1,
        }),
        variant: dmgmt::emulator::DescopeVariant {
            retry_after,
            error_bodies: dmgmt::emulator::ErrorBodies::Text,
            ..Default::default()
        },
        ..EmulatorConfig::default()
    })
    .await
}

/// Five calls at once against 2 calls a second: each must end in success, however the 429s
/// (with a non-JSON body) say when to come back.
async fn five_calls_succeed(client: &Client) {
    let calls: Vec<_> = (0..5)
        .map(|_| {
            let c = client.clone();
            tokio::spawn(async move { c.load_all_tenants().await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().expect("a 429 is never a failure");
    }
}

#[tokio::test]
async fn a_retry_after_of_zero_is_not_taken_as_leave_to_hammer() {
    // A server that keeps saying `Retry-After: 0` while its window is full: retrying at once
    // would spend every allowed wait in a few milliseconds and fail the call.
    let emu = limited(dmgmt::emulator::RetryAfter::Zero).await;
    let (client, sleeper) = recording_client(config_for(&emu));
    five_calls_succeed(&client).await;
    let pauses = sleeper.pauses();
    // The least wait (1 s) was kept at least once. (A caller that arrives during a pause sleeps
    // what remains of it, which under load can be any part of it: only the longest is certain.)
    assert!(
        pauses
            .iter()
            .max()
            .is_some_and(|p| *p >= Duration::from_millis(900)),
        "{pauses:?}"
    );
    let limited = emu.request_log().iter().filter(|e| e.status == 429).count();
    assert!(limited <= 10, "{limited} requests answered 429");
}

#[tokio::test]
async fn a_retry_after_given_as_an_http_date_is_waited_out_not_replaced_by_the_default() {
    let emu = limited(dmgmt::emulator::RetryAfter::HttpDate).await;
    let (client, sleeper) = recording_client(config_for(&emu));
    five_calls_succeed(&client).await;
    let pauses = sleeper.pauses();
    assert!(!pauses.is_empty());
    // The date is at most a second ahead (to the whole second): never the 10 s default.
    assert!(
        pauses.iter().all(|p| *p <= Duration::from_secs(2)),
        "{pauses:?}"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_waits_the_default() {
    let emu = limited(dmgmt::emulator::RetryAfter::Absent).await;
    let mut config = config_for(&emu);
    config.retry.default_retry_after = Duration::from_millis(1500);
    let (client, sleeper) = recording_client(config);
    five_calls_succeed(&client).await;
    let pauses = sleeper.pauses();
    // The default (1.5 s), not a second's guess, and never more; a caller that arrives during a
    // pause sleeps what remains of it.
    assert!(
        pauses
            .iter()
            .max()
            .is_some_and(|p| *p > Duration::from_millis(1000))
            && pauses.iter().all(|p| *p <= Duration::from_millis(1500)),
        "{pauses:?}"
    );
}

/// Records every pause and returns at once, so a test can ask for long waits.
#[derive(Default)]
struct InstantSleeper(std::sync::Mutex<Vec<Duration>>);

impl dmgmt::api::Sleeper for InstantSleeper {
    fn sleep(
        &self,
        duration: Duration,
    ) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        self.0.lock().unwrap().push(duration);
        Box::pin(std::future::ready(()))
    }
}

/// A stub whose `role/all` answers 429 with `Retry-After: <retry_after>` `limited` times, then 200;
/// and a count of the requests it got.
async fn retry_after_stub(retry_after: &'static str, limited: usize) -> (String, Arc<AtomicUsize>) {
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    let app = axum::Router::new().route(
        "/v1/mgmt/role/all",
        axum::routing::get(move || {
            let n = counted.fetch_add(1, Ordering::SeqCst);
            async move {
                match n < limited {
                    true => (
                        StatusCode::TOO_MANY_REQUESTS,
                        [(header::RETRY_AFTER, retry_after)],
                        r#"{"errorCode":"E130429","errorDescription":"https://docs.descope.com/rate-limit","errorMessage":"API rate limit exceeded."}"#,
                    )
                        .into_response(),
                    false => (StatusCode::OK, r#"{"roles":[]}"#).into_response(),
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (format!("http://{addr}"), hits)
}

#[tokio::test]
async fn a_retry_after_of_minutes_is_waited_in_full() {
    let (base_url, hits) = retry_after_stub("600", 1).await;
    let mut config = ClientConfig::new("P2stub", ManagementKey::new("K2key"));
    config.base_url = Some(base_url);
    let sleeper = Arc::new(InstantSleeper::default());
    let client = Client::with_sleeper(config, sleeper.clone()).unwrap();
    created_roles(client.load_all_roles().await.unwrap());
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // The pause is waited before and after the rate limiter (this sleeper does not advance the
    // clock): each wait is the whole of what remains.
    let pauses = sleeper.0.lock().unwrap().clone();
    assert!(
        pauses.iter().all(|p| *p <= Duration::from_secs(600))
            && pauses.iter().any(|p| *p > Duration::from_secs(599)),
        "{pauses:?}"
    );
}

#[tokio::test]
async fn a_retry_after_beyond_the_bound_fails_without_resending_early() {
    let (base_url, hits) = retry_after_stub("7200", usize::MAX).await;
    let mut config = ClientConfig::new("P2stub", ManagementKey::new("K2key"));
    config.base_url = Some(base_url);
    let sleeper = Arc::new(InstantSleeper::default());
    let client = Client::with_sleeper(config, sleeper.clone()).unwrap();
    let err = client.load_all_roles().await.unwrap_err();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "{err:?}");
    assert!(sleeper.0.lock().unwrap().is_empty(), "{err:?}");
    assert_eq!(err.status(), Some(429), "{err:?}");
    let shown = dmgmt::Error::from(err).to_string();
    assert!(
        shown.contains("`GET /v1/mgmt/role/all`") && shown.contains("2h"),
        "{shown}"
    );
    assert!(shown.contains("15m"), "the bound is named: {shown}");
}
