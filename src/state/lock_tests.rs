use std::sync::{Arc, Barrier};
use std::thread;

use super::*;

const ENV: &str = "staging";

fn take(dir: &Path, operation: &str) -> Result<LockGuard, LockError> {
    Lock::acquire(dir, ENV, operation, Duration::ZERO)
}

fn report(err: LockError) -> String {
    crate::Error::from(err).to_string()
}

fn lock_file(dir: &Path) -> PathBuf {
    lock_path(dir, ENV)
}

#[test]
fn lock_file_records_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let guard = take(dir.path(), "apply").unwrap();
    let text = fs::read_to_string(lock_file(dir.path())).unwrap();
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let keys: Vec<&str> = value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "operation",
            "user",
            "host",
            "pid",
            "created_at",
            "dmgmt_version"
        ]
    );
    assert_eq!(value["id"], guard.id());
    assert_eq!(value["operation"], "apply");
    assert_eq!(value["pid"], std::process::id());
    assert_eq!(guard.id().len(), 32);
    assert_eq!(guard.path(), lock_file(dir.path()));
}

#[test]
fn second_acquire_fails_at_once_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let first = take(dir.path(), "apply").unwrap();
    let started = Instant::now();
    let err = take(dir.path(), "refresh").unwrap_err();
    assert!(started.elapsed() < Duration::from_millis(500));
    let text = report(err);
    let info = first.info();
    let holder = format!(
        "state of `staging` is locked by {}@{} (pid {}, apply) since {}, lock id `{}`",
        info.user, info.host, info.pid, info.created_at, info.id
    );
    assert!(text.contains(&holder), "{text}");
    assert!(
        text.contains(&lock_file(dir.path()).display().to_string()),
        "{text}"
    );
    assert!(text.contains("--lock-timeout 30s"), "{text}");
    assert!(
        text.contains(&format!("`dmgmt unlock -e staging {}`", first.id())),
        "{text}"
    );
    assert!(!text.contains("no longer running"), "{text}");
}

#[test]
fn dropping_or_releasing_the_guard_frees_the_lock() {
    let dir = tempfile::tempdir().unwrap();
    let guard = take(dir.path(), "apply").unwrap();
    drop(guard);
    assert!(!lock_file(dir.path()).exists());
    let guard = take(dir.path(), "apply").unwrap();
    guard.release().unwrap();
    assert!(!lock_file(dir.path()).exists());
    let _again = take(dir.path(), "apply").unwrap();
}

#[test]
fn a_broken_and_retaken_lock_is_left_to_its_new_holder() {
    let dir = tempfile::tempdir().unwrap();
    let old = take(dir.path(), "apply").unwrap();
    // Broken from elsewhere (this process is alive, so it takes `force`).
    let broken = unlock(dir.path(), ENV, old.id(), true).unwrap();
    assert_eq!(&broken, old.info());
    let new = take(dir.path(), "refresh").unwrap();

    drop(old);
    let on_disk = fs::read_to_string(lock_file(dir.path())).unwrap();
    assert!(on_disk.contains(new.id()), "{on_disk}");

    let old = {
        unlock(dir.path(), ENV, new.id(), true).unwrap();
        take(dir.path(), "apply").unwrap()
    };
    let err = new.release().unwrap_err();
    assert!(matches!(err, LockError::Lost { .. }), "{err:?}");
    let text = report(err);
    assert!(text.contains("was broken while this run held it"), "{text}");
    assert!(text.contains(old.id()), "{text}");
    assert!(lock_file(dir.path()).exists());
}

#[test]
fn unlock_with_a_wrong_id_is_refused_and_the_lock_stays() {
    let dir = tempfile::tempdir().unwrap();
    let guard = take(dir.path(), "apply").unwrap();
    let err = unlock(dir.path(), ENV, "0123456789abcdef0123456789abcdef", false).unwrap_err();
    assert!(matches!(err, LockError::WrongId { .. }), "{err:?}");
    let text = report(err);
    assert!(
        text.contains("`0123456789abcdef0123456789abcdef` does not match"),
        "{text}"
    );
    assert!(
        !text.contains(guard.id()),
        "a wrong id is not answered with the right one: {text}"
    );
    assert!(
        text.contains(&guard.info().holder()),
        "names the holder: {text}"
    );
    let path = lock_file(dir.path()).display().to_string();
    assert!(
        text.contains(&format!("hint: make sure that holder is gone, then pass the lock id written in `{path}` (its `id` field)")),
        "{text}"
    );
    assert!(lock_file(dir.path()).exists());

    let info = unlock(dir.path(), ENV, guard.id(), true).unwrap();
    assert_eq!(info.id, guard.id());
    assert!(!lock_file(dir.path()).exists());
}

#[test]
fn unlock_without_a_lock_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let err = unlock(dir.path(), ENV, "abc", false).unwrap_err();
    assert!(matches!(err, LockError::NotLocked { .. }), "{err:?}");
    let text = report(err);
    assert!(text.contains("state of `staging` is not locked"), "{text}");
    assert!(text.contains("staging.lock"), "{text}");
}

#[test]
fn a_waiting_acquire_gets_the_lock_once_it_is_released() {
    let dir = tempfile::tempdir().unwrap();
    let first = take(dir.path(), "apply").unwrap();
    let releaser = thread::spawn(move || {
        thread::sleep(Duration::from_millis(150));
        drop(first);
    });
    let started = Instant::now();
    let second = Lock::acquire(dir.path(), ENV, "apply", Duration::from_secs(1)).unwrap();
    assert!(started.elapsed() >= Duration::from_millis(100));
    releaser.join().unwrap();
    assert!(
        fs::read_to_string(lock_file(dir.path()))
            .unwrap()
            .contains(second.id())
    );
}

#[test]
fn a_waiting_acquire_gives_up_after_its_timeout() {
    let dir = tempfile::tempdir().unwrap();
    let _first = take(dir.path(), "apply").unwrap();
    let started = Instant::now();
    let err = Lock::acquire(dir.path(), ENV, "apply", Duration::from_millis(300)).unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(300));
    let text = report(err);
    assert!(text.contains("still held after waiting"), "{text}");
}

#[test]
fn a_holder_whose_pid_is_gone_is_called_out() {
    let dir = tempfile::tempdir().unwrap();
    if system::pid_is_running(std::process::id()).is_none() {
        return; // no /proc: liveness cannot be told here
    }
    let dead = LockInfo {
        id: "feedfacefeedfacefeedfacefeedface".into(),
        operation: "apply".into(),
        user: "alice".into(),
        host: system::hostname(),
        pid: u32::MAX,
        created_at: "2026-11-25T13:00:00Z".into(),
        dmgmt_version: "0.1.0".into(),
    };
    fs::write(lock_file(dir.path()), serde_json::to_string(&dead).unwrap()).unwrap();
    let err = take(dir.path(), "apply").unwrap_err();
    assert!(
        matches!(
            err,
            LockError::Locked {
                holder_gone: true,
                ..
            }
        ),
        "{err:?}"
    );
    let text = report(err);
    assert!(
        text.contains(&format!(
            "pid {} is no longer running on this host",
            u32::MAX
        )),
        "{text}"
    );
    assert!(
        text.contains("the holder is gone: break the lock with `dmgmt unlock -e staging feedfacefeedfacefeedfacefeedface`"),
        "{text}"
    );

    let elsewhere = LockInfo {
        host: format!("not-{}", dead.host),
        ..dead
    };
    fs::write(
        lock_file(dir.path()),
        serde_json::to_string(&elsewhere).unwrap(),
    )
    .unwrap();
    let text = report(take(dir.path(), "apply").unwrap_err());
    assert!(!text.contains("no longer running"), "{text}");
}

#[test]
fn a_garbage_lock_file_is_held_by_unknown() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(lock_file(dir.path()), "not a lock").unwrap();
    let err = take(dir.path(), "apply").unwrap_err();
    assert!(
        matches!(err, LockError::Locked { holder: None, .. }),
        "{err:?}"
    );
    let path = lock_file(dir.path()).display().to_string();
    let text = report(err);
    assert!(text.contains("locked by unknown"), "{text}");
    assert!(text.contains(&format!("remove `{path}` by hand")), "{text}");

    let err = unlock(dir.path(), ENV, "abc", false).unwrap_err();
    assert!(matches!(err, LockError::Unreadable { .. }), "{err:?}");
    assert!(lock_file(dir.path()).exists());
}

#[test]
fn exactly_one_of_many_simultaneous_acquires_wins() {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let start = Arc::new(Barrier::new(6));
    let results: Vec<_> = (0..6)
        .map(|_| {
            let (dir, start) = (Arc::clone(&dir), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                take(dir.path(), "apply")
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .collect();
    let winners: Vec<&LockGuard> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(winners.len(), 1);
    for err in results.iter().filter_map(|r| r.as_ref().err()) {
        match err {
            LockError::Locked {
                holder: Some(info), ..
            } => assert_eq!(info.id, winners[0].id()),
            other => panic!("expected the winner as holder, got {other:?}"),
        }
    }
}

#[test]
fn unlock_refuses_a_holder_alive_on_this_host_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    // Held by this very process: alive, on this host.
    let guard = take(dir.path(), "apply").unwrap();
    let err = unlock(dir.path(), ENV, guard.id(), false).unwrap_err();
    assert!(matches!(err, LockError::HolderAlive { .. }), "{err:?}");
    let text = report(err);
    assert!(
        text.contains(&format!(
            "pid {} is still running on this host",
            std::process::id()
        )),
        "{text}"
    );
    assert!(text.contains("`--force`"), "{text}");
    assert!(guard.check().is_ok(), "the lock stays");

    unlock(dir.path(), ENV, guard.id(), true).unwrap();
    let err = guard.check().unwrap_err();
    assert!(
        matches!(err, LockError::Lost { holder: None, .. }),
        "{err:?}"
    );
    let new = take(dir.path(), "refresh").unwrap();
    let text = report(guard.check().unwrap_err());
    assert!(text.contains("was broken while this run held it"), "{text}");
    assert!(text.contains(new.id()), "{text}");
}

#[cfg(unix)]
#[test]
fn the_lock_file_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let _guard = take(dir.path(), "apply").unwrap();
    let mode = fs::metadata(lock_file(dir.path()))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}
