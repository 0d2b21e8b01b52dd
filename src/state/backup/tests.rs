use super::names::{compact_id, is_object_path, parse_id};
use super::write::write_backup_at;
use super::*;
use crate::model::{BackupPolicy, RawBody, ResourceAddr, ResourceKind};
use crate::state::canonical::sha256_hex;
use crate::state::system;
use serde_json::json;
use std::fs;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const ENV: &str = "prod";
const PROJECT: &str = "P2proj";
const DAY: u64 = 86_400;

fn addr(text: &str) -> ResourceAddr {
    text.parse().unwrap()
}

/// Addresses and bodies of a small project, with names that are not safe as file names.
fn sample() -> Vec<(ResourceAddr, RawBody)> {
    [
        ("permission.billing.read", json!({"name": "billing.read"})),
        (
            "role.acme/Viewer",
            json!({"name": "Viewer", "tenantId": "acme"}),
        ),
        ("role.Viewer", json!({"name": "Viewer"})),
        ("role.viewer", json!({"name": "viewer"})),
        (
            "role.Auditor team / EU",
            json!({"name": "Auditor team / EU"}),
        ),
        ("role.Prüfer ✓", json!({"name": "Prüfer ✓"})),
        ("role...", json!({"name": ".."})),
        ("tenant.acme", json!({"id": "acme", "name": "Acme"})),
        (
            "flow.sign-up-or-in",
            json!({"flow": {"id": "sign-up-or-in"}, "screens": []}),
        ),
        ("theme", json!({"theme": {"cssTemplate": {}}})),
    ]
    .into_iter()
    .map(|(a, body)| (addr(a), RawBody::from_value(body)))
    .collect()
}

fn objects(items: &[(ResourceAddr, RawBody)]) -> Vec<BackupObject<'_>> {
    items
        .iter()
        .map(|(addr, body)| BackupObject { addr, body })
        .collect()
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// A backup written as if at `secs` after the epoch.
fn backup_at(state: &Path, secs: u64) -> BackupInfo {
    let items = sample();
    write_backup_at(
        state,
        ENV,
        PROJECT,
        Trigger::PreApply,
        &objects(&items),
        at(secs),
    )
    .unwrap()
}

/// The bundle of backup `info`, one body per line (line breaks dropped).
fn bundle_lines(info: &BackupInfo) -> Vec<String> {
    let text = fs::read_to_string(info.path.join(BUNDLE)).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
    text.lines().map(str::to_owned).collect()
}

/// Rewrites the bundle of backup `info` with `edit` applied to its lines (each written back with
/// a line break).
fn edit_bundle(info: &BackupInfo, edit: impl FnOnce(&mut Vec<String>)) {
    let mut lines = bundle_lines(info);
    edit(&mut lines);
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(info.path.join(BUNDLE), text).unwrap();
}

/// The line (from 1) on which the manifest of `manifest` puts `a`.
fn line_of(manifest: &Manifest, a: &str) -> usize {
    let file = manifest
        .files
        .iter()
        .find(|f| f.address == addr(a))
        .unwrap();
    usize::try_from(file.line.unwrap()).unwrap()
}

#[test]
fn a_backup_round_trips_with_right_checksums() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let items = sample();
    let info = write_backup(&state, ENV, PROJECT, Trigger::PreApply, &objects(&items)).unwrap();
    assert!(parse_id(&info.id).is_some(), "{}", info.id);
    assert_eq!(info.path, state.join("backups").join(ENV).join(&info.id));
    assert_eq!(info.files, items.len());
    let total: usize = items.iter().map(|(_, b)| b.as_str().len()).sum();
    assert_eq!(info.bytes, total as u64);

    let manifest = verify(&state, ENV, &info.id, PROJECT).unwrap();
    assert_eq!(manifest.environment, ENV);
    assert_eq!(manifest.project_id, PROJECT);
    assert_eq!(manifest.trigger, Trigger::PreApply);
    assert_eq!(manifest.dmgmt_version, env!("CARGO_PKG_VERSION"));
    assert!(system::parse_rfc3339_utc(&manifest.created_at).is_some());
    assert_eq!(compact_id(&manifest.created_at), info.id);
    assert_eq!(manifest.files.len(), items.len());
    let lines = bundle_lines(&info);
    assert_eq!(lines.len(), items.len(), "one line per object");
    for (addr, body) in &items {
        let file = manifest.files.iter().find(|f| &f.address == addr).unwrap();
        assert_eq!(file.path, None, "{addr}: no file of its own");
        let line = &lines[line_of(&manifest, &addr.to_string()) - 1];
        assert_eq!(line, body.as_str(), "{addr}: the body exactly");
        assert_eq!(file.sha256, sha256_hex(body.as_str()), "{addr}");
        assert_eq!(file.size, line.len() as u64);
    }
    // Sorted by address, line after line.
    let addresses: Vec<_> = manifest.files.iter().map(|f| f.address.clone()).collect();
    let mut sorted = addresses.clone();
    sorted.sort();
    assert_eq!(addresses, sorted);
    let numbers: Vec<u64> = manifest.files.iter().map(|f| f.line.unwrap()).collect();
    assert_eq!(numbers, (1..=items.len() as u64).collect::<Vec<_>>());
    // Two files: the bundle and the manifest.
    let mut inside: Vec<_> = fs::read_dir(&info.path)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    inside.sort();
    assert_eq!(inside, vec![MANIFEST.to_owned(), BUNDLE.to_owned()]);
    // The manifest on disk says `pre-apply` and holds addresses as text.
    let text = fs::read_to_string(info.path.join(MANIFEST)).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(raw["trigger"], "pre-apply");
    assert_eq!(raw["format_version"], 2);
    assert!(raw["files"][0].get("path").is_none(), "{raw}");
    assert!(
        raw["files"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["address"] == "role.acme/Viewer")
    );
    // Nothing but the backup is left in the environment's folder.
    let names: Vec<_> = fs::read_dir(state.join("backups").join(ENV))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from(&info.id)]);
}

#[test]
fn unusual_names_and_names_that_differ_in_case_are_distinct_objects_of_the_bundle() {
    let dir = tempfile::tempdir().unwrap();
    let info = backup_at(dir.path(), 1_795_611_600);
    let (manifest, bodies) = load(dir.path(), ENV, &info.id, PROJECT).unwrap();
    let lines = bundle_lines(&info);
    for a in [
        "role.acme/Viewer",
        "role.Viewer",
        "role.viewer",
        "role.Auditor team / EU",
        "role.Prüfer ✓",
        "role...",
        "theme",
    ] {
        let (_, body) = bodies.iter().find(|(b, _)| *b == addr(a)).unwrap();
        assert_eq!(lines[line_of(&manifest, a) - 1], body.as_str(), "{a}");
    }
    assert_ne!(
        line_of(&manifest, "role.Viewer"),
        line_of(&manifest, "role.viewer")
    );
    // The shape of the file names format 1 wrote, still checked when such a backup is read.
    for ok in [
        "role/acme%2FViewer.json",
        "role/viewer~2.json",
        "theme/theme.json",
    ] {
        assert!(is_object_path(ok), "{ok}");
    }
    for bad in [
        "../x.json",
        "role/../x.json",
        "role/x.txt",
        "nope/x.json",
        "role/.json",
    ] {
        assert!(!is_object_path(bad), "{bad}");
    }
}

#[test]
fn a_body_with_a_line_break_is_refused_and_leaves_no_backup() {
    let dir = tempfile::tempdir().unwrap();
    let broken: RawBody = serde_json::from_str(r#""{\"name\":\n\"x\"}""#).unwrap();
    let at_addr = addr("role.x");
    let objects = [BackupObject {
        addr: &at_addr,
        body: &broken,
    }];
    let err = write_backup(dir.path(), ENV, PROJECT, Trigger::Manual, &objects).unwrap_err();
    let shown = format!("{err} {:?}", std::error::Error::source(&err));
    assert!(
        shown.contains("role.x") && shown.contains("line break"),
        "{shown}"
    );
    assert_eq!(
        fs::read_dir(backups_dir(dir.path(), ENV)).unwrap().count(),
        0
    );
}

#[test]
fn a_failure_to_write_is_an_error_and_leaves_no_backup() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    fs::write(&state, "not a folder").unwrap();
    let items = sample();
    let err = write_backup(&state, ENV, PROJECT, Trigger::PreApply, &objects(&items)).unwrap_err();
    assert!(matches!(err, BackupError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("backups"), "{err}");

    // The same address twice is refused before anything is written.
    let dir = tempfile::tempdir().unwrap();
    let twice = [items[0].clone(), items[0].clone()];
    let err =
        write_backup(dir.path(), ENV, PROJECT, Trigger::Manual, &objects(&twice)).unwrap_err();
    assert!(
        matches!(err, BackupError::DuplicateAddress { .. }),
        "{err:?}"
    );
    assert!(!dir.path().join("backups").exists());
}

thread_local! {
    /// Makes the object write with this index fail (see [`injected_failure`]).
    static FAIL_AT: std::cell::Cell<Option<usize>> = const { std::cell::Cell::new(None) };
}

/// Called by `write_backup_at` before writing object number `index`.
pub(super) fn injected_failure(index: usize) -> io::Result<()> {
    if FAIL_AT.with(|f| f.get()) == Some(index) {
        return Err(io::Error::other("injected failure"));
    }
    Ok(())
}

#[test]
fn a_failure_midway_leaves_no_folder_that_looks_like_a_backup() {
    let dir = tempfile::tempdir().unwrap();
    backup_at(dir.path(), 1_795_611_600 - DAY);
    let items = sample();
    FAIL_AT.with(|f| f.set(Some(5)));
    let result = write_backup(
        dir.path(),
        ENV,
        PROJECT,
        Trigger::PreApply,
        &objects(&items),
    );
    FAIL_AT.with(|f| f.set(None));
    let err = result.unwrap_err();
    assert!(err.to_string().contains("cannot write"), "{err}");
    // Only the earlier backup: no staging folder, no half backup.
    assert_eq!(
        fs::read_dir(backups_dir(dir.path(), ENV)).unwrap().count(),
        1
    );
    assert_eq!(list(dir.path(), ENV).unwrap().len(), 1);
}

#[test]
fn backups_in_the_same_second_get_distinct_ids_and_list_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let ids: Vec<String> = (0..11)
        .map(|_| backup_at(dir.path(), 1_795_611_600).id)
        .collect();
    assert_eq!(ids[0], "20261125T130000Z");
    assert_eq!(ids[1], "20261125T130000Z-2");
    assert_eq!(ids[10], "20261125T130000Z-11");
    let earlier = backup_at(dir.path(), 1_795_611_600 - DAY);
    let listed: Vec<String> = list(dir.path(), ENV)
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    let mut expected = vec![earlier.id];
    expected.extend(ids);
    assert_eq!(listed, expected, "oldest first, -10 after -9");

    let summary = &list(dir.path(), ENV).unwrap()[0];
    assert_eq!(summary.trigger, Trigger::PreApply);
    assert_eq!(summary.project_id, PROJECT);
    assert_eq!(summary.counts.by_kind[&ResourceKind::Role], 6);
    assert_eq!(summary.counts.by_kind[&ResourceKind::Theme], 1);
    assert_eq!(summary.bytes, backup_at(dir.path(), 0).bytes);
}

#[test]
fn prune_removes_old_backups_but_keeps_the_newest_keep_min_and_foreign_folders() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_795_611_600;
    let ids: Vec<String> = [40, 35, 31, 29, 2, 1]
        .iter()
        .map(|days| backup_at(dir.path(), now - days * DAY).id)
        .collect();
    let env_dir = backups_dir(dir.path(), ENV);
    // Not backups: another name, a backup-like name without a manifest, a stray file.
    fs::create_dir_all(env_dir.join("keep-me")).unwrap();
    fs::create_dir_all(env_dir.join("20200101T000000Z")).unwrap();
    fs::write(env_dir.join("20200102T000000Z"), "file").unwrap();
    // Another environment's backups are not touched.
    let other = write_backup_at(
        dir.path(),
        "staging",
        PROJECT,
        Trigger::Manual,
        &[],
        at(now - 400 * DAY),
    )
    .unwrap();

    let policy = |retention_days, keep_min| BackupPolicy {
        retention_days,
        keep_min,
    };
    // Everything is kept while keep_min covers it.
    assert!(
        prune(dir.path(), ENV, policy(30, 6), at(now))
            .unwrap()
            .is_empty()
    );
    // Older than 30 days: the first three, but keep_min 4 keeps the 31-day-old one.
    let removed = prune(dir.path(), ENV, policy(30, 4), at(now)).unwrap();
    assert_eq!(removed, ids[..2].to_vec());
    let left: Vec<String> = list(dir.path(), ENV)
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(left, ids[2..].to_vec());
    // keep_min 0 and 1 day: only what is younger than a day is kept… and the 1-day-old one is
    // exactly one day old, which is not older than the retention.
    let removed = prune(dir.path(), ENV, policy(1, 0), at(now)).unwrap();
    assert_eq!(removed, ids[2..5].to_vec());
    assert_eq!(list(dir.path(), ENV).unwrap().len(), 1);
    for foreign in ["keep-me", "20200101T000000Z", "20200102T000000Z"] {
        assert!(env_dir.join(foreign).exists(), "{foreign} was left alone");
    }
    assert!(other.path.exists());
}

/// The problems `verify` finds in backup `info`.
fn problems_of(state: &Path, info: &BackupInfo) -> Vec<String> {
    let err = verify(state, ENV, &info.id, PROJECT).unwrap_err();
    let BackupError::Damaged { problems, .. } = err else {
        panic!("{err:?}");
    };
    problems
}

#[test]
fn verify_catches_an_edited_missing_truncated_or_extra_object_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let info = backup_at(dir.path(), 1_795_611_600);
    let manifest = verify(dir.path(), ENV, &info.id, PROJECT).unwrap();
    let pristine = fs::read(info.path.join(BUNDLE)).unwrap();
    let reset = || fs::write(info.path.join(BUNDLE), &pristine).unwrap();
    let acme = line_of(&manifest, "tenant.acme");
    let last = manifest.files.last().unwrap();
    let last_line = usize::try_from(last.line.unwrap()).unwrap();

    // One object's bytes changed (same length or not): that object, and only it.
    edit_bundle(&info, |lines| {
        lines[acme - 1] = r#"{"id":"acme","name":"Evil"}"#.into();
    });
    let problems = problems_of(dir.path(), &info);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains("tenant.acme")
            && problems[0].contains(&format!("line {acme} of objects.jsonl"))
            && problems[0].contains("was changed"),
        "{problems:?}"
    );

    // The last object's line gone.
    reset();
    edit_bundle(&info, |lines| {
        lines.pop();
    });
    let problems = problems_of(dir.path(), &info);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].contains(&last.address.to_string()) && problems[0].contains("is missing"),
        "{problems:?}"
    );

    // Cut in the middle of the last line: changed, and no line break at the end.
    reset();
    fs::write(info.path.join(BUNDLE), &pristine[..pristine.len() - 3]).unwrap();
    let problems = problems_of(dir.path(), &info);
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&last.address.to_string()) && p.contains("was changed")),
        "{problems:?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("line break")),
        "{problems:?}"
    );

    // An object added to the bundle, a file added beside it, the bundle removed.
    reset();
    edit_bundle(&info, |lines| lines.push(r#"{"name":"Extra"}"#.into()));
    fs::write(info.path.join("role.json"), "{}").unwrap();
    let problems = problems_of(dir.path(), &info);
    assert_eq!(problems.len(), 2, "{problems:?}");
    let extra_line = format!("line {} of `objects.jsonl` is not listed", last_line + 1);
    assert!(
        problems.iter().any(|p| p.contains(&extra_line)),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`role.json` is not listed")),
        "{problems:?}"
    );
    fs::remove_file(info.path.join(BUNDLE)).unwrap();
    fs::remove_file(info.path.join("role.json")).unwrap();
    let problems = problems_of(dir.path(), &info);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("`objects.jsonl`") && p.contains("missing")),
        "{problems:?}"
    );

    reset();
    verify(dir.path(), ENV, &info.id, PROJECT).unwrap();
    fs::write(info.path.join(BUNDLE), b"").unwrap();
    let err = verify(dir.path(), ENV, &info.id, PROJECT).unwrap_err();
    let shown = crate::Error::from(err).to_string();
    assert!(
        shown.contains("Caused by:") && shown.contains("hint:"),
        "{shown}"
    );
}

#[test]
fn verify_refuses_another_project_environment_unknown_ids_and_bad_manifests() {
    let dir = tempfile::tempdir().unwrap();
    let info = backup_at(dir.path(), 1_795_611_600);
    let err = verify(dir.path(), ENV, &info.id, "P2other").unwrap_err();
    assert!(
        matches!(&err, BackupError::WrongOwner { what: "project", found, .. } if found == PROJECT),
        "{err:?}"
    );
    // Copied into another environment's folder.
    let staging = backups_dir(dir.path(), "staging");
    fs::create_dir_all(&staging).unwrap();
    fs::rename(&info.path, staging.join(&info.id)).unwrap();
    let err = verify(dir.path(), "staging", &info.id, PROJECT).unwrap_err();
    assert!(
        matches!(
            &err,
            BackupError::WrongOwner {
                what: "environment",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(list(dir.path(), "staging").unwrap().is_empty());

    for id in ["20261125T130000Z", "../staging/20261125T130000Z", "latest"] {
        let err = verify(dir.path(), ENV, id, PROJECT).unwrap_err();
        assert!(matches!(err, BackupError::NotFound { .. }), "{id}: {err:?}");
    }

    // A manifest that puts two objects on one line, or an object on no line, is refused.
    let info = backup_at(dir.path(), 1_795_611_600);
    let path = info.path.join(MANIFEST);
    let pristine = fs::read_to_string(&path).unwrap();
    let mut raw: serde_json::Value = serde_json::from_str(&pristine).unwrap();
    let second = raw["files"][1]["address"].as_str().unwrap().to_owned();
    raw["files"][1]["line"] = json!(1);
    raw["files"][2]["line"] = json!(0);
    fs::write(&path, raw.to_string()).unwrap();
    let problems = problems_of(dir.path(), &info);
    assert!(
        problems
            .iter()
            .any(|p| p.contains(&second) && p.contains("line 1 of objects.jsonl")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("line 0 of objects.jsonl")),
        "{problems:?}"
    );
    // A format this dmgmt does not know.
    fs::write(
        &path,
        pristine.replace("\"format_version\": 2", "\"format_version\": 3"),
    )
    .unwrap();
    let err = verify(dir.path(), ENV, &info.id, PROJECT).unwrap_err();
    assert!(
        matches!(&err, BackupError::Manifest { reason, .. } if reason.contains("format_version 3")),
        "{err:?}"
    );
    fs::write(&path, "{").unwrap();
    let err = verify(dir.path(), ENV, &info.id, PROJECT).unwrap_err();
    assert!(matches!(err, BackupError::Manifest { .. }), "{err:?}");
}

#[test]
fn load_returns_every_body_as_written_and_refuses_a_damaged_backup() {
    let dir = tempfile::tempdir().unwrap();
    let info = backup_at(dir.path(), 1_795_611_600);
    let (manifest, bodies) = load(dir.path(), ENV, &info.id, PROJECT).unwrap();
    let mut expected = sample();
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(bodies, expected);
    assert_eq!(manifest.files.len(), expected.len());
    for (file, (_, body)) in manifest.files.iter().zip(&bodies) {
        assert_eq!(file.sha256, sha256_hex(body.as_str().as_bytes()));
    }
    edit_bundle(&info, |lines| lines[0] = "{}".into());
    assert!(matches!(
        load(dir.path(), ENV, &info.id, PROJECT),
        Err(BackupError::Damaged { .. })
    ));
}

#[test]
fn prune_never_removes_the_newest_backup_even_with_keep_min_0() {
    let dir = tempfile::tempdir().unwrap();
    let now = 1_795_611_600;
    let ids: Vec<String> = [3, 2, 1]
        .iter()
        .map(|secs| backup_at(dir.path(), now - secs).id)
        .collect();
    // `retention_days: 0, keep_min: 0`: every backup is past retention, yet the one just written
    // (what a restore of this apply needs) stays.
    let policy = BackupPolicy {
        retention_days: 0,
        keep_min: 0,
    };
    let removed = prune(dir.path(), ENV, policy, at(now)).unwrap();
    assert_eq!(removed, ids[..2].to_vec());
    let left: Vec<String> = list(dir.path(), ENV)
        .unwrap()
        .into_iter()
        .map(|b| b.id)
        .collect();
    assert_eq!(left, ids[2..].to_vec());
}

/// A backup as dmgmt wrote it before the bundle (format 1): one file per object beside a manifest
/// that lists each file's path, written here by hand. Returns its id and folder.
fn format_1_backup(state: &Path, items: &[(ResourceAddr, RawBody)]) -> (String, PathBuf) {
    let id = "20261125T130000Z".to_owned();
    let folder = backups_dir(state, ENV).join(&id);
    let mut files = Vec::new();
    for (address, body) in items {
        let kind = address.kind().as_str();
        let name: String = address
            .to_string()
            .bytes()
            .map(|b| format!("{b:02X}"))
            .collect();
        let rel = format!("{kind}/{name}.json");
        fs::create_dir_all(folder.join(kind)).unwrap();
        fs::write(folder.join(&rel), body.as_str()).unwrap();
        files.push(json!({
            "path": rel,
            "address": address.to_string(),
            "sha256": sha256_hex(body.as_str()),
            "size": body.as_str().len(),
        }));
    }
    let manifest = json!({
        "format_version": 1,
        "environment": ENV,
        "project_id": PROJECT,
        "dmgmt_version": "0.1.0",
        "created_at": "2026-11-25T13:00:00Z",
        "trigger": "pre-apply",
        "files": files,
    });
    let text = serde_json::to_string_pretty(&manifest).unwrap();
    fs::write(folder.join(MANIFEST), text).unwrap();
    (id, folder)
}

#[test]
fn a_format_1_backup_of_one_file_per_object_still_lists_verifies_and_loads() {
    let dir = tempfile::tempdir().unwrap();
    let mut items = sample();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let (id, folder) = format_1_backup(dir.path(), &items);

    let manifest = verify(dir.path(), ENV, &id, PROJECT).unwrap();
    assert_eq!(manifest.format_version, 1);
    let (_, bodies) = load(dir.path(), ENV, &id, PROJECT).unwrap();
    assert_eq!(bodies, items, "every body, in the manifest's order");
    let listed = list(dir.path(), ENV).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].counts.by_kind[&ResourceKind::Role], 6);
    let total: usize = items.iter().map(|(_, b)| b.as_str().len()).sum();
    assert_eq!(listed[0].bytes, total as u64);

    // Its guarantees hold as before: a changed, a missing and an extra file are caught.
    let path_of = |a: &str| {
        let file = manifest
            .files
            .iter()
            .find(|f| f.address == addr(a))
            .unwrap();
        folder.join(file.path.as_deref().unwrap())
    };
    fs::write(path_of("tenant.acme"), r#"{"id":"acme","name":"Evil"}"#).unwrap();
    fs::remove_file(path_of("theme")).unwrap();
    fs::write(folder.join("role/extra.json"), "{}").unwrap();
    let err = verify(dir.path(), ENV, &id, PROJECT).unwrap_err();
    let BackupError::Damaged { problems, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("tenant.acme") && p.contains("was changed")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("(theme)") && p.contains("is missing")),
        "{problems:?}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("role/extra.json") && p.contains("not listed")),
        "{problems:?}"
    );

    // A format-1 manifest pointing outside its folder is refused, not followed.
    let path = folder.join(MANIFEST);
    let text = fs::read_to_string(&path).unwrap();
    let acme = path_of("tenant.acme");
    let acme_rel = acme.strip_prefix(&folder).unwrap().to_str().unwrap();
    fs::write(&path, text.replace(acme_rel, "../../x.json")).unwrap();
    let err = verify(dir.path(), ENV, &id, PROJECT).unwrap_err();
    let BackupError::Damaged { problems, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        problems.iter().any(|p| p.contains("../../x.json")),
        "{problems:?}"
    );
}
