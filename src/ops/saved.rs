//! Saved plans (`plan --out FILE`, then `apply FILE`): reading one back, and refusing it when the
//! world it was computed from has moved (docs/reference.md, `apply`; terraform's lineage/serial
//! check).
//!
//! A saved plan is the user's approval of exactly those changes against exactly that state,
//! configuration and live project; if any of them changed, applying it would do something nobody
//! saw. Pure apart from reading and writing the file; never prints.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::Path;

use serde_json::Value;

use super::plan::SavedPlan;
use crate::error::{Error, Result};
use crate::model::{LiveObject, ResourceAddr, Snapshot};
use crate::plan::{Action, Change, Plan};
use crate::state::StateFile;
use crate::state::atomic;

/// Writes `json` (a saved plan) and a final newline to `path` atomically, through the one atomic
/// write of `state::atomic`: a reader never sees half a plan. Errors name `path` (never the temp
/// file beside it).
pub(crate) fn write_saved_plan(path: &Path, json: &str) -> Result<()> {
    let fail = |e: std::io::Error| {
        Error::new(
            crate::ErrorKind::Io,
            format!("cannot write the plan to `{}`", path.display()),
        )
        .caused_by(&without_temp_path(e))
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::new(
            crate::ErrorKind::Io,
            format!("cannot write the plan to `{}`", path.display()),
        )
        .cause(format!("the folder `{}` does not exist", dir.display())));
    }
    let mut bytes = Vec::with_capacity(json.len() + 1);
    bytes.extend_from_slice(json.as_bytes());
    bytes.push(b'\n');
    let staged = atomic::stage(dir, path, &bytes, None).map_err(fail)?;
    atomic::commit(staged, path).map_err(fail)
}

/// The temp-file library wraps an error with the temp file's own path, which means nothing to the
/// user (and is gone by the time they read it): keep only what went wrong.
fn without_temp_path(e: std::io::Error) -> std::io::Error {
    if e.get_ref().is_some() {
        std::io::Error::from(e.kind())
    } else {
        e
    }
}

/// Reads and parses a saved plan, refusing another format version.
pub(crate) fn read_saved_plan(path: &Path) -> Result<SavedPlan> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::new(
            crate::ErrorKind::Io,
            format!("cannot read the saved plan `{}`", path.display()),
        )
        .caused_by(&e)
    })?;
    let saved: SavedPlan = serde_json::from_str(&text).map_err(|e| {
        Error::config(format!("`{}` is not a saved plan", path.display()))
            .caused_by(&e)
            .hint("save one with `dmgmt plan -e ENV --out FILE`")
    })?;
    if saved.format_version != SavedPlan::FORMAT_VERSION {
        return Err(Error::config(format!(
            "`{}` is a saved plan of format version {}; this dmgmt reads version {}",
            path.display(),
            saved.format_version,
            SavedPlan::FORMAT_VERSION
        ))
        .hint("make a new plan with this dmgmt"));
    }
    // A file anyone can edit: what the executor would be handed is checked before anything is
    // read from Descope or sent to it.
    saved.plan.validate().map_err(|e| {
        Error::config(format!(
            "the saved plan `{}` cannot be carried out; nothing was applied",
            path.display()
        ))
        .caused_by(&e)
        .hint("make a new plan with `dmgmt plan -e ENV --out FILE`")
    })?;
    Ok(saved)
}

/// A saved plan made for another environment or project is refused before anything is read or
/// called: it is not stale, it is someone else's.
pub(crate) fn check_made_for(
    saved: &SavedPlan,
    path: &Path,
    environment: &str,
    project_id: &str,
) -> Result<()> {
    if saved.environment == environment && saved.project_id == project_id {
        return Ok(());
    }
    let made_for = if saved.environment == environment {
        format!("project {}", saved.project_id)
    } else {
        format!("`{}` (project {})", saved.environment, saved.project_id)
    };
    Err(Error::config(format!(
        "the saved plan `{}` was made for {made_for}, not for `{environment}` (project {project_id}); nothing was applied",
        path.display()
    ))
    .hint(format!(
        "apply it with `-e {}`, or make a plan for `{environment}`: `dmgmt plan -e {environment} --out FILE`",
        saved.environment
    )))
}

/// What a saved plan is checked against: the state, configuration and live project as they are
/// now.
pub(crate) struct Now<'a> {
    pub(crate) environment: &'a str,
    pub(crate) project_id: &'a str,
    pub(crate) state: Option<&'a StateFile>,
    pub(crate) config_digest: &'a str,
    pub(crate) snapshot: &'a Snapshot,
}

/// Every reason the saved plan no longer describes what an apply would do; empty when it still
/// does.
pub(crate) fn staleness(saved: &SavedPlan, now: &Now<'_>) -> Vec<String> {
    let mut why = Vec::new();
    if saved.environment != now.environment || saved.project_id != now.project_id {
        why.push(format!(
            "it was made for environment `{}` (project {}), not `{}` (project {})",
            saved.environment, saved.project_id, now.environment, now.project_id
        ));
        return why;
    }
    if saved.refresh_only {
        why.push("it is a refresh-only plan: it holds no change to apply".to_owned());
    }
    match (&saved.state, now.state) {
        (None, None) => {}
        (None, Some(state)) => why.push(format!(
            "the state was created since (now lineage {}, serial {})",
            state.lineage, state.serial
        )),
        (Some(_), None) => why.push("the state it was made against no longer exists".to_owned()),
        (Some(then), Some(state)) if then.lineage != state.lineage => why.push(format!(
            "the state was replaced since (lineage {} then, {} now)",
            then.lineage, state.lineage
        )),
        (Some(then), Some(state)) if then.serial != state.serial => why.push(format!(
            "the state was written since (serial {} then, {} now)",
            then.serial, state.serial
        )),
        _ => {}
    }
    if saved.config_digest != now.config_digest {
        why.push("the configuration changed since".to_owned());
    }
    let by_id: HashMap<&str, &LiveObject> = now
        .snapshot
        .objects
        .values()
        .filter_map(|o| Some((o.id.as_deref()?, o)))
        .collect();
    for change in &saved.plan.changes {
        let live = change
            .live_id
            .as_deref()
            .and_then(|id| by_id.get(id).copied())
            .or_else(|| now.snapshot.get(&change.addr));
        let now_digest = live.map(|o| o.digest.as_str());
        if now_digest != change.live_digest.as_deref() {
            why.push(match (change.live_digest.is_some(), live.is_some()) {
                (false, true) => format!("`{}` was created in Descope since", change.addr),
                (true, false) => format!("`{}` was deleted in Descope since", change.addr),
                _ => format!("`{}` changed in Descope since", change.addr),
            });
        }
    }
    why.dedup();
    why
}

/// Every way the saved plan's changes depart from `now`, the plan dmgmt makes now from the same
/// inputs (configuration, state, live project and targets); empty when each saved change is
/// exactly one that dmgmt plans, with exactly its dependencies. A saved plan may hold fewer
/// changes than `now` (objects that changed since without touching it may add changes of their
/// own, which a new plan will show), but never a change, a body or an order that dmgmt would not
/// plan: a plan file travels (CI artifacts), and an edited one must not be applied as written.
pub(crate) fn departures(saved: &Plan, now: &Plan) -> Vec<String> {
    let key = |c: &Change| (c.addr.clone(), action_key(&c.action));
    let planned: HashMap<(ResourceAddr, String), usize> = now
        .changes
        .iter()
        .enumerate()
        .map(|(i, c)| (key(c), i))
        .collect();
    // Each saved change's position in `now`, when dmgmt plans it.
    let matched: Vec<Option<usize>> = saved
        .changes
        .iter()
        .map(|c| planned.get(&key(c)).copied())
        .collect();
    let mut why = Vec::new();
    let mut seen = HashSet::new();
    for (change, at) in saved.changes.iter().zip(&matched) {
        let action = action_key(&change.action);
        let Some(at) = *at else {
            why.push(format!(
                "`{}`: dmgmt plans no such change ({action})",
                change.addr
            ));
            continue;
        };
        if !seen.insert(at) {
            why.push(format!(
                "`{}`: the {action} is in the plan twice",
                change.addr
            ));
            continue;
        }
        let ours = &now.changes[at];
        if !same_except_order(change, ours) {
            why.push(format!(
                "`{}`: the {action} is not the one dmgmt plans (its body, fields or guard differ)",
                change.addr
            ));
            continue;
        }
        let theirs: Option<BTreeSet<usize>> = change
            .depends_on
            .iter()
            .map(|d| matched.get(d.index()).copied().flatten())
            .collect();
        let ours: BTreeSet<usize> = ours.depends_on.iter().map(|d| d.index()).collect();
        if theirs.as_ref() != Some(&ours) {
            why.push(format!(
                "`{}`: the {action} does not wait for what dmgmt would wait for",
                change.addr
            ));
        }
    }
    why
}

/// The action as a plan file writes it (`update`, `rename from "old"`...).
fn action_key(action: &Action) -> String {
    match action {
        Action::Rename { from } => format!("rename from `{from}`"),
        other => serde_json::to_value(other)
            .ok()
            .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| format!("{other:?}")),
    }
}

/// Equal in everything but the positions of the changes they depend on, which
/// [`departures`] compares by what those changes are. Every field is named, so that a field
/// added to [`Change`] cannot be left out of the comparison unnoticed.
fn same_except_order(a: &Change, b: &Change) -> bool {
    let Change {
        addr,
        action,
        live_id,
        live_digest,
        before,
        after,
        diffs,
        managed_fields,
        guard,
        prevent_destroy,
        depends_on: _,
        warnings,
        moved_from,
        cascades,
    } = a;
    *addr == b.addr
        && *action == b.action
        && *live_id == b.live_id
        && *live_digest == b.live_digest
        && *before == b.before
        && *after == b.after
        && *diffs == b.diffs
        && *managed_fields == b.managed_fields
        && *guard == b.guard
        && *prevent_destroy == b.prevent_destroy
        && *warnings == b.warnings
        && *moved_from == b.moved_from
        && *cascades == b.cascades
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::model::{RawBody, ResourceAddr};
    use crate::ops::plan::StateRef;
    use crate::plan::{Action, Change, Plan, Summary};

    fn object(digest: &str, id: Option<&str>) -> LiveObject {
        LiveObject {
            attributes: json!({}),
            raw: RawBody::from_value(json!({})),
            system_default: false,
            id: id.map(str::to_owned),
            digest: digest.to_owned(),
            attributes_digest: String::new(),
        }
    }

    fn change(addr: &str, digest: Option<&str>, id: Option<&str>) -> Change {
        let action = match digest {
            Some(_) => Action::Update,
            None => Action::Create,
        };
        Change {
            live_id: id.map(str::to_owned),
            live_digest: digest.map(str::to_owned),
            ..Change::bare(addr, action)
        }
    }

    fn saved(state: &StateFile, changes: Vec<Change>) -> SavedPlan {
        SavedPlan {
            format_version: SavedPlan::FORMAT_VERSION,
            dmgmt_version: "0".into(),
            environment: "prod".into(),
            project_id: "P1".into(),
            config_digest: "config".into(),
            state: Some(StateRef {
                lineage: state.lineage.clone(),
                serial: state.serial,
            }),
            snapshot_digest: "snap".into(),
            refresh_only: false,
            targets: Vec::new(),
            vanished: None,
            plan: Plan {
                changes,
                drift: Vec::new(),
                unmanaged: Vec::new(),
                summary: Summary::default(),
            },
        }
    }

    fn snapshot(objects: &[(&str, LiveObject)]) -> Snapshot {
        let objects: BTreeMap<ResourceAddr, LiveObject> = objects
            .iter()
            .map(|(a, o)| (a.parse().unwrap(), o.clone()))
            .collect();
        Snapshot {
            objects,
            digest: "snap".into(),
        }
    }

    #[test]
    fn a_saved_plan_is_stale_when_state_config_or_a_touched_object_moved() {
        let state = StateFile::new("prod", "P1");
        let plan = saved(
            &state,
            vec![
                change("tenant.acme", Some("d1"), None),
                change("role.Viewer", Some("r1"), Some("ROL1")),
                change("tenant.new", None, None),
            ],
        );
        // Renamed in the console since: found by id, same body digest — still fresh.
        let live = snapshot(&[
            ("tenant.acme", object("d1", None)),
            ("role.Viewers", object("r1", Some("ROL1"))),
            ("tenant.other", object("x", None)),
        ]);
        let now = |state, config, snapshot| Now {
            environment: "prod",
            project_id: "P1",
            state,
            config_digest: config,
            snapshot,
        };
        assert_eq!(
            staleness(&plan, &now(Some(&state), "config", &live)),
            Vec::<String>::new()
        );

        let mut written = state.clone();
        written.serial += 1;
        assert_eq!(
            staleness(&plan, &now(Some(&written), "config", &live)),
            ["the state was written since (serial 0 then, 1 now)"]
        );
        let other = StateFile::new("prod", "P1");
        assert!(staleness(&plan, &now(Some(&other), "config", &live))[0].contains("replaced"));
        assert_eq!(
            staleness(&plan, &now(Some(&state), "edited", &live)),
            ["the configuration changed since"]
        );

        let moved = snapshot(&[
            ("tenant.acme", object("d2", None)),
            ("tenant.new", object("n", None)),
        ]);
        assert_eq!(
            staleness(&plan, &now(Some(&state), "config", &moved)),
            [
                "`tenant.acme` changed in Descope since",
                "`role.Viewer` was deleted in Descope since",
                "`tenant.new` was created in Descope since",
            ]
        );
    }

    #[test]
    fn a_plan_for_another_environment_or_a_refresh_only_plan_is_refused() {
        let state = StateFile::new("prod", "P1");
        let mut plan = saved(&state, Vec::new());
        let live = snapshot(&[]);
        let now = Now {
            environment: "staging",
            project_id: "P1",
            state: Some(&state),
            config_digest: "config",
            snapshot: &live,
        };
        assert!(staleness(&plan, &now)[0].contains("made for environment `prod`"));
        plan.refresh_only = true;
        let now = Now {
            environment: "prod",
            ..now
        };
        assert_eq!(
            staleness(&plan, &now),
            ["it is a refresh-only plan: it holds no change to apply"]
        );
    }

    fn plan(changes: Vec<Change>) -> Plan {
        Plan {
            changes,
            drift: Vec::new(),
            unmanaged: Vec::new(),
            summary: Summary::default(),
        }
    }

    #[test]
    fn a_saved_plan_departs_when_a_change_or_its_order_is_not_what_dmgmt_plans() {
        let permission = change("permission.read", None, None);
        let mut role = change("role.Viewer", None, None);
        role.depends_on = crate::plan::ChangeId::list(&[0]);
        let other = change("tenant.other", Some("d"), None);
        let now = plan(vec![permission.clone(), role.clone(), other.clone()]);
        assert_eq!(departures(&now, &now), Vec::<String>::new());

        // Another order, its dependencies pointing at the same changes; a subset that keeps
        // what it needs.
        let mut moved = role.clone();
        moved.depends_on = crate::plan::ChangeId::list(&[1]);
        let reordered = plan(vec![other.clone(), permission.clone(), moved]);
        assert_eq!(departures(&reordered, &now), Vec::<String>::new());
        let subset = plan(vec![permission.clone(), role.clone()]);
        assert_eq!(departures(&subset, &now), Vec::<String>::new());

        // A change whose body was edited, a change dmgmt does not plan, a dependency dropped
        // or pointing nowhere, a change twice.
        let mut edited = other.clone();
        edited.after = Some(json!({"name": "HACKED"}));
        let mut alone = role.clone();
        alone.depends_on = Vec::new();
        let mut dangling = role.clone();
        dangling.depends_on = crate::plan::ChangeId::list(&[9]);
        let forged = change("tenant.customer", Some("c"), None);
        let cases = [
            (
                vec![permission.clone(), role.clone(), edited],
                "`tenant.other`: the update is not the one dmgmt plans (its body, fields or guard differ)",
            ),
            (
                vec![forged],
                "`tenant.customer`: dmgmt plans no such change (update)",
            ),
            (
                vec![permission.clone(), alone],
                "`role.Viewer`: the create does not wait for what dmgmt would wait for",
            ),
            (
                vec![dangling],
                "`role.Viewer`: the create does not wait for what dmgmt would wait for",
            ),
            (
                vec![other.clone(), other.clone()],
                "`tenant.other`: the update is in the plan twice",
            ),
        ];
        for (changes, why) in cases {
            assert_eq!(departures(&plan(changes), &now), [why]);
        }
    }
}
