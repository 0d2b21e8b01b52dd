use serde_json::json;

use super::*;

fn tenant(id: &str, name: &str) -> Tenant {
    Tenant {
        id: id.into(),
        name: name.into(),
        ..Default::default()
    }
}

/// Creates, updates, deletes, a theme change and a generated id, recorded one by one.
fn changes(store: &mut Store, journal: &mut Journal) {
    for i in 0..5 {
        store
            .tenants
            .insert(format!("t{i}"), tenant(&format!("t{i}"), "T"));
        journal.record(store).unwrap();
    }
    store.tenants.get_mut("t2").unwrap().name = "Renamed".into();
    journal.record(store).unwrap();
    store.tenants.shift_remove("t1");
    let id = store.generate_id("PERM");
    store.permissions.insert(
        id.clone(),
        Permission {
            id,
            name: "p".into(),
            ..Default::default()
        },
    );
    journal.record(store).unwrap();
    store.theme.insert("cssTemplate".into(), json!({"a": 1}));
    store.theme_version += 1;
    journal.record(store).unwrap();
}

#[test]
fn changes_survive_a_kill_through_the_journal_alone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("local.json");
    let (mut store, mut journal) = Journal::open(&data).unwrap();
    // A snapshot large enough that the changes below stay in the journal.
    for i in 0..100 {
        let id = format!("pre{i}");
        store.tenants.insert(id.clone(), tenant(&id, "Pre"));
    }
    journal.record(&store).unwrap();
    let snapshot = std::fs::read(&data).unwrap();
    changes(&mut store, &mut journal);
    // Killed: no fold, the snapshot is the one written at start.
    drop(journal);
    assert_eq!(std::fs::read(&data).unwrap(), snapshot);
    let (back, _) = Journal::open(&data).unwrap();
    assert_eq!(back, store);
    assert_eq!(
        back.tenants
            .keys()
            .filter(|k| !k.starts_with("pre"))
            .collect::<Vec<_>>(),
        ["t0", "t2", "t3", "t4"]
    );
    // Opening folded the journal in: the snapshot alone now has everything.
    assert_eq!(Store::load(&data).unwrap(), store);
}

#[test]
fn a_torn_last_line_is_dropped_and_a_stale_journal_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("local.json");
    let (mut store, mut journal) = Journal::open(&data).unwrap();
    changes(&mut store, &mut journal);
    let path = journal_path(&data);
    let complete = std::fs::read(&path).unwrap();
    let mut torn = complete.clone();
    torn.extend_from_slice(br#"{"nextId": 99, "tenants": [{"key": "x""#);
    std::fs::write(&path, &torn).unwrap();
    drop(journal);
    let (back, journal) = Journal::open(&data).unwrap();
    assert_eq!(back, store);
    drop(journal);

    // A kill between the two replaces of a fold: the new snapshot, the old journal. Replaying it
    // would undo nothing here, but it must not even be read (its header names another snapshot).
    std::fs::write(&path, &complete).unwrap();
    let (again, _) = Journal::open(&data).unwrap();
    assert_eq!(again, store);

    // A broken line that is not the last one is an error naming the journal.
    let mut broken = complete.clone();
    let header_end = broken.iter().position(|b| *b == b'\n').unwrap() + 1;
    broken.splice(header_end..header_end, b"not json\n".iter().copied());
    let snapshot = std::fs::read(&data).unwrap();
    let first = String::from_utf8(complete[..header_end].to_vec()).unwrap();
    let renamed = first.replace(
        &serde_json::from_str::<Header>(&first).unwrap().snapshot,
        &digest(&snapshot),
    );
    broken.splice(..header_end, renamed.bytes());
    std::fs::write(&path, &broken).unwrap();
    let err = Journal::open(&data).err().unwrap();
    assert!(err.to_string().contains("local.json.journal"), "{err}");
}

#[test]
fn the_journal_is_folded_once_it_outgrows_the_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("local.json");
    let (mut store, mut journal) = Journal::open(&data).unwrap();
    let mut folds = 0;
    let mut last = std::fs::read(&data).unwrap();
    for i in 0..200 {
        store
            .tenants
            .insert(format!("t{i}"), tenant(&format!("t{i}"), "Tenant"));
        journal.record(&store).unwrap();
        assert!(journal.journal_bytes <= journal.snapshot_bytes);
        let now = std::fs::read(&data).unwrap();
        if now != last {
            folds += 1;
            last = now;
        }
    }
    assert!((1..20).contains(&folds), "{folds} folds");
    drop(journal);
    assert_eq!(Journal::open(&data).unwrap().0, store);
}

#[test]
fn a_reordering_change_is_folded_instead_of_journaled() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("local.json");
    let (mut store, mut journal) = Journal::open(&data).unwrap();
    for id in ["a", "b", "c"] {
        store.tenants.insert(id.into(), tenant(id, id));
    }
    journal.record(&store).unwrap();
    store.tenants.swap_indices(0, 2);
    journal.record(&store).unwrap();
    drop(journal);
    let (back, _) = Journal::open(&data).unwrap();
    assert_eq!(back.tenants.keys().collect::<Vec<_>>(), ["c", "b", "a"]);
}
