//! `refresh`, `state` and the lock through the real binary, on `plan.rs`'s rich scenario: drift
//! recorded, a corrupted state refused, a held lock named and broken, `state list|show|rm`, and
//! `plan --refresh-only`.

use serde_json::Value;

use crate::plan::scenario;
use crate::support::{stderr, stdout};
use dmgmt::model::ResourceAddr;
use dmgmt::state::StateStore;

#[test]
fn refresh_records_drift_and_a_second_refresh_finds_none() {
    let (dir, live) = scenario();
    let store = StateStore::new(dir.path().join("state"), "golden");
    let before = store.load().unwrap().unwrap();

    let out = live.run(
        dir.path(),
        &["refresh", "-e", "golden", "--detailed-exitcode"],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.contains("# tenant.acme has changed outside dmgmt\n  ~ tenant \"acme\" {\n      ~ enforce_sso = false -> true"), "{text}");
    assert!(
        text.contains("# tenant.gone has been deleted outside dmgmt"),
        "{text}"
    );
    assert!(text.contains("Note: 1 object in Descope is not managed by dmgmt and will not be touched (1 tenant): `tenant.stranger`."), "{text}");
    assert!(
        text.ends_with("State of `golden` written (serial 2).\n"),
        "{text}"
    );

    let after = store.load().unwrap().unwrap();
    assert_eq!(after.lineage, before.lineage);
    assert_eq!(
        after.resources[&"tenant.acme".parse::<ResourceAddr>().unwrap()].attributes["enforce_sso"],
        true
    );
    assert!(
        !after
            .resources
            .contains_key(&"tenant.gone".parse::<ResourceAddr>().unwrap())
    );
    assert!(
        store.backup_path().exists(),
        "the previous state is kept as .backup"
    );

    let again = live.run(
        dir.path(),
        &["refresh", "-e", "golden", "--detailed-exitcode", "--json"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    let doc: Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(
        (
            doc["drift"].as_array().unwrap().len(),
            doc["state_written"].as_bool(),
            doc["serial"].as_u64()
        ),
        (0, Some(false), Some(2))
    );
}

#[test]
fn a_corrupted_state_is_refused_naming_the_backup() {
    let (dir, live) = scenario();
    let path = dir.path().join("state/golden.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replace("Acme", "Acne")).unwrap();
    let before = live.requests().len();
    let out = live.run(dir.path(), &["plan", "-e", "golden"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("golden.json.backup"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        live.requests().len(),
        before,
        "nothing is called with a state that cannot be trusted"
    );

    std::fs::write(&path, &text[..text.len() / 2]).unwrap();
    let out = live.run(dir.path(), &["refresh", "-e", "golden"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("golden.json.backup"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_held_lock_names_its_holder_and_only_its_id_breaks_it() {
    let (dir, live) = scenario();
    let state_dir = dir.path().join("state");
    let id = crate::support::crashed_lock(&state_dir, "golden");

    let out = live.run(dir.path(), &["refresh", "-e", "golden"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("state of `golden` is locked by")
            && err.contains("apply")
            && err.contains(&id),
        "{err}"
    );
    assert!(
        err.contains(&format!("dmgmt unlock -e golden {id}")),
        "{err}"
    );
    // Nothing was refreshed: the lock error stands alone.
    assert!(!err.contains("Refreshing"), "{err}");
    let out = live.run(dir.path(), &["apply", "-e", "golden", "--auto-approve"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("is locked by"), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Refreshing"), "{}", stderr(&out));

    let wrong = live.run(
        dir.path(),
        &["unlock", "-e", "golden", "0123456789abcdef0123456789abcdef"],
    );
    assert_eq!(wrong.status.code(), Some(1));
    let refused = format!("{}{}", stdout(&wrong), stderr(&wrong));
    assert!(
        !refused.contains(&id),
        "a wrong id is not answered with the right one: {refused}"
    );
    assert!(
        refused.contains("golden.lock` (its `id` field)"),
        "{refused}"
    );
    assert!(state_dir.join("golden.lock").exists());
    let right = live.run(dir.path(), &["unlock", "-e", "golden", &id]);
    assert_eq!(right.status.code(), Some(0), "{}", stderr(&right));
    assert_eq!(
        live.run(dir.path(), &["refresh", "-e", "golden"])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn state_list_show_and_rm() {
    let (dir, live) = scenario();
    let list = live.run(dir.path(), &["state", "list", "-e", "golden"]);
    assert_eq!(
        stdout(&list),
        "permission.billing.read\npermission.billing.write\npermission.legacy.perm\nrole.Billing Manager\ntenant.acme\ntenant.gone\ntenant.old-co\nflow.sign-in\n"
    );
    let show = live.run(
        dir.path(),
        &["state", "show", "-e", "golden", "tenant.old-co"],
    );
    let entry: Value = serde_json::from_slice(&show.stdout).unwrap();
    assert_eq!(
        (entry["kind"].as_str(), entry["prevent_destroy"].as_bool()),
        (Some("tenant"), Some(true))
    );

    let calls = live.requests().len();
    let rm = live.run(
        dir.path(),
        &["state", "rm", "-e", "golden", "tenant.old-co"],
    );
    assert_eq!(rm.status.code(), Some(0), "{}", stderr(&rm));
    assert!(stderr(&rm).contains("It still exists in Descope"));
    assert!(
        !stderr(&rm).contains("still declared"),
        "no longer declared: {}",
        stderr(&rm)
    );
    assert_eq!(live.requests().len(), calls, "forgetting calls nothing");
    assert!(dir.path().join("state/golden.json.backup").exists());
    assert!(!stdout(&live.run(dir.path(), &["state", "list", "-e", "golden"])).contains("old-co"));
    // Now unmanaged: the plan lists it as a note instead of a guarded delete.
    let plan = stdout(&live.run(dir.path(), &["plan", "-e", "golden"]));
    assert!(
        plan.contains("`tenant.old-co`") && !plan.contains("tenant.old-co will be destroyed"),
        "{plan}"
    );

    let missing = live.run(dir.path(), &["state", "rm", "-e", "golden", "tenant.nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(stderr(&missing).contains("`tenant.nope` is not in the state of `golden`"));
}

#[test]
fn refresh_only_shows_drift_and_plans_nothing() {
    let (dir, live) = scenario();
    let out = live.run(
        dir.path(),
        &[
            "plan",
            "-e",
            "golden",
            "--refresh-only",
            "--detailed-exitcode",
        ],
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("Objects have changed outside of dmgmt since the last state:"),
        "{text}"
    );
    assert!(
        text.contains("This is a refresh-only plan: nothing will change in Descope."),
        "{text}"
    );
    assert!(
        !text.contains("will be created") && !text.contains("Plan:"),
        "{text}"
    );
}
