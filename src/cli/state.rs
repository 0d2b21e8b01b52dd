//! `dmgmt state list | show ADDR | rm ADDR` and `dmgmt unlock`. `rm` is `ops::forget_resource`.

use super::args::{StateCommand, UnlockArgs};
use super::shell::Shell;
use crate::config::Project;
use crate::error::{Result, exit};
use crate::ops;
use crate::state::{StateStore, WriteOutcome};

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
            let env_lookup = |v: &str| std::env::var(v).ok();
            let ctx = super::context(project, &env_lookup, lock.lock_timeout, shell);
            super::announce_lock_wait(shell, &ctx, env);
            // Interruptible like every command that takes the lock: Ctrl-C while waiting for it
            // (`--lock-timeout`) ends the command; the rest is synchronous and quick.
            let written = super::interruptible(ops::forget_resource(&ctx, env, addr))?;
            match super::audited(shell, written) {
                WriteOutcome::Written { serial } => shell.status(format!(
                    "Removed `{addr}` from the state of `{env}` (serial {serial}; the previous state is in `{}`). It still exists in Descope; dmgmt no longer manages it.",
                    store.backup_path().display()
                )),
                WriteOutcome::Unchanged => {}
            }
            // `state rm` needs no configuration; when it loads and still declares the resource,
            // the next plan adopts the live object again.
            let declared = super::load(project, env)
                .desired
                .is_some_and(|d| d.addresses().contains(addr));
            if declared {
                shell.warn(format!(
                    "`{addr}` is still declared in the configuration of `{env}`: the next plan adopts it again. To stop managing it for good, remove it from the configuration too."
                ));
            }
        }
    }
    Ok(exit::SUCCESS)
}

pub(crate) fn unlock_cmd(project: &Project, args: &UnlockArgs, shell: &Shell) -> Result<i32> {
    project.require_environment(&args.env.env)?;
    let info = ops::break_lock(
        &project.state_dir(),
        &args.env.env,
        &args.lock_id,
        args.force,
    )?;
    let info = super::audited(shell, info);
    shell.status(format!(
        "Unlocked the state of `{}` (was held by {}).",
        args.env.env,
        info.describe()
    ));
    Ok(exit::SUCCESS)
}
