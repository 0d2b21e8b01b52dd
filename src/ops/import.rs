//! `import` (docs/reference.md, `import`): read the whole live project (every flow of the flow list
//! exported, and the theme), find what is unmanaged — live, neither declared nor in state — and,
//! with `write`, add it to the configuration and adopt it into the state.
//!
//! Where it goes: a generated file, `environments/shared/<env>-imported.yaml`, that the
//! environment includes (the `include:` line is added to its file with the smallest textual
//! edit, so its comments and layout stay), and one template per flow and for the theme in
//! `environments/flows/` (see [`super::import_files`]). What is imported:
//! - every unmanaged permission, role (tenant-scoped ones with `tenant:`), tenant and flow;
//! - the theme, when neither the configuration nor the state manages it;
//! - never a system-default permission (roles reference them; they are never declared);
//! - `Tenant Admin` only when someone changed it (its permissions are not exactly Descope's
//!   system-default ones) or an imported tenant lists it as a default role: untouched, it stays
//!   Descope's own, as in every project.
//!
//! Before the state is written the written configuration is loaded and planned against the same
//! live read: every imported object must plan as an adoption with nothing to change. If not, the
//! files are put back as they were and nothing is adopted. Never prints.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::Context;
use super::import_files::{self, Imported};
use super::live::RefreshObserver;
use super::plan::{make_plan, prior_from_state};
use super::session::{Access, Recorded, Scope, Session};
use crate::config::include_edit::{IncludeEdit, add_include};
use crate::config::{Project, Severity};
use crate::error::{Error, Result, exit};
use crate::model::preconfigured::{SYSTEM_DEFAULT_PERMISSIONS, TENANT_ADMIN_ROLE};
use crate::model::{DesiredState, ResourceAddr, Snapshot};
use crate::plan::{Action, PlanInput, unmanaged};
use crate::state::audit::AuditChange;
use crate::state::{StateFile, WriteOutcome};

/// What happens to one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileAction {
    Create,
    Update,
    /// The environment file gets the include line.
    Include,
}

/// One file import writes (or would write), as shown: relative to the project root.
#[derive(Debug, Clone)]
pub(crate) struct FileChange {
    pub(crate) path: String,
    pub(crate) action: FileAction,
}

/// What an import found and did.
pub(crate) struct ImportOutcome {
    /// The objects imported (or, without `write`, to import), in address order.
    pub(crate) objects: Vec<ResourceAddr>,
    pub(crate) files: Vec<FileChange>,
    /// Whether the files and the state were written.
    pub(crate) written: bool,
    /// The state write, when written.
    pub(crate) state: Option<WriteOutcome>,
    pub(crate) serial: Option<u64>,
    /// The generated file, relative to `environments/`.
    pub(crate) generated: String,
}

/// A file to write: where, what, and what was there (for putting it back).
struct Planned {
    path: PathBuf,
    text: String,
    before: Option<String>,
    change: FileChange,
}

/// Reads the live project and imports what is unmanaged (see the module docs). Without `write`,
/// takes no lock and writes nothing; with it, the audit line names every object adopted.
pub(crate) async fn import_environment(
    ctx: &Context<'_>,
    project: &Project,
    desired: &DesiredState,
    write: bool,
    observer: &dyn RefreshObserver,
) -> Result<Recorded<ImportOutcome>> {
    let env = &desired.environment;
    let access = if write { Access::Write } else { Access::Read };
    let opening = ("import", Scope::Everything, access);
    let session = Session::open(ctx, desired, opening, observer).await?;
    let (state, snapshot) = (session.state.as_ref(), &session.snapshot);
    let objects = to_import(desired, snapshot, state);
    let generated = import_files::generated_path(env);
    let mut outcome = ImportOutcome {
        objects: objects.clone(),
        files: Vec::new(),
        written: false,
        state: None,
        serial: state.map(|s| s.serial),
        generated: generated.clone(),
    };
    let unwritten = |value| Recorded { value, audit: None };
    if objects.is_empty() {
        return Ok(unwritten(outcome));
    }
    let planned = plan_files(project, desired, snapshot, &objects, &generated)?;
    outcome.files = planned.iter().map(|p| p.change.clone()).collect();
    if !write {
        return Ok(unwritten(outcome));
    }

    write_files(&planned)?;
    let adopted = match verify(project, ctx, &session, &objects) {
        Ok(adopted) => adopted,
        Err(e) => {
            let restored = restore_files(&planned);
            return Err(match restored {
                Ok(()) => {
                    e.hint("the files import wrote were put back as they were; nothing was adopted")
                }
                Err(r) => e.cause(r.message().to_owned()),
            });
        }
    };
    let Session { held, state, .. } = session;
    let mut state = state.unwrap_or_else(|| StateFile::new(env, &desired.project_id));
    for change in &adopted {
        super::apply::record(&mut state, change, None);
    }
    let written = held.store.write(&mut state)?;
    outcome.written = true;
    outcome.state = Some(written);
    outcome.serial = Some(state.serial);
    let audit = held.finish(exit::SUCCESS, |r| {
        r.changes = outcome.objects.iter().map(adoption).collect();
    });
    let value = outcome;
    Ok(Recorded { value, audit })
}

/// The live objects to import (see the module docs), in address order.
fn to_import(
    desired: &DesiredState,
    snapshot: &Snapshot,
    state: Option<&StateFile>,
) -> Vec<ResourceAddr> {
    let declared = desired.addresses();
    let prior = prior_from_state(state.map(|s| s.resources.clone()).unwrap_or_default());
    let mut out: BTreeSet<ResourceAddr> = unmanaged(&PlanInput {
        desired,
        snapshot,
        prior: &prior,
        targets: &[],
    })
    .into_iter()
    .collect();
    let managed = |a: &ResourceAddr| declared.contains(a) || prior.contains_key(a);
    if snapshot.get(&ResourceAddr::Theme).is_some() && !managed(&ResourceAddr::Theme) {
        out.insert(ResourceAddr::Theme);
    }
    let admin = ResourceAddr::role(None, TENANT_ADMIN_ROLE);
    if let Some(live) = snapshot.get(&admin)
        && !managed(&admin)
    {
        let defaults: BTreeSet<&str> = SYSTEM_DEFAULT_PERMISSIONS.into_iter().collect();
        let grants: BTreeSet<&str> = live.attributes["permissions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let referenced = out.iter().any(|a| {
            matches!(a, ResourceAddr::Tenant(_))
                && snapshot.get(a).is_some_and(|t| {
                    t.attributes["default_roles"]
                        .as_array()
                        .is_some_and(|r| r.iter().any(|r| r == TENANT_ADMIN_ROLE))
                })
        });
        if grants != defaults || referenced {
            out.insert(admin);
        }
    }
    out.into_iter().collect()
}

/// The files to write: a template per flow and the theme, the generated file, the include line.
fn plan_files(
    project: &Project,
    desired: &DesiredState,
    snapshot: &Snapshot,
    objects: &[ResourceAddr],
    generated: &str,
) -> Result<Vec<Planned>> {
    let mut planned: Vec<Planned> = Vec::new();
    let entries = entries(project, desired, snapshot, objects, &mut planned)?;
    planned.push(generated_file(project, desired, generated, &entries)?);
    planned.extend(include(project, &desired.environment, generated)?);
    Ok(planned)
}

/// The generated file's entry of each object; a flow's or the theme's template file is added to
/// `planned` (when its content differs from what is on disk).
fn entries(
    project: &Project,
    desired: &DesiredState,
    snapshot: &Snapshot,
    objects: &[ResourceAddr],
    planned: &mut Vec<Planned>,
) -> Result<Vec<(ResourceAddr, Value)>> {
    let env = &desired.environment;
    let mut entries: Vec<(ResourceAddr, Value)> = Vec::new();
    for addr in objects {
        let Some(live) = snapshot.get(addr) else {
            continue;
        };
        let object = Imported {
            addr,
            attributes: &live.attributes,
            raw: live.raw.to_value(),
        };
        if let Some(entry) = import_files::entry(&object) {
            entries.push((addr.clone(), entry));
            continue;
        }
        let stem = match addr {
            ResourceAddr::Flow(id) => import_files::file_stem(id),
            _ => "theme".to_owned(),
        };
        let text = import_files::template_text(&object.raw);
        let template = template_path(project, planned, &stem, env, &text).ok_or_else(|| {
            Error::config(format!(
                "cannot choose a template file for `{addr}`: `flows/{stem}.json` and `flows/{stem}.{env}.json` both exist with other content"
            ))
            .hint("move one of them away, then import again")
        })?;
        let path = project.env_dir().join(&template);
        if path_text(&path).as_deref() != Some(text.as_str()) {
            planned.push(planned_file(project, path, text));
        }
        entries.push((addr.clone(), import_files::template_entry(addr, &template)));
    }
    Ok(entries)
}

/// The generated file, with `entries` added to what it holds.
fn generated_file(
    project: &Project,
    desired: &DesiredState,
    generated: &str,
    entries: &[(ResourceAddr, Value)],
) -> Result<Planned> {
    let env = &desired.environment;
    let path = project.env_dir().join(generated);
    let before = path_text(&path);
    let existing = match &before {
        Some(text) => Some(read_generated(text).ok_or_else(|| {
            Error::config(format!(
                "`environments/{generated}` is not valid YAML; import adds to it"
            ))
            .hint("fix or remove it, then import again")
        })?),
        None => None,
    };
    let header = [
        format!(
            "Imported by `dmgmt import -e {env}` from Descope project {}:",
            desired.project_id
        ),
        "what was live but neither declared nor managed. environments/".to_owned()
            + env
            + ".yaml includes it.",
        "A later import that finds more rewrites this file (sorted by kind, then key; comments"
            .to_owned(),
        "are not kept): edit values here freely, or move definitions into the environment's file."
            .to_owned(),
    ];
    let text = import_files::generated_file(&header, existing.as_ref(), entries);
    Ok(planned_file(project, path, text))
}

/// The environment's file with the generated file in its `include:` (`None`: it is already).
fn include(project: &Project, env: &str, generated: &str) -> Result<Option<Planned>> {
    let env_path = project.env_file(env);
    let env_text = std::fs::read_to_string(&env_path).map_err(|e| {
        Error::config(format!("cannot read `{}`", project.display(&env_path))).caused_by(&e)
    })?;
    match add_include(&env_text, generated) {
        Ok(IncludeEdit::AlreadyIncluded) => Ok(None),
        Ok(IncludeEdit::Edited(text)) => Ok(Some(Planned {
            change: FileChange {
                path: project.display(&env_path),
                action: FileAction::Include,
            },
            path: env_path,
            text,
            before: Some(env_text),
        })),
        Err(why) => Err(Error::config(format!(
            "cannot add `{generated}` to the `include:` of `{}`: {why}",
            project.display(&env_path)
        ))
        .hint(format!(
            "add `- {generated}` to its `include:` list, then import again"
        ))),
    }
}

fn planned_file(project: &Project, path: PathBuf, text: String) -> Planned {
    let before = path_text(&path);
    Planned {
        change: FileChange {
            path: project.display(&path),
            action: match before {
                Some(_) => FileAction::Update,
                None => FileAction::Create,
            },
        },
        path,
        text,
        before,
    }
}

/// `flows/<stem>.json`, or `flows/<stem>.<env>.json` when the first holds something else (and
/// is not already chosen for another object): the first free or identical one.
fn template_path(
    project: &Project,
    planned: &[Planned],
    stem: &str,
    env: &str,
    text: &str,
) -> Option<String> {
    [
        format!("flows/{stem}.json"),
        format!("flows/{stem}.{env}.json"),
    ]
    .into_iter()
    .find(|rel| {
        let path = project.env_dir().join(rel);
        let taken = planned.iter().any(|p| p.path == path);
        !taken && path_text(&path).is_none_or(|t| t == text)
    })
}

fn path_text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn read_generated(text: &str) -> Option<Value> {
    let file = crate::config::SourceMap::default().add("g".into(), "g".into(), String::new());
    let parsed = crate::config::yaml::parse(file, text);
    if parsed.diagnostics.iter().any(|d| d.is_error()) {
        return None;
    }
    Some(parsed.root.map_or(Value::Null, |r| r.to_json()))
}

fn write_files(planned: &[Planned]) -> Result<()> {
    for (i, p) in planned.iter().enumerate() {
        if let Err(e) = write_text(&p.path, &p.text) {
            let _ = restore_files(&planned[..i]);
            return Err(Error::config(format!("cannot write `{}`", p.change.path))
                .caused_by(&e)
                .hint("nothing was imported: the files written before it were put back"));
        }
    }
    Ok(())
}

/// Puts every file back as it was (removing those import created).
fn restore_files(planned: &[Planned]) -> Result<()> {
    let mut failed = Vec::new();
    for p in planned {
        let result = match &p.before {
            Some(text) => write_text(&p.path, text),
            None => std::fs::remove_file(&p.path),
        };
        if result.is_err() {
            failed.push(p.change.path.clone());
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(Error::config(format!(
            "could not put back {}; check them by hand",
            failed.join(", ")
        )))
    }
}

/// Written atomically: a synced temp file beside the target, then a rename. Configuration is
/// meant for version control: it keeps the mode of the file it replaces, else gets the usual
/// 0644 (not the owner-only mode of what dmgmt writes under `state/`).
fn write_text(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| std::io::Error::other("no parent folder"))?;
    std::fs::create_dir_all(dir)?;
    let permissions = std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions())
        .or_else(crate::state::atomic::shared_permissions);
    let staged = crate::state::atomic::stage(dir, path, text.as_bytes(), permissions)?;
    crate::state::atomic::commit(staged, path)
}

/// Loads the configuration as written now and plans it against the same live read: every
/// imported object must be an adoption with nothing to change. Returns those adoptions.
fn verify(
    project: &Project,
    ctx: &Context<'_>,
    session: &Session<'_>,
    objects: &[ResourceAddr],
) -> Result<Vec<crate::plan::Change>> {
    let env = &session.desired.environment;
    let loaded = crate::config::load(project, env, ctx.env);
    let Some(desired) = loaded.desired else {
        let errors: Vec<String> = loaded
            .diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .take(10)
            .map(|d| {
                let file = &loaded.sources.get(d.span.file).display;
                format!("{file}:{}:{}: {}", d.span.line, d.span.col, d.message)
            })
            .collect();
        let error = Error::config(format!(
            "the imported configuration of `{env}` does not validate"
        ));
        return Err(errors.into_iter().fold(error, Error::cause));
    };
    let (snapshot, prior) = (&session.snapshot, session.prior());
    let saved = make_plan(&desired, snapshot, session.state_ref(), &prior, &[], false)?;
    let imported: BTreeSet<&ResourceAddr> = objects.iter().collect();
    let mut adopted = Vec::new();
    let mut wrong = Vec::new();
    for change in saved.plan.changes {
        if !imported.contains(&change.addr) {
            continue;
        }
        if change.action == Action::Adopt && change.diffs.is_empty() {
            adopted.push(change);
        } else {
            wrong.push(format!(
                "`{}` would not be adopted as it is live",
                change.addr
            ));
        }
    }
    let found: BTreeSet<&ResourceAddr> = adopted.iter().map(|c| &c.addr).collect();
    wrong.extend(
        objects
            .iter()
            .filter(|a| !found.contains(a))
            .map(|a| format!("`{a}` is not declared as it is live")),
    );
    if wrong.is_empty() {
        return Ok(adopted);
    }
    let error = Error::internal(format!(
        "the imported configuration of `{env}` does not match its live project"
    ));
    Err(wrong.into_iter().fold(error, Error::cause))
}

/// An imported object, as the audit line names it: adopted.
fn adoption(addr: &ResourceAddr) -> AuditChange {
    AuditChange {
        addr: addr.to_string(),
        action: "adopt".to_owned(),
        outcome: "applied".to_owned(),
        error: None,
    }
}
