//! `dmgmt state list | show ADDR | rm ADDR` and `dmgmt unlock`. `rm` is `ops::forget_resource`.

use super::args::{StateCommand, UnlockArgs};
use super::shell::Shell;
use crate::config::Project;
use crate::error::{Result, exit};
use crate::ops;
use crate::state::{AuditChange, AuditRecord, StateStore, WriteOutcome, unlock};

pub(crate) fn run(project: &Project, command: &StateCommand, shell: &Shell) -> Result<i32> {
    let (env, store) = match command {
        StateCommand::List(e)
        | StateCommand::Show { env: e, .. }
        | StateCommand::Rm { env: e, .. } => {
            project.require_environment(&e.env)?;
            (&e.env, StateStore::new(project.state_dir(), &e.env))
        }
    };
    let no_state = || ops::no_state(env);
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
                .ok_or_else(|| ops::not_managed(env, addr))?;
            shell.out(serde_json::to_string_pretty(entry).unwrap_or_default());
        }
        StateCommand::Rm { addr, lock, .. } => {
            let dir = project.state_dir();
            // Interruptible like every command that takes the lock: Ctrl-C while waiting for it
            // (`--lock-timeout`) ends the command; the rest is synchronous and quick.
            let forgotten =
                super::interruptible(ops::forget_resource(&dir, env, addr, lock.lock_timeout))?;
            let mut record = AuditRecord::new(env, &forgotten.project_id, "state rm");
            record.changes.push(AuditChange {
                addr: addr.to_string(),
                action: "forget".to_owned(),
                outcome: "applied".to_owned(),
                error: None,
            });
            super::record_audit(shell, &dir, &record);
            match forgotten.outcome {
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

pub(crate) fn unlock_cmd(project: &Project, args: &UnlockArgs, shell: &Shell) -> Result<i32> {
    project.require_environment(&args.env.env)?;
    let info = unlock(
        &project.state_dir(),
        &args.env.env,
        &args.lock_id,
        args.force,
    )?;
    let project_id = StateStore::new(project.state_dir(), &args.env.env)
        .load()
        .ok()
        .flatten()
        .map(|s| s.project_id)
        .unwrap_or_default();
    let mut record = AuditRecord::new(&args.env.env, &project_id, "unlock");
    record.broke_lock = Some(info.holder());
    super::record_audit(shell, &project.state_dir(), &record);
    shell.status(format!(
        "Unlocked the state of `{}` (was held by {}).",
        args.env.env,
        info.describe()
    ));
    Ok(exit::SUCCESS)
}
