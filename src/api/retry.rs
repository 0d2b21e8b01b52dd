//! How the client paces and retries: the rate limit, the retry policy, the pause every caller
//! honours after a 429, and the injectable sleeper that makes all of it testable without a clock.
//!
//! Pure policy and timing; this module sends nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::limiter::WindowLimiter;

/// Client-side rate limit: at most `requests` calls in any window of `per_seconds`, counted from
/// each call's sending to `per_seconds` after its answer (see `limiter.rs`); a fresh window allows
/// a burst of `requests`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u32,
    pub per_seconds: u32,
}

impl Default for RateLimit {
    /// 100 requests / 60 s: the lowest bucket Descope documents (plain API traffic, per source IP;
    /// management routes are only said to be "stricter" than 1000 / 10 s), so dmgmt alone never
    /// trips a documented limit. A 429 is still handled, not failed.
    fn default() -> Self {
        RateLimit {
            requests: 100,
            per_seconds: 60,
        }
    }
}

impl RateLimit {
    pub(crate) fn limiter(&self) -> WindowLimiter {
        WindowLimiter::new(
            self.requests,
            Duration::from_secs(u64::from(self.per_seconds.max(1))),
        )
    }
}

/// Bounds of every retry the client makes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (first one included) for 5xx answers and connection errors or timeouts
    /// of reads (a mutation is resent by the client only when it never left, see
    /// `Endpoint::mutating`). Default 4: the SDKs' 1 + 3 retries.
    pub max_attempts: u32,
    /// First backoff; doubled each attempt, with jitter. Default 200 ms.
    pub base_delay: Duration,
    /// Largest backoff. Default 5 s (the SDKs' longest delay).
    pub max_delay: Duration,
    /// Waits after HTTP 429 before the call fails. A 429 is a pause, not a failure, so the default
    /// is generous: 30 (15 minutes at Descope's documented 10 s and 60 s backoffs, 30 at 60 s).
    pub max_rate_limit_retries: u32,
    /// Wait after a 429 without a readable `Retry-After`. Default 10 s (Descope's usual value).
    pub default_retry_after: Duration,
    /// Least wait after a 429 whose `Retry-After` asks for less (`0`, or a date already past):
    /// doubled for each such 429 in a row of one call, up to `default_retry_after`, so a server
    /// that keeps saying "now" while still limiting is not hammered until the call fails.
    /// Default 1 s.
    pub min_retry_after: Duration,
    /// Longest `Retry-After` honoured. A 429 asking for more fails the call at once (see
    /// `ApiError::RetryAfterTooLong`) rather than resending before the server's time, which only
    /// earns another 429. Default 15 minutes: Descope documents 10 s and 60 s backoffs, so this is
    /// far beyond any documented wait yet short enough that a run does not sit silent for hours.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(5),
            max_rate_limit_retries: 30,
            default_retry_after: Duration::from_secs(10),
            min_retry_after: Duration::from_secs(1),
            max_retry_after: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
    /// The pause after the `wait`-th 429 in a row of one call (1-based): what `Retry-After` asks
    /// for (seconds, or an HTTP date), the default if it is absent or unreadable, the growing
    /// floor of [`RetryPolicy::min_retry_after`] if it asks for less than that. `Err` holds what
    /// the server asked for when it is more than [`RetryPolicy::max_retry_after`]: the call must
    /// fail, never resend early.
    pub fn retry_after(&self, header: Option<&str>, wait: u32) -> Result<Duration, Duration> {
        self.retry_after_at(header, wait, jiff::Timestamp::now())
    }

    /// [`RetryPolicy::retry_after`] as if it were `now` (for an HTTP date).
    pub fn retry_after_at(
        &self,
        header: Option<&str>,
        wait: u32,
        now: jiff::Timestamp,
    ) -> Result<Duration, Duration> {
        let floor = self
            .min_retry_after
            .saturating_mul(1u32 << wait.saturating_sub(1).min(20))
            .min(self.default_retry_after);
        let pause = header.and_then(|h| parse_retry_after(h, now)).map_or(
            self.default_retry_after,
            |asked| match asked < self.min_retry_after {
                true => floor,
                false => asked,
            },
        );
        match pause > self.max_retry_after {
            true => Err(pause),
            false => Ok(pause),
        }
    }

    /// Backoff before attempt `failed + 1` after `failed` failures (1-based): exponential, capped,
    /// with "equal jitter" (half fixed, half random) so parallel callers spread out.
    pub(crate) fn backoff(&self, failed: u32, random: f64) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << failed.saturating_sub(1).min(20));
        let full = exp.min(self.max_delay);
        full / 2 + (full / 2).mul_f64(random.clamp(0.0, 1.0))
    }
}

/// A `Retry-After` value: whole (or decimal) seconds, or an HTTP date (RFC 9110), as the wait
/// from `now` (zero for a date already past); `None` when it is neither.
fn parse_retry_after(header: &str, now: jiff::Timestamp) -> Option<Duration> {
    let text = header.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Ok(seconds) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(seconds).ok();
    }
    let at = jiff::fmt::rfc2822::DateTimeParser::new()
        .parse_timestamp(text)
        .ok()?;
    let ahead = at.duration_since(now);
    Some(Duration::try_from(ahead).unwrap_or(Duration::ZERO))
}

/// Waits for a duration. The client sleeps only through this, so tests can observe every pause.
pub trait Sleeper: Send + Sync + 'static {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>>;
}

/// The real sleeper: `tokio::time::sleep` (so `tokio::time::pause()` works too).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// "Paused until": after a 429 every caller of the client waits here before sending.
#[derive(Debug, Default)]
pub(crate) struct PauseGate {
    until: Mutex<Option<Instant>>,
}

impl PauseGate {
    fn until(&self) -> Option<Instant> {
        *self.until.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Pauses every caller for `duration` from now (never shortens a longer pause).
    pub(crate) fn pause_for(&self, duration: Duration) {
        let until = Instant::now() + duration;
        let mut slot = self.until.lock().unwrap_or_else(|e| e.into_inner());
        if slot.is_none_or(|u| u < until) {
            *slot = Some(until);
        }
    }

    /// Returns once no pause is in force. Trusts the sleeper: after sleeping the remaining time it
    /// only sleeps again if the pause was extended meanwhile (so a virtual sleeper cannot spin).
    pub(crate) async fn wait(&self, sleeper: &dyn Sleeper) {
        while let Some(until) = self.until() {
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            sleeper.sleep(left).await;
            if self.until() == Some(until) {
                return;
            }
        }
    }
}

/// A number in `[0, 1)` for [`RetryPolicy::backoff`]'s jitter (`fastrand`'s thread-local
/// generator, seeded per process by the OS).
pub(crate) fn jitter() -> f64 {
    fastrand::f64()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn retry_after_defaults_and_caps() {
        let p = RetryPolicy::default();
        assert_eq!(p.retry_after(Some("3"), 1), Ok(Duration::from_secs(3)));
        assert_eq!(
            p.retry_after(Some(" 2.5 "), 1),
            Ok(Duration::from_millis(2500))
        );
        assert_eq!(p.retry_after(Some("soon"), 1), Ok(Duration::from_secs(10)));
        assert_eq!(p.retry_after(Some("-1"), 1), Ok(Duration::from_secs(10)));
        assert_eq!(p.retry_after(None, 1), Ok(Duration::from_secs(10)));
        assert_eq!(p.retry_after(Some("120"), 1), Ok(Duration::from_secs(120)));
        assert_eq!(p.retry_after(Some("900"), 1), Ok(Duration::from_secs(900)));
    }

    #[test]
    fn a_retry_after_beyond_the_bound_is_refused_not_shortened() {
        // Resending before the server's time only earns another 429 (or worse): a wait longer
        // than dmgmt is willing to make fails the call instead.
        let p = RetryPolicy::default();
        assert_eq!(p.max_retry_after, Duration::from_secs(15 * 60));
        assert_eq!(p.retry_after(Some("901"), 1), Err(Duration::from_secs(901)));
        assert_eq!(
            p.retry_after(Some("3600"), 1),
            Err(Duration::from_secs(3600))
        );
    }

    #[test]
    fn retry_after_as_an_http_date_is_the_wait_until_then() {
        let p = RetryPolicy::default();
        let now: jiff::Timestamp = "2026-12-05T10:00:00Z".parse().unwrap();
        let date = Some("Sat, 05 Dec 2026 10:00:07 GMT");
        assert_eq!(p.retry_after_at(date, 1, now), Ok(Duration::from_secs(7)));
        let past = Some("Sat, 05 Dec 2026 09:59:00 GMT");
        assert_eq!(p.retry_after_at(past, 1, now), Ok(Duration::from_secs(1)));
        let later = Some("Sat, 05 Dec 2026 10:05:00 GMT");
        assert_eq!(
            p.retry_after_at(later, 1, now),
            Ok(Duration::from_secs(300))
        );
        let far = Some("Sun, 06 Dec 2026 10:00:00 GMT");
        assert_eq!(
            p.retry_after_at(far, 1, now),
            Err(Duration::from_secs(86_400))
        );
    }

    #[test]
    fn a_retry_after_asking_for_no_wait_gets_a_growing_floor() {
        let p = RetryPolicy::default();
        let waits: Vec<u64> = (1..=6)
            .map(|w| p.retry_after(Some("0"), w).map(|d| d.as_secs()))
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(
            p.retry_after(Some("0.5"), 3),
            Ok(Duration::from_secs(4)),
            "less than the least wait"
        );
        assert_eq!(
            p.retry_after(Some("1"), 4),
            Ok(Duration::from_secs(1)),
            "what a server asks for is what it gets"
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.backoff(1, 0.0), Duration::from_millis(100));
        assert_eq!(p.backoff(1, 1.0), Duration::from_millis(200));
        assert_eq!(p.backoff(3, 1.0), Duration::from_millis(800));
        assert_eq!(p.backoff(30, 1.0), Duration::from_secs(5));
    }

    #[test]
    fn jitter_spreads_over_the_unit_interval() {
        let draws: Vec<f64> = (0..200).map(|_| jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..1.0).contains(j)), "{draws:?}");
        // Parallel callers spread out only if the draws do: both halves are hit, and no value
        // repeats much (a constant or a stuck generator fails here).
        assert!(draws.iter().any(|&j| j < 0.5) && draws.iter().any(|&j| j >= 0.5));
        let distinct: std::collections::BTreeSet<u64> = draws.iter().map(|j| j.to_bits()).collect();
        assert!(distinct.len() > 190, "{} distinct of 200", distinct.len());
    }

    #[tokio::test(start_paused = true)]
    async fn every_caller_waits_for_the_pause() {
        let gate = Arc::new(PauseGate::default());
        let start = Instant::now();
        gate.pause_for(Duration::from_secs(10));
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let gate = gate.clone();
                tokio::spawn(async move {
                    gate.wait(&TokioSleeper).await;
                    Instant::now()
                })
            })
            .collect();
        for w in waiters {
            assert_eq!(w.await.unwrap() - start, Duration::from_secs(10));
        }
        // A shorter pause never cuts a longer one short.
        gate.pause_for(Duration::from_secs(30));
        gate.pause_for(Duration::from_secs(5));
        let t = Instant::now();
        gate.wait(&TokioSleeper).await;
        assert_eq!(Instant::now() - t, Duration::from_secs(30));
    }
}
