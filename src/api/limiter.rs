//! The client's rate limiter: at most `requests` calls in any window of `per_seconds`, the way a
//! windowed server counts them, whatever the latency and its jitter.
//!
//! Each call holds one of `requests` permits from the moment it is sent until `per_seconds` after
//! its answer (or its failure, or its cancellation). A server counts a request at some instant
//! between its sending and its answer, so every request it counts within one window of
//! `per_seconds` still held its permit at the last of those instants: it can never count more than
//! `requests`. A full burst of `requests` is allowed at once (a fresh window has room for it).
//!
//! Timing only: it sends nothing, and sleeps on tokio's clock (`tokio::time::pause` works).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Shared by every clone of one client.
#[derive(Debug)]
pub(crate) struct WindowLimiter {
    permits: Arc<Semaphore>,
    period: Duration,
}

impl WindowLimiter {
    /// At most `requests` calls (at least 1) in any `period`.
    pub(crate) fn new(requests: u32, period: Duration) -> Self {
        let requests = (requests.max(1) as usize).min(Semaphore::MAX_PERMITS);
        WindowLimiter {
            permits: Arc::new(Semaphore::new(requests)),
            period,
        }
    }

    /// Waits (first come, first served) until a call may be sent. Hold the permit until the call
    /// has its answer: dropping it starts the `period` after which it can be used again.
    pub(crate) async fn acquire(&self) -> WindowPermit {
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        WindowPermit {
            permit: Some(permit),
            period: self.period,
        }
    }
}

/// One call's place in the window; returned to the limiter `period` after it is dropped.
#[derive(Debug)]
pub(crate) struct WindowPermit {
    permit: Option<OwnedSemaphorePermit>,
    period: Duration,
}

impl Drop for WindowPermit {
    fn drop(&mut self) {
        let Some(permit) = self.permit.take() else {
            return;
        };
        // Outside a runtime nothing can be waiting on the limiter: returning it at once is safe.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let period = self.period;
            runtime.spawn(async move {
                tokio::time::sleep(period).await;
                drop(permit);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::time::Instant;

    /// Starts `calls` calls at once through `limiter`, each answered after `latency`; returns
    /// when each was sent, from the start.
    async fn send_all(
        limiter: Arc<WindowLimiter>,
        calls: usize,
        latency: Duration,
    ) -> Vec<Duration> {
        let t0 = Instant::now();
        let tasks: Vec<_> = (0..calls)
            .map(|_| {
                let limiter = limiter.clone();
                tokio::spawn(async move {
                    let permit = limiter.acquire().await;
                    let sent = Instant::now() - t0;
                    tokio::time::sleep(latency).await;
                    drop(permit);
                    sent
                })
            })
            .collect();
        let mut sent = Vec::new();
        for task in tasks {
            sent.push(task.await.unwrap());
        }
        sent.sort();
        sent
    }

    /// The most calls sent within any half-open window of `period`.
    fn busiest_window(sent: &[Duration], period: Duration) -> usize {
        (0..sent.len())
            .map(|i| {
                sent[i..]
                    .iter()
                    .take_while(|t| **t < sent[i] + period)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_never_exceeds_the_limit_in_any_window() {
        // A token bucket that starts full and refills steadily sends its whole burst and then
        // its refill within the same second: up to twice the limit in one server window, each
        // excess answered 429 and paid with a `Retry-After` pause of every caller.
        let limiter = Arc::new(WindowLimiter::new(5, Duration::from_secs(1)));
        let sent = send_all(limiter, 20, Duration::ZERO).await;
        assert_eq!(busiest_window(&sent, Duration::from_secs(1)), 5, "{sent:?}");
        // ... and still at the full rate: bursts of 5 at 0, 1, 2 and 3 s.
        assert_eq!(sent[4], Duration::ZERO);
        assert_eq!(sent[19], Duration::from_secs(3));
    }

    #[tokio::test(start_paused = true)]
    async fn a_permit_returns_one_period_after_the_answer() {
        // The server counts a request somewhere between its sending and its answer: counting the
        // window from the answer keeps any latency jitter from pushing a sixth call into it.
        let limiter = Arc::new(WindowLimiter::new(5, Duration::from_secs(1)));
        let sent = send_all(limiter, 7, Duration::from_millis(200)).await;
        assert_eq!(sent[4], Duration::ZERO);
        assert_eq!(sent[5], Duration::from_millis(1200));
        assert_eq!(sent[6], Duration::from_millis(1200));
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_call_still_holds_its_place_for_the_period() {
        let limiter = WindowLimiter::new(1, Duration::from_secs(1));
        let t0 = Instant::now();
        drop(limiter.acquire().await);
        let _next = limiter.acquire().await;
        assert_eq!(Instant::now() - t0, Duration::from_secs(1));
    }
}
