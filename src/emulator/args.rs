//! Options of the emulator: the `clap` arguments of `dmgmt emulator` and the resolved config that
//! [`super::start`] takes.
//!
//! Parsing and defaults only; nothing here binds, reads files or serves.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use super::{LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID};

/// Default address of a standalone emulator: loopback and a fixed port, so an environment file or
/// an SDK can name it. Embedded use binds an ephemeral port instead.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:4590";

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

fn parse_fault_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("expected a fraction between 0 and 1, got `{s}`")),
    }
}

/// `dmgmt emulator` options (flattened into the CLI).
#[derive(Debug, Clone, clap::Args)]
pub struct EmulatorArgs {
    /// Address to listen on; loopback by default. Port 0 picks a free port.
    #[arg(long, value_name = "ADDR", default_value = DEFAULT_LISTEN)]
    pub listen: SocketAddr,
    /// Project id clients must send in `Authorization: Bearer <project>:<key>`.
    #[arg(long, value_name = "P", default_value = LOCAL_PROJECT_ID)]
    pub project_id: String,
    /// Management key clients must send; the default is a fixed local key that needs no set-up.
    #[arg(long, value_name = "K", default_value = LOCAL_MANAGEMENT_KEY, hide_default_value = true)]
    pub management_key: String,
    /// Persist the data to FILE: loaded on start; each change is appended to FILE.journal
    /// and folded into FILE now and then, atomically.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Answer 429 + `Retry-After` once more than N requests arrive within SECONDS.
    #[arg(long, value_name = "N/SECONDS")]
    pub rate_limit: Option<EmulatorRateLimit>,
    /// Fraction of mutating calls answered 503 before doing anything.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_fault_rate)]
    pub fault_rate: f64,
    /// Fraction of mutating calls carried out (committed, persisted) and then answered 502: the
    /// reply is "lost", as after a gateway timeout. Independent of `--fault-rate`.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_fault_rate)]
    pub lost_reply_rate: f64,
    /// Seed of the fault injection (`--fault-rate`, `--lost-reply-rate`), for reproducible runs.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub seed: u64,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub latency_ms: u64,
    /// Append every request (method, path, status, JSON body) to FILE as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub request_log: Option<PathBuf>,
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
        }
    }
}

impl From<EmulatorArgs> for EmulatorConfig {
    fn from(a: EmulatorArgs) -> Self {
        EmulatorConfig {
            listen: a.listen,
            project_id: a.project_id,
            management_key: a.management_key,
            data: a.data,
            rate_limit: a.rate_limit,
            fault_rate: a.fault_rate,
            lost_reply_rate: a.lost_reply_rate,
            seed: a.seed,
            latency: Duration::from_millis(a.latency_ms),
            request_log: a.request_log,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: EmulatorArgs,
    }

    #[test]
    fn defaults_bind_loopback_with_the_local_project() {
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert!(cli.args.listen.ip().is_loopback());
        assert_eq!(cli.args.project_id, LOCAL_PROJECT_ID);
        assert_eq!(cli.args.fault_rate, 0.0);
        assert_eq!(cli.args.lost_reply_rate, 0.0);
    }

    #[test]
    fn parses_rate_limit_and_rejects_bad_fractions() {
        let cli = Cli::try_parse_from(["x", "--rate-limit", "5/2", "--fault-rate", "0.3"]).unwrap();
        assert_eq!(
            cli.args.rate_limit,
            Some(EmulatorRateLimit {
                requests: 5,
                per_seconds: 2
            })
        );
        assert!(Cli::try_parse_from(["x", "--rate-limit", "5"]).is_err());
        assert!(Cli::try_parse_from(["x", "--rate-limit", "0/1"]).is_err());
        assert!(Cli::try_parse_from(["x", "--fault-rate", "1.5"]).is_err());
        let cli = Cli::try_parse_from(["x", "--lost-reply-rate", "0.25"]).unwrap();
        assert_eq!(EmulatorConfig::from(cli.args).lost_reply_rate, 0.25);
        assert!(Cli::try_parse_from(["x", "--lost-reply-rate", "-0.1"]).is_err());
    }
}
