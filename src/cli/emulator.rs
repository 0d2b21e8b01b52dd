//! `dmgmt emulator`: the emulator's command line, and serving it in the foreground until Ctrl-C
//! or SIGTERM. The emulator itself (`crate::emulator`) knows no clap, signals or stdout.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use crate::emulator::{
    self, DEFAULT_LISTEN, EmulatorConfig, EmulatorRateLimit, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID,
};
use crate::error::{Error, ErrorKind, Result};

fn parse_fault_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!("expected a fraction between 0 and 1, got `{s}`")),
    }
}

/// `HOST:PORT`, where HOST may be a name (`localhost:8787`), resolved once at start; an IPv4
/// address is preferred when the name has both, as the printed URL is what clients copy.
fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if !s.contains(':') {
        return Err(format!(
            "expected HOST:PORT (e.g. `127.0.0.1:8787`), got `{s}`"
        ));
    }
    let addrs: Vec<SocketAddr> = std::net::ToSocketAddrs::to_socket_addrs(s)
        .map_err(|e| format!("cannot resolve `{s}`: {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| format!("`{s}` resolves to no address"))
}

/// A project id that an environment's `project_id` accepts too (an emulator whose id no
/// environment can name is of no use).
fn parse_project_id(s: &str) -> Result<String, String> {
    if crate::config::schema::is_project_id(s) {
        Ok(s.to_owned())
    } else {
        Err(format!(
            "`{s}` {}, as an environment's `project_id` must be",
            crate::config::schema::PROJECT_ID_RULE
        ))
    }
}

/// `dmgmt emulator` options (flattened into the CLI).
#[derive(Debug, Clone, clap::Args)]
pub(crate) struct EmulatorArgs {
    /// Address to listen on; loopback by default. Port 0 picks a free port.
    #[arg(long, value_name = "HOST:PORT", default_value = DEFAULT_LISTEN, value_parser = parse_listen)]
    pub(crate) listen: SocketAddr,
    /// Project id clients must send in `Authorization: Bearer <project>:<key>`.
    #[arg(long, value_name = "P", default_value = LOCAL_PROJECT_ID, value_parser = parse_project_id)]
    pub(crate) project_id: String,
    /// Management key clients must send; the default is a fixed local key that needs no set-up.
    #[arg(long, value_name = "K", default_value = LOCAL_MANAGEMENT_KEY, hide_default_value = true)]
    pub(crate) management_key: String,
    /// Persist the data to FILE: loaded on start; each change is appended to FILE.journal
    /// and folded into FILE now and then, atomically.
    #[arg(long, value_name = "FILE")]
    pub(crate) data: Option<PathBuf>,
    /// Answer 429 + `Retry-After` once more than N requests arrive within SECONDS.
    #[arg(long, value_name = "N/SECONDS")]
    pub(crate) rate_limit: Option<EmulatorRateLimit>,
    /// Fraction of mutating calls answered 503 before doing anything.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_fault_rate)]
    pub(crate) fault_rate: f64,
    /// Fraction of mutating calls carried out (committed, persisted) and then answered 502: the
    /// reply is "lost", as after a gateway timeout. Independent of `--fault-rate`.
    #[arg(long, value_name = "F", default_value_t = 0.0, value_parser = parse_fault_rate)]
    pub(crate) lost_reply_rate: f64,
    /// Seed of the fault injection (`--fault-rate`, `--lost-reply-rate`), for reproducible runs.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub(crate) seed: u64,
    /// Delay added to every answer, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 0)]
    pub(crate) latency_ms: u64,
    /// Append every request (method, path, status, JSON body) to FILE as JSON lines.
    #[arg(long, value_name = "FILE")]
    pub(crate) request_log: Option<PathBuf>,
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
            variant: Default::default(),
        }
    }
}

/// Ctrl-C, or SIGTERM on unix (so a test or service manager stops it gracefully too). Registers
/// for both before returning, so a signal sent as soon as the address is printed is caught; the
/// returned future waits for either.
fn stop_signal() -> Result<impl std::future::Future<Output = ()>> {
    let failed =
        |e: std::io::Error| Error::new(ErrorKind::Io, "cannot wait for Ctrl-C").caused_by(&e);
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate()).map_err(failed)?;
        let mut interrupt = signal(SignalKind::interrupt()).map_err(failed)?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        let _ = failed;
        Ok(async {
            // Without a handler Ctrl-C ends the process, which is the same stop.
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}

/// `dmgmt emulator`: serves until Ctrl-C (or SIGTERM). The first stdout line is `listening on http://ADDR`.
pub(crate) fn run(args: EmulatorArgs) -> Result<()> {
    let project_id = args.project_id.clone();
    // The key is shown only when it is the fixed local one: a key of the user's own stays out
    // of the output (and of any log it is redirected to).
    let key = if args.management_key == LOCAL_MANAGEMENT_KEY {
        LOCAL_MANAGEMENT_KEY
    } else {
        "<--management-key>"
    };
    let serve = async move {
        let handle = emulator::start(args.into()).await?;
        let stop = stop_signal()?;
        let url = handle.base_url();
        let cannot_write =
            |e: std::io::Error| Error::new(ErrorKind::Io, "cannot write to stdout").caused_by(&e);
        // One write: a reader that takes only the first line (`listening on`) and closes the
        // pipe has the rest in the pipe already.
        let intro = format!(
            "listening on {url}\nproject {project_id}; clients authenticate with the header\n  Authorization: Bearer {project_id}:{key}\ne.g. curl -s -H 'Authorization: Bearer {project_id}:{key}' {url}/v1/mgmt/tenant/all\nCtrl-C stops it.\n"
        );
        let mut out = std::io::stdout().lock();
        out.write_all(intro.as_bytes())
            .and_then(|()| out.flush())
            .map_err(cannot_write)?;
        drop(out);
        stop.await;
        handle.shutdown().await.map_err(|e| {
            Error::new(ErrorKind::Io, "the emulator stopped with an error").caused_by(&e)
        })?;
        // Best effort: whoever started it may have stopped reading long ago.
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "emulator stopped").and_then(|()| out.flush());
        Ok(())
    };
    match tokio::runtime::Handle::try_current() {
        Ok(rt) if rt.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(|| rt.block_on(serve))
        }
        Ok(_) => Err(Error::internal(
            "`dmgmt emulator` needs a multi-thread runtime or none",
        )),
        Err(_) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(|e| Error::new(ErrorKind::Io, "cannot start the async runtime").caused_by(&e))?
            .block_on(serve),
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
    fn listen_accepts_a_host_name() {
        let cli = Cli::try_parse_from(["x", "--listen", "localhost:0"]).unwrap();
        assert!(cli.args.listen.ip().is_loopback(), "{}", cli.args.listen);
        let cli = Cli::try_parse_from(["x", "--listen", "127.0.0.1:8787"]).unwrap();
        assert_eq!(cli.args.listen.port(), 8787);
        assert!(Cli::try_parse_from(["x", "--listen", "localhost"]).is_err());
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
