use std::fs;

use serde_json::json;

use super::*;
use crate::model::ResourceAddr;
use crate::state::ResourceState;

fn tenant(state: &mut StateFile, id: &str, name: &str) {
    let addr = ResourceAddr::Tenant(id.into());
    let resource = ResourceState::new(
        &addr,
        vec!["name".into()],
        json!({"id": id, "name": name, "ratio": 0.3}),
    );
    state.resources.insert(addr, resource);
}

/// A store in a fresh folder and a state written once (serial 1).
fn written() -> (tempfile::TempDir, StateStore, StateFile) {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path().join("state"), "staging");
    let mut state = StateFile::new("staging", "P2abc");
    tenant(&mut state, "acme", "Acme");
    assert_eq!(
        store.write(&mut state).unwrap(),
        WriteOutcome::Written { serial: 1 }
    );
    (dir, store, state)
}

fn message(err: StateError) -> String {
    crate::Error::from(err).to_string()
}

#[test]
fn missing_file_loads_as_none() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path(), "staging");
    assert!(store.load().unwrap().is_none());
    assert!(store.load_for("P2abc").unwrap().is_none());
}

#[test]
fn round_trip_is_byte_identical() {
    let (_dir, store, state) = written();
    let bytes = fs::read_to_string(store.path()).unwrap();
    let mut loaded = store.load().unwrap().unwrap();
    assert_eq!(loaded, state);
    assert_eq!(loaded.render().unwrap(), bytes);
    assert!(bytes.ends_with("}\n") && bytes.contains("\n  \"serial\": 1,\n"));
    assert_eq!(store.write(&mut loaded).unwrap(), WriteOutcome::Unchanged);
    assert_eq!(fs::read_to_string(store.path()).unwrap(), bytes);
}

#[test]
fn insertion_order_of_attributes_does_not_change_the_bytes() {
    let (_dir, store, mut state) = written();
    let addr = ResourceAddr::Tenant("acme".into());
    let reordered: serde_json::Value =
        serde_json::from_str(r#"{"ratio": 0.3, "name": "Acme", "id": "acme"}"#).unwrap();
    state.resources.get_mut(&addr).unwrap().attributes = reordered;
    assert_eq!(store.write(&mut state).unwrap(), WriteOutcome::Unchanged);
    assert!(!store.backup_path().exists());
}

#[test]
fn serial_increments_only_when_content_changes_and_lineage_stays() {
    let (_dir, store, mut state) = written();
    let lineage = state.lineage.clone();
    tenant(&mut state, "globex", "Globex");
    assert_eq!(
        store.write(&mut state).unwrap(),
        WriteOutcome::Written { serial: 2 }
    );
    assert_eq!(state.serial, 2);
    assert_eq!(store.write(&mut state).unwrap(), WriteOutcome::Unchanged);
    let loaded = store.load().unwrap().unwrap();
    assert_eq!(loaded.serial, 2);
    assert_eq!(loaded.lineage, lineage);
    assert_eq!(loaded.resources.len(), 2);
}

#[test]
fn backup_holds_the_previous_version_and_unchanged_writes_leave_it() {
    let (_dir, store, mut state) = written();
    assert!(
        !store.backup_path().exists(),
        "first write has nothing to back up"
    );
    let first = fs::read(store.path()).unwrap();
    tenant(&mut state, "acme", "Acme Corp");
    store.write(&mut state).unwrap();
    let second = fs::read(store.path()).unwrap();
    assert_eq!(fs::read(store.backup_path()).unwrap(), first);
    assert_ne!(second, first);

    assert_eq!(store.write(&mut state).unwrap(), WriteOutcome::Unchanged);
    assert_eq!(fs::read(store.backup_path()).unwrap(), first);
    assert_eq!(fs::read(store.path()).unwrap(), second);
}

#[test]
fn a_held_backup_keeps_the_state_from_before_the_run_through_every_write() {
    let (_dir, store, mut state) = written();
    let before_run = fs::read(store.path()).unwrap();
    store.hold_backup().unwrap();
    assert_eq!(fs::read(store.backup_path()).unwrap(), before_run);
    for name in ["Acme 2", "Acme 3", "Acme 4"] {
        tenant(&mut state, "acme", name);
        store.write(&mut state).unwrap();
        assert_eq!(
            fs::read(store.backup_path()).unwrap(),
            before_run,
            "after writing {name}"
        );
    }
    assert_eq!(state.serial, 4);

    // A store without a state yet has nothing to keep, and its first write makes none.
    let dir = tempfile::tempdir().unwrap();
    let fresh = StateStore::new(dir.path().join("state"), "staging");
    fresh.hold_backup().unwrap();
    let mut state = StateFile::new("staging", "P2abc");
    tenant(&mut state, "acme", "Acme");
    fresh.write(&mut state).unwrap();
    tenant(&mut state, "acme", "Acme 2");
    fresh.write(&mut state).unwrap();
    assert!(!fresh.backup_path().exists());
}

#[test]
fn edited_file_is_refused_naming_the_backup() {
    let (_dir, store, mut state) = written();
    tenant(&mut state, "acme", "Acme Corp");
    store.write(&mut state).unwrap();
    let text = fs::read_to_string(store.path()).unwrap();
    fs::write(store.path(), text.replace("Acme Corp", "Evil Corp")).unwrap();

    let err = store.load().unwrap_err();
    assert!(matches!(err, StateError::DigestMismatch { .. }), "{err:?}");
    let backup = store.backup_path().display().to_string();
    let text = message(err);
    assert!(
        text.contains(&format!("`{}`", store.path().display())),
        "{text}"
    );
    assert!(
        text.contains(&format!("previous version is at `{backup}`")),
        "{text}"
    );
    assert!(
        text.contains(&format!("cp {backup} {}", store.path().display())),
        "{text}"
    );
    // A refused file is never overwritten.
    let edited = fs::read(store.path()).unwrap();
    assert!(store.write(&mut state).is_err());
    assert_eq!(fs::read(store.path()).unwrap(), edited);
}

#[test]
fn truncated_file_is_refused() {
    let (_dir, store, _state) = written();
    let bytes = fs::read(store.path()).unwrap();
    fs::write(store.path(), &bytes[..bytes.len() / 2]).unwrap();
    let err = store.load().unwrap_err();
    assert!(matches!(err, StateError::Unparseable { .. }), "{err:?}");
    let text = message(err);
    assert!(text.contains("not valid JSON"), "{text}");
    assert!(text.contains(&store.path().display().to_string()), "{text}");
    assert!(text.contains(".backup"), "{text}");
    assert!(text.contains("Caused by:"), "{text}");
}

#[test]
fn unknown_format_version_is_refused() {
    let (_dir, store, _state) = written();
    let text = fs::read_to_string(store.path()).unwrap();
    fs::write(
        store.path(),
        text.replace("\"format_version\": 1", "\"format_version\": 2"),
    )
    .unwrap();
    let err = store.load().unwrap_err();
    assert!(
        matches!(err, StateError::UnsupportedVersion { .. }),
        "{err:?}"
    );
    let text = message(err);
    assert!(text.contains("format_version 2"), "{text}");
    assert!(text.contains("upgrade dmgmt"), "{text}");
}

#[test]
fn state_of_another_environment_or_project_is_refused() {
    let (dir, store, _state) = written();
    let prod = StateStore::new(dir.path().join("state"), "prod");
    fs::copy(store.path(), prod.path()).unwrap();
    let text = message(prod.load().unwrap_err());
    assert!(
        text.contains("belongs to environment `staging`, not `prod`"),
        "{text}"
    );
    assert!(text.contains("prod.json"), "{text}");

    let text = message(store.load_for("P2other").unwrap_err());
    assert!(text.contains("project `P2abc`"), "{text}");
    assert!(text.contains("project `P2other`"), "{text}");
    assert!(store.load_for("P2abc").unwrap().is_some());

    let mut wrong = StateFile::new("prod", "P2abc");
    assert!(matches!(
        store.write(&mut wrong),
        Err(StateError::WrongEnvironment { .. })
    ));
}

#[test]
fn leftover_temp_file_from_a_crashed_write_is_ignored() {
    let (dir, store, mut state) = written();
    let leftover = dir.path().join("state/.staging.json.a1B2c3.tmp");
    fs::write(&leftover, "{\"format_version\": 1, \"serial\": 9").unwrap();
    assert_eq!(store.load().unwrap().unwrap(), state);
    tenant(&mut state, "globex", "Globex");
    assert_eq!(
        store.write(&mut state).unwrap(),
        WriteOutcome::Written { serial: 2 }
    );
    assert_eq!(store.load().unwrap().unwrap().serial, 2);
    let temps: Vec<_> = fs::read_dir(dir.path().join("state"))
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(
        temps,
        [".staging.json.a1B2c3.tmp"],
        "our own temp files are gone"
    );
}

#[test]
fn a_write_by_someone_else_since_loading_is_a_conflict() {
    let (_dir, store, _state) = written();
    let mut ours = store.load().unwrap().unwrap();
    let mut theirs = store.load().unwrap().unwrap();
    tenant(&mut theirs, "globex", "Globex");
    store.write(&mut theirs).unwrap();
    tenant(&mut ours, "initech", "Initech");
    let text = message(store.write(&mut ours).unwrap_err());
    assert!(text.contains("changed since it was read"), "{text}");
    assert!(text.contains("serial 2"), "{text}");

    let mut fresh = StateFile::new("staging", "P2abc");
    let err = store.write(&mut fresh).unwrap_err();
    assert!(matches!(err, StateError::Conflict { .. }), "{err:?}");
    assert!(store.load().unwrap().unwrap().resources.len() == 2);
}

#[test]
fn fresh_state_gets_serial_one_and_its_folder_is_created() {
    let dir = tempfile::tempdir().unwrap();
    let store = StateStore::new(dir.path().join("a/b/state"), "dev");
    let mut state = StateFile::new("dev", "P1");
    assert_eq!(state.serial, 0);
    assert_eq!(
        store.write(&mut state).unwrap(),
        WriteOutcome::Written { serial: 1 }
    );
    assert_eq!(store.load().unwrap().unwrap(), state);
    assert!(state.updated_at.ends_with('Z') && state.updated_at.len() == 20);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        // State holds tenant data: owner-only, in an owner-only folder kept out of git.
        let mode = fs::metadata(store.path()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let folder = dir.path().join("a/b/state");
        let mode = fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        assert!(folder.join(".gitignore").exists());
    }
}

#[test]
fn a_write_through_another_store_is_seen() {
    let (_dir, store, mut ours) = written();
    let other = store.clone();
    let mut theirs = other.load().unwrap().unwrap();
    tenant(&mut theirs, "acme", "Renamed elsewhere");
    other.write(&mut theirs).unwrap();
    assert_eq!(store.load().unwrap().unwrap(), theirs);
    tenant(&mut ours, "acme", "Renamed here");
    let err = store.write(&mut ours).unwrap_err();
    assert!(matches!(err, StateError::Conflict { .. }), "{err:?}");
}

/// Changes recorded one by one: written after each (the per-change writer this store had), or
/// appended to a journal that the next load folds in and one write persists.
#[test]
fn a_folded_journal_writes_what_writing_after_every_change_wrote() {
    use crate::state::journal::{JournalWriter, Op};
    let (_dir, store, base) = written();
    // The same lineage and content in both folders.
    let (_dir2, old_store, _) = written();
    let old_path = old_store.path().to_path_buf();
    fs::write(&old_path, fs::read(store.path()).unwrap()).unwrap();
    let mut old = old_store.load().unwrap().unwrap();
    let mut writer = JournalWriter::create(
        &store.journal_path(),
        &base,
        Box::new(|_| Ok(())),
        Box::new(|| Ok(())),
    )
    .unwrap();
    let mut new = base.clone();
    for i in 0..5 {
        let id = format!("t{i}");
        tenant(&mut new, &id, "T");
        tenant(&mut old, &id, "T");
        old_store.write(&mut old).unwrap();
        writer
            .append(vec![Op::at(&new, &ResourceAddr::Tenant(id))])
            .unwrap();
    }
    let acme = ResourceAddr::Tenant("acme".into());
    new.resources.remove(&acme);
    old.resources.remove(&acme);
    old_store.write(&mut old).unwrap();
    writer.append(vec![Op::at(&new, &acme)]).unwrap();
    writer.finish().unwrap();

    let before = super::WRITES.load(std::sync::atomic::Ordering::SeqCst);
    let mut folded = store.load_for("P2abc").unwrap().unwrap();
    assert!(super::WRITES.load(std::sync::atomic::Ordering::SeqCst) > before);
    assert!(!store.journal_path().exists(), "the fold was persisted");
    assert_eq!(folded.serial, 2);
    assert_eq!(old.serial, 7);
    // Same content, canonical form and digest once serial and time are set aside.
    folded.serial = old.serial;
    folded.updated_at = old.updated_at.clone();
    folded.seal();
    assert_eq!(folded.render().unwrap(), old.render().unwrap());
}

#[test]
fn a_read_folds_a_journal_in_memory_and_notes_a_torn_tail() {
    use crate::state::journal::{JournalWriter, Op};
    let (_dir, store, base) = written();
    let mut writer = JournalWriter::create(
        &store.journal_path(),
        &base,
        Box::new(|_| Ok(())),
        Box::new(|| Ok(())),
    )
    .unwrap();
    let mut new = base.clone();
    for id in ["beta", "gamma"] {
        tenant(&mut new, id, "T");
        writer
            .append(vec![Op::at(&new, &ResourceAddr::Tenant(id.into()))])
            .unwrap();
    }
    writer.finish().unwrap();
    let bytes = fs::read(store.journal_path()).unwrap();
    fs::write(store.journal_path(), &bytes[..bytes.len() - 3]).unwrap();
    let file_before = fs::read(store.path()).unwrap();

    let read = store.read().unwrap().unwrap();
    assert_eq!(read.resources.len(), 2, "acme and beta; gamma was torn");
    assert_eq!(read.serial, 1);
    assert_eq!(
        fs::read(store.path()).unwrap(),
        file_before,
        "a read writes nothing"
    );
    assert!(store.journal_path().exists());
    let notes = store.take_notes();
    assert!(notes.iter().any(|n| n.contains("line 2")), "{notes:?}");

    let other = StateFile::new("staging", "P2abc");
    let mut foreign = JournalWriter::create(
        &store.dir.join("x.journal"),
        &other,
        Box::new(|_| Ok(())),
        Box::new(|| Ok(())),
    )
    .unwrap();
    foreign
        .append(vec![Op::at(&new, &ResourceAddr::Tenant("beta".into()))])
        .unwrap();
    foreign.finish().unwrap();
    fs::rename(store.dir.join("x.journal"), store.journal_path()).unwrap();
    let err = message(store.load().unwrap_err());
    assert!(
        err.contains("staging.json.journal") && err.contains("lineage"),
        "{err}"
    );
}

/// A run reads the state once: its last write folds the run's journal onto the state it started
/// from, and neither parses the file again nor copies the state to write it.
#[test]
fn a_runs_last_write_folds_its_journal_without_parsing_the_file_again() {
    use crate::state::journal::{JournalWriter, Op};
    use std::sync::atomic::Ordering;
    let (dir, _, _) = written();
    let store = StateStore::new(dir.path().join("state"), "staging");
    let mut state = store.load_for("P2abc").unwrap().unwrap();
    store.hold_backup().unwrap();
    let mut writer = JournalWriter::create(
        &store.journal_path(),
        &state,
        Box::new(|_| Ok(())),
        Box::new(|| Ok(())),
    )
    .unwrap();
    for i in 0..3 {
        let id = format!("t{i}");
        tenant(&mut state, &id, "T");
        writer
            .append(vec![Op::at(&state, &ResourceAddr::Tenant(id))])
            .unwrap();
    }
    writer.finish().unwrap();
    let outcome = store.write_advancing(&mut state, 3).unwrap();
    assert_eq!(outcome, WriteOutcome::Written { serial: 4 });
    assert_eq!(
        store.parses.load(Ordering::SeqCst),
        1,
        "parsed at load only"
    );
    assert!(!store.journal_path().exists());
    // What was written is what a fresh read finds.
    let fresh = StateStore::new(dir.path().join("state"), "staging")
        .load()
        .unwrap()
        .unwrap();
    assert_eq!(fresh, state);
    assert_eq!(fresh.resources.len(), 4);
}

/// A write that fails leaves the caller's state as it was (serial, time, digest).
#[test]
fn a_failed_write_leaves_the_state_as_it_was() {
    let (dir, store, mut state) = written();
    let other = StateStore::new(dir.path().join("state"), "staging");
    let mut theirs = other.load().unwrap().unwrap();
    tenant(&mut theirs, "beta", "Beta");
    other.write(&mut theirs).unwrap();
    tenant(&mut state, "gamma", "Gamma");
    let before = state.clone();
    let err = store.write(&mut state).unwrap_err();
    assert!(message(err).contains("serial"));
    assert_eq!(state, before);
}
