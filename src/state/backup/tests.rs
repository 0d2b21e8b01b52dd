use super::names::{MAX_NAME_BYTES, compact_id, escape_key, is_object_path, parse_id};
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
    for (addr, body) in &items {
        let file = manifest.files.iter().find(|f| &f.address == addr).unwrap();
        let bytes = fs::read(info.path.join(&file.path)).unwrap();
        assert_eq!(bytes, body.as_str().as_bytes(), "{addr}: the body exactly");
        assert_eq!(file.sha256, sha256_hex(body.as_str()), "{addr}");
        assert_eq!(file.size, bytes.len() as u64);
        assert!(
            file.path.starts_with(&format!("{}/", addr.kind())),
            "{}",
            file.path
        );
    }
    // The manifest on disk says `pre-apply` and holds addresses as text.
    let text = fs::read_to_string(info.path.join(MANIFEST)).unwrap();
    let raw: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(raw["trigger"], "pre-apply");
    assert_eq!(raw["format_version"], 1);
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
fn unusual_names_become_safe_distinct_file_names() {
    assert_eq!(escape_key("acme/Viewer"), "acme%2FViewer");
    assert_eq!(escape_key("billing.read"), "billing.read");
    assert_eq!(escape_key("a b"), "a%20b");
    assert_eq!(escape_key("é"), "%C3%A9");
    assert_eq!(escape_key(".."), "%2E.");
    assert_eq!(escape_key(".hidden"), "%2Ehidden");
    assert_eq!(escape_key("x~y%z"), "x%7Ey%25z");
    let long = "ü".repeat(300);
    let escaped = escape_key(&long);
    assert!(escaped.len() <= MAX_NAME_BYTES, "{}", escaped.len());
    assert_ne!(
        escape_key(&"ü".repeat(301)),
        escaped,
        "cut names keep a hash"
    );

    let dir = tempfile::tempdir().unwrap();
    let info = backup_at(dir.path(), 1_795_611_600);
    let manifest = verify(dir.path(), ENV, &info.id, PROJECT).unwrap();
    let path_of = |a: &str| {
        manifest
            .files
            .iter()
            .find(|f| f.address == addr(a))
            .map(|f| f.path.clone())
            .unwrap()
    };
    assert_eq!(path_of("role.acme/Viewer"), "role/acme%2FViewer.json");
    assert_eq!(path_of("role.Viewer"), "role/Viewer.json");
    // `viewer` would be the same file on a case-insensitive file system.
    assert_eq!(path_of("role.viewer"), "role/viewer~2.json");
    assert_eq!(
        path_of("role.Auditor team / EU"),
        "role/Auditor%20team%20%2F%20EU.json"
    );
    assert_eq!(
        path_of("role.Prüfer ✓"),
        "role/Pr%C3%BCfer%20%E2%9C%93.json"
    );
    assert_eq!(path_of("role..."), "role/%2E..json");
    assert_eq!(path_of("theme"), "theme/theme.json");
    for file in &manifest.files {
        assert!(is_object_path(&file.path), "{}", file.path);
    }
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

#[test]
fn verify_catches_edited_missing_and_extra_files() {
    let dir = tempfile::tempdir().unwrap();
    let info = backup_at(dir.path(), 1_795_611_600);
    let manifest = verify(dir.path(), ENV, &info.id, PROJECT).unwrap();
    let file = |a: &str| {
        let f = manifest
            .files
            .iter()
            .find(|f| f.address == addr(a))
            .unwrap();
        info.path.join(&f.path)
    };
    fs::write(file("tenant.acme"), r#"{"id":"acme","name":"Evil"}"#).unwrap();
    fs::remove_file(file("theme")).unwrap();
    fs::write(info.path.join("role/extra.json"), "{}").unwrap();
    let err = verify(dir.path(), ENV, &info.id, PROJECT).unwrap_err();
    let BackupError::Damaged { problems, .. } = &err else {
        panic!("{err:?}");
    };
    assert_eq!(problems.len(), 3, "{problems:?}");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("tenant.acme") && p.contains("was changed"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("theme/theme.json") && p.contains("missing"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.contains("role/extra.json") && p.contains("not listed"))
    );
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

    // A manifest pointing outside its folder is refused, not followed.
    let info = backup_at(dir.path(), 1_795_611_600);
    let path = info.path.join(MANIFEST);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, text.replace("tenant/acme.json", "../../x.json")).unwrap();
    let err = verify(dir.path(), ENV, &info.id, PROJECT).unwrap_err();
    let BackupError::Damaged { problems, .. } = &err else {
        panic!("{err:?}");
    };
    assert!(
        problems.iter().any(|p| p.contains("../../x.json")),
        "{problems:?}"
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
    let first = info.path.join(&manifest.files[0].path);
    fs::write(&first, "{}").unwrap();
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
