use std::fs;
use std::sync::{Arc, Mutex, mpsc as std_mpsc};

use serde_json::json;

use super::*;

fn entry(id: &str, name: &str) -> (ResourceAddr, ResourceState) {
    let addr = ResourceAddr::Tenant(id.into());
    let state = ResourceState::new(&addr, vec!["name".into()], json!({"id": id, "name": name}));
    (addr, state)
}

fn put(id: &str, name: &str) -> Op {
    let (addr, entry) = entry(id, name);
    Op::Put {
        addr: addr.to_string(),
        entry,
    }
}

fn sync_ok() -> Syncer {
    Box::new(|_| Ok(()))
}

fn guard_ok() -> Guard {
    Box::new(|| Ok(()))
}

/// A journal in a fresh folder for a state at serial 3, with `lines` written and synced.
fn journal_with(lines: Vec<Vec<Op>>) -> (tempfile::TempDir, PathBuf, StateFile) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("staging.json.journal");
    let mut state = StateFile::new("staging", "P2abc");
    state.serial = 3;
    let mut writer = JournalWriter::create(&path, &state, sync_ok(), guard_ok()).unwrap();
    for ops in lines {
        writer.append(ops).unwrap();
    }
    writer.finish().unwrap();
    (dir, path, state)
}

#[test]
fn appended_lines_read_back_and_fold_in_order() {
    let remove = Op::Remove {
        addr: "tenant.acme".into(),
    };
    let (_dir, path, state) = journal_with(vec![
        vec![put("acme", "Acme")],
        vec![put("beta", "Beta")],
        vec![remove],
    ]);
    let contents = read(&path).unwrap().unwrap();
    assert_eq!(contents.lines.len(), 3);
    assert_eq!(contents.note, None);
    assert_eq!(contents.lines[1].seq, 1);
    let folded = fold(Some(&state), "staging", &contents).unwrap().unwrap();
    let keys: Vec<String> = folded.resources.keys().map(|a| a.to_string()).collect();
    assert_eq!(keys, ["tenant.beta"]);
    assert_eq!(folded.serial, 3);
    assert_eq!(
        folded.resources.values().next(),
        Some(&entry("beta", "Beta").1)
    );
}

#[cfg(unix)]
#[test]
fn the_journal_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let (_dir, path, _) = journal_with(vec![vec![put("acme", "Acme")]]);
    let mode = fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn a_torn_last_line_is_ignored_with_a_note() {
    let (_dir, path, state) = journal_with(vec![vec![put("acme", "Acme")], vec![put("beta", "B")]]);
    let bytes = fs::read(&path).unwrap();
    fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let contents = read(&path).unwrap().unwrap();
    assert_eq!(contents.lines.len(), 1);
    let note = contents.note.clone().unwrap();
    assert!(note.contains("line 2") && note.contains("torn"), "{note}");
    let folded = fold(Some(&state), "staging", &contents).unwrap().unwrap();
    assert_eq!(folded.resources.len(), 1);
}

#[test]
fn a_corrupt_line_is_ignored_with_a_note() {
    let (_dir, path, _) = journal_with(vec![vec![put("acme", "Acme")], vec![put("beta", "B")]]);
    let text = fs::read_to_string(&path).unwrap().replace("\"B\"", "\"C\"");
    fs::write(&path, text).unwrap();
    let contents = read(&path).unwrap().unwrap();
    assert_eq!(contents.lines.len(), 1);
    let note = contents.note.unwrap();
    assert!(note.contains("checksum"), "{note}");
}

#[test]
fn a_journal_of_another_lineage_or_a_later_serial_is_refused() {
    let (_dir, path, mut state) = journal_with(vec![vec![put("acme", "Acme")]]);
    let contents = read(&path).unwrap().unwrap();
    let other = StateFile::new("staging", "P2abc");
    let err = fold(Some(&other), "staging", &contents).unwrap_err();
    assert!(
        matches!(&err, FoldError::Foreign(m) if m.contains("lineage")),
        "{err:?}"
    );
    state.serial = 2;
    let err = fold(Some(&state), "staging", &contents).unwrap_err();
    assert!(
        matches!(&err, FoldError::Foreign(m) if m.contains("serial 3")),
        "{err:?}"
    );
}

#[test]
fn a_journal_older_than_the_state_was_already_written_into_it() {
    let (_dir, path, mut state) = journal_with(vec![vec![put("acme", "Acme")]]);
    state.serial = 4;
    let contents = read(&path).unwrap().unwrap();
    assert_eq!(fold(Some(&state), "staging", &contents).unwrap(), None);
}

#[test]
fn a_journal_without_a_state_folds_onto_a_new_state_of_its_lineage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("staging.json.journal");
    let state = StateFile::new("staging", "P2abc");
    let mut writer = JournalWriter::create(&path, &state, sync_ok(), guard_ok()).unwrap();
    writer.append(vec![put("acme", "Acme")]).unwrap();
    writer.finish().unwrap();
    let contents = read(&path).unwrap().unwrap();
    let folded = fold(None, "staging", &contents).unwrap().unwrap();
    assert_eq!(folded.lineage, state.lineage);
    assert_eq!(folded.project_id, "P2abc");
    assert_eq!(folded.resources.len(), 1);
}

#[tokio::test]
async fn lines_queued_together_share_one_fsync() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("staging.json.journal");
    let state = StateFile::new("staging", "P2abc");
    // The first sync waits until every line is queued, so the rest arrive as one group.
    let (release, gate) = std_mpsc::channel::<()>();
    let gate = Arc::new(Mutex::new(gate));
    let syncer: Syncer = Box::new(move |_| {
        let _ = gate.lock().unwrap().recv();
        Ok(())
    });
    let mut writer = JournalWriter::create(&path, &state, syncer, guard_ok()).unwrap();
    for i in 0..100 {
        writer.append(vec![put(&format!("t{i}"), "T")]).unwrap();
    }
    let durable = writer.durable();
    release.send(()).unwrap();
    release.send(()).unwrap();
    drop(release);
    durable.await.unwrap();
    assert!(
        writer.syncs() <= 2,
        "{} fsyncs for 100 lines",
        writer.syncs()
    );
    writer.finish().unwrap();
    assert_eq!(read(&path).unwrap().unwrap().lines.len(), 100);
}

#[tokio::test]
async fn a_failed_guard_or_write_stops_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("staging.json.journal");
    let state = StateFile::new("staging", "P2abc");
    let guard: Guard = Box::new(|| Err("the lock was broken".into()));
    let mut writer = JournalWriter::create(&path, &state, sync_ok(), guard).unwrap();
    writer.append(vec![put("acme", "Acme")]).unwrap();
    assert_eq!(writer.durable().await.unwrap_err(), "the lock was broken");
    assert!(writer.append(vec![put("beta", "B")]).is_err());
    assert!(writer.finish().is_err());
    assert_eq!(fs::read(&path).unwrap(), b"");
}
