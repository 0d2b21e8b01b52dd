//! Opening the connection to an environment's Descope project: the management key from the
//! process environment (resolved only here, never stored), the base URL, the rate limit; or, for
//! `emulator: true`, the embedded emulator on an ephemeral loopback port with its data in
//! `state/emulator/<env>.json`.

use crate::api::{Client, ClientConfig, ManagementKey, RateLimit};
use crate::emulator::{EmulatorConfig, EmulatorHandle, LOCAL_MANAGEMENT_KEY};
use crate::error::{Error, ErrorKind, Result};
use crate::model::{DesiredState, RetrySettings};
use std::time::Duration;

/// A client for one environment, and the embedded emulator behind it if there is one (it stops
/// when the connection is dropped, folding its journal into `state/emulator/<env>.json`, so
/// that file alone holds the project once the command has ended).
pub(crate) struct Connection {
    pub(crate) client: Client,
    /// Held for its `Drop`: the embedded emulator stops with the connection.
    _emulator: Option<EmulatorHandle>,
}

impl Connection {
    /// Opens the connection: the key from `ctx.env`, the embedded emulator's data in
    /// `ctx.state_dir`, every request reported to `ctx.http_log`.
    pub(crate) async fn open(
        desired: &DesiredState,
        ctx: &super::Context<'_>,
    ) -> Result<Connection> {
        let (state_dir, env) = (ctx.state_dir.as_path(), ctx.env);
        let rate_limit = desired
            .rate_limit
            .map(|r| RateLimit {
                requests: r.requests,
                per_seconds: r.per_seconds,
            })
            .unwrap_or_default();
        if desired.emulator {
            let folder = state_dir.join("emulator");
            crate::state::folder::prepare(state_dir)
                .and_then(|()| crate::state::folder::create_private_dir_all(&folder))
                .map_err(|e| {
                    Error::new(
                        ErrorKind::Io,
                        format!("cannot create the emulator's folder `{}`", folder.display()),
                    )
                    .caused_by(&e)
                })?;
            let data = folder.join(format!("{}.json", desired.environment));
            let config = EmulatorConfig {
                project_id: desired.project_id.clone(),
                management_key: LOCAL_MANAGEMENT_KEY.to_owned(),
                data: Some(data),
                ..EmulatorConfig::default()
            };
            let handle = crate::emulator::start(config).await?;
            let mut client_config = ClientConfig::new(
                desired.project_id.clone(),
                ManagementKey::new(LOCAL_MANAGEMENT_KEY),
            );
            client_config.base_url = Some(handle.base_url());
            // The emulator is local: the project's rate limit protects a real Descope project.
            client_config.rate_limit = RateLimit {
                requests: 10_000,
                per_seconds: 1,
            };
            apply_retry(&mut client_config, &desired.retry);
            client_config.http_log = ctx.http_log.clone();
            return Ok(Connection {
                client: Client::new(client_config)?,
                _emulator: Some(handle),
            });
        }
        let Some(secret) = &desired.management_key else {
            return Err(Error::config(format!(
                "environment `{}` has no `management_key`",
                desired.environment
            ))
            .hint("add `management_key: ${env.DESCOPE_MANAGEMENT_KEY}` to its file"));
        };
        let key = env(&secret.env_var).filter(|k| !k.trim().is_empty()).ok_or_else(|| {
            Error::new(ErrorKind::Config, format!("management key variable `{}` is not set", secret.env_var))
                .hint(format!("export {}=<key> (Descope console > Company > Management Keys); dmgmt never stores it", secret.env_var))
        })?;
        let mut config =
            ClientConfig::new(desired.project_id.clone(), ManagementKey::new(key.trim()));
        config.base_url = desired.base_url.clone();
        config.rate_limit = rate_limit;
        config.key_env = Some(secret.env_var.clone());
        config.http_log = ctx.http_log.clone();
        apply_retry(&mut config, &desired.retry);
        Ok(Connection {
            client: Client::new(config)?,
            _emulator: None,
        })
    }
}

/// The config's retry bounds over the client's defaults.
fn apply_retry(config: &mut ClientConfig, retry: &RetrySettings) {
    let policy = &mut config.retry;
    if let Some(n) = retry.attempts {
        policy.max_attempts = n;
    }
    if let Some(ms) = retry.base_delay_ms {
        policy.base_delay = Duration::from_millis(ms);
    }
    if let Some(ms) = retry.max_delay_ms {
        policy.max_delay = Duration::from_millis(ms);
    }
    if let Some(n) = retry.rate_limit_waits {
        policy.max_rate_limit_retries = n;
    }
    if let Some(s) = retry.timeout_seconds {
        config.timeout = Duration::from_secs(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_retry_bounds_override_only_what_they_set() {
        let mut config = ClientConfig::new("P2testExampleProjectId00001", ManagementKey::new("k"));
        let defaults = config.retry.clone();
        apply_retry(
            &mut config,
            &RetrySettings {
                attempts: Some(2),
                timeout_seconds: Some(5),
                ..RetrySettings::default()
            },
        );
        assert_eq!(config.retry.max_attempts, 2);
        assert_eq!(config.timeout, Duration::from_secs(5));
        assert_eq!(config.retry.base_delay, defaults.base_delay);
        assert_eq!(
            config.retry.max_rate_limit_retries,
            defaults.max_rate_limit_retries
        );
    }
}
