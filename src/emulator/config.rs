//! Options of the emulator: the config that [`super::start`] takes, its defaults, and the
//! `N/SECONDS` rate limit. The command line that fills it (`dmgmt emulator`) is `cli::emulator`.
//!
//! Values and defaults only; nothing here binds, reads files or serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::variant::DescopeVariant;
use super::{LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID};

/// Default address of a standalone emulator: loopback and a fixed port, so an environment file or
/// an SDK can name it. Embedded use binds an ephemeral port instead.
pub(crate) const DEFAULT_LISTEN: &str = "127.0.0.1:4590";

/// `N/SECONDS`: at most `requests` requests in each window of `per_seconds` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EmulatorRateLimit {
    pub requests: u32,
    pub per_seconds: u32,
}

impl FromStr for EmulatorRateLimit {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || format!("expected `N/SECONDS` with both numbers above zero, got `{s}`");
        let (n, secs) = s.split_once('/').ok_or_else(bad)?;
        let requests: u32 = n.trim().parse().map_err(|_| bad())?;
        let per_seconds: u32 = secs.trim().parse().map_err(|_| bad())?;
        if requests == 0 || per_seconds == 0 {
            return Err(bad());
        }
        Ok(EmulatorRateLimit {
            requests,
            per_seconds,
        })
    }
}

/// Everything [`super::start`] needs.
#[derive(Clone)]
pub struct EmulatorConfig {
    pub listen: SocketAddr,
    pub project_id: String,
    pub management_key: String,
    pub data: Option<PathBuf>,
    pub rate_limit: Option<EmulatorRateLimit>,
    pub fault_rate: f64,
    /// Fraction of mutating calls done and then answered 502 (the reply "lost").
    pub lost_reply_rate: f64,
    pub seed: u64,
    pub latency: Duration,
    pub request_log: Option<PathBuf>,
    /// Where Descope's answer is undocumented, the other plausible one (see [`DescopeVariant`]);
    /// the default is the emulator's normal behaviour. For tests that dmgmt works either way.
    pub variant: DescopeVariant,
}

impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("listen", &self.listen)
            .field("project_id", &self.project_id)
            .field("management_key", &"***")
            .field("data", &self.data)
            .field("rate_limit", &self.rate_limit)
            .field("fault_rate", &self.fault_rate)
            .field("lost_reply_rate", &self.lost_reply_rate)
            .field("seed", &self.seed)
            .field("latency", &self.latency)
            .field("request_log", &self.request_log)
            .field("variant", &self.variant)
            .finish()
    }
}

impl Default for EmulatorConfig {
    /// The embedded emulator: an ephemeral loopback port, the local project and key, in memory.
    fn default() -> Self {
        EmulatorConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            project_id: LOCAL_PROJECT_ID.to_owned(),
            management_key: LOCAL_MANAGEMENT_KEY.to_owned(),
            data: None,
            rate_limit: None,
            fault_rate: 0.0,
            lost_reply_rate: 0.0,
            seed: 1,
            latency: Duration::ZERO,
            request_log: None,
            variant: DescopeVariant::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rate_limits() {
        assert_eq!(
            "5/2".parse::<EmulatorRateLimit>(),
            Ok(EmulatorRateLimit {
                requests: 5,
                per_seconds: 2
            })
        );
        assert!("5".parse::<EmulatorRateLimit>().is_err());
        assert!("0/1".parse::<EmulatorRateLimit>().is_err());
    }
}
