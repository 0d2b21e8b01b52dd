//! `dmgmt state list | show ADDR | rm ADDR` and `dmgmt unlock`.

use super::args::{StateCommand, UnlockArgs};
use super::shell::Shell;
use crate::config::Project;
use crate::error::{Error, Result, exit};
use crate::ops;
use crate::state::{AuditChange, AuditRecord, StateStore, WriteOutcome, unlock};

pub fn run(project: &Project, command: &StateCommand, shell: &Shell) -> Result<i32> {
    let (env, store) = match command {
        StateCommand::List(e)
        | StateCommand::Show { env: e, .. }
        | StateCommand::Rm { env: e, .. } => {
            project.require_environment(&e.env)?;
            (&e.env, StateStore::new(project.state_dir(), &e.env))
        }
    };
    let no_state = || {
        Error::new(crate::ErrorKind::State, format!("`{env}` has no state yet")).hint(format!(
            "run `dmgmt refresh -e {env}` or `dmgmt apply -e {env}` first"
        ))
    };
    match command {
        StateCommand::List(_) => {
            let Some(state) = store.load()? else {
                shell.status(format!("`{env}` has no state yet: nothing is managed."));
                return Ok(exit::SUCCESS);
            };
            if state.resources.is_empty() {
                shell.status(format!("The state of `{env}` manages nothing yet."));
            }
            for addr in state.resources.keys() {
                shell.out(addr.to_string());
            }
        }
        StateCommand::Show { addr, .. } => {
            let state = store.load()?.ok_or_else(no_state)?;
            let entry = state
                .resources
                .get(addr)
                .ok_or_else(|| not_managed(env, addr))?;
            shell.out(serde_json::to_string_pretty(entry).unwrap_or_default());
        }
        StateCommand::Rm { addr, lock, .. } => {
            let dir = project.state_dir();
            // Interruptible like every command that takes the lock: Ctrl-C while waiting for it
            // (`--lock-timeout`) ends the command; the rest is synchronous and quick.
            let written = super::interruptible(async {
                let _lock = ops::acquire_lock(&dir, env, "state rm", lock.lock_timeout).await?;
                let mut state = store.load()?.ok_or_else(no_state)?;
                if state.resources.remove(addr).is_none() {
                    return Err(not_managed(env, addr));
                }
                Ok((store.write(&mut state)?, state.project_id.clone()))
            })?;
            let mut record = AuditRecord::new(env, &written.1, "state rm");
            record.changes.push(AuditChange {
                addr: addr.to_string(),
                action: "forget".to_owned(),
                outcome: "applied".to_owned(),
                error: None,
            });
            super::record_audit(shell, &dir, &record);
            match written.0 {
                WriteOutcome::Written { serial } => shell.status(format!(
                    "Removed `{addr}` from the state of `{env}` (serial {serial}; the previous state is in `{}`). It still exists in Descope; dmgmt no longer manages it.",
                    store.backup_path().display()
                )),
                WriteOutcome::Unchanged => {}
            }
        }
    }
    Ok(exit::SUCCESS)
}

fn not_managed(env: &str, addr: &crate::model::ResourceAddr) -> Error {
    Error::new(
        crate::ErrorKind::State,
        format!("`{addr}` is not in the state of `{env}`"),
    )
    .hint(format!("`dmgmt state list -e {env}` lists what is managed"))
}

pub fn unlock_cmd(project: &Project, args: &UnlockArgs, shell: &Shell) -> Result<i32> {
    project.require_environment(&args.env.env)?;
    let info = unlock(&project.state_dir(), &args.env.env, &args.lock_id)?;
    let project_id = StateStore::new(project.state_dir(), &args.env.env)
        .load()
        .ok()
        .flatten()
        .map(|s| s.project_id)
        .unwrap_or_default();
    let record = AuditRecord::new(&args.env.env, &project_id, "unlock");
    super::record_audit(shell, &project.state_dir(), &record);
    shell.status(format!(
        "Unlocked the state of `{}` (was held by {}).",
        args.env.env,
        info.describe()
    ));
    Ok(exit::SUCCESS)
}
