//! dmgmt against Descopes that answer the other plausible way (`emulator::DescopeVariant`): where
//! `docs/descope-api.md` marks a fact UNSURE, or Descope may shape an answer unlike the SDKs'
//! examples, the same life of a project — first apply, a no-op apply, renames and deletes with
//! unmanaged roles in the way, an update of a role whose grants the configuration leaves alone —
//! converges through the real binary whichever way the emulator answers, with no false drift.

use serde_json::{Value, json};

use crate::apply::{ENV, apply, assert_no_changes, mutations};
use crate::live::{Live, env_file};
use crate::support::{stderr, stdout, write};
use dmgmt::emulator::{DescopeVariant, EmulatorConfig, ErrorBodies, NewTheme};

const FLOW: &str = r#"{"flow": {"id": "sign-in", "name": "Sign In", "dsl": {"start": "s1"}},
 "screens": [{"id": "s1", "htmlTemplate": {"title": "Welcome"}}]}"#;
const THEME: &str = r##"{"theme": {"cssTemplate": {"light": {"primary": "#0a0"}}}}"##;

/// The first configuration: permissions, project and tenant roles (one whose grants the
/// configuration does not write), `Tenant Admin` extended, two tenants, a flow and the theme.
const FIRST: &str = "\
permissions:
  - {name: billing.read, description: Read invoices}
  - {name: billing.write}
roles:
  - {name: Viewer, description: Read-only, permissions: [billing.read]}
  - {name: Helpdesk, description: Answers the phone}
  - {name: Auditor, tenant: acme, permissions: [billing.read, billing.write]}
  - {name: Support, tenant: beta, permissions: [billing.read]}
  - {name: Tenant Admin, permissions: [User Admin, SSO Admin, Impersonate, billing.write]}
tenants:
  - {id: acme, name: Acme Corp, self_provisioning_domains: [acme.com], custom_attributes: {plan: pro}, default_roles: [Viewer]}
  - {id: beta, name: Beta Inc, enforce_sso: true}
flows:
  - {id: sign-in, template: flows/sign-in.json}
theme:
  template: flows/theme.json
";

/// The second: `billing.read` renamed, `billing.write` and tenant `beta` (with its role) deleted,
/// a tenant renamed, the flow and the theme changed.
const SECOND: &str = "\
permissions:
  - {name: billing.view, description: Read invoices, renamed_from: billing.read}
roles:
  - {name: Viewer, description: Read-only, permissions: [billing.view]}
  - {name: Helpdesk, description: Answers the phone}
  - {name: Auditor, tenant: acme, permissions: [billing.view]}
  - {name: Tenant Admin, permissions: [User Admin, SSO Admin, Impersonate]}
tenants:
  - {id: acme, name: Acme Corporation, self_provisioning_domains: [acme.com], custom_attributes: {plan: pro}, default_roles: [Viewer]}
flows:
  - {id: sign-in, template: flows/sign-in.json}
theme:
  template: flows/theme.json
";

fn run_ok(live: &Live, root: &std::path::Path, step: &str, refresh: bool) {
    let out = apply(live, root, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{step}: the apply failed:\n{}{}",
        stdout(&out),
        stderr(&out)
    );
    if refresh {
        // What Descope did on its own to a role the plan left alone (a deleted permission taken
        // out of it) is drift by design — the plan warned of it; a refresh records it.
        let out = live.run(root, &["refresh", "-e", ENV]);
        assert_eq!(out.status.code(), Some(0), "{step}: {}", stderr(&out));
    }
    assert_no_changes(live, root);
}

/// The life of a project against `variant`: every apply succeeds and converges.
fn converges(variant: DescopeVariant, faults: bool) -> Live {
    let mut config = EmulatorConfig {
        variant,
        ..EmulatorConfig::default()
    };
    if faults {
        config.fault_rate = 0.15;
        config.lost_reply_rate = 0.15;
        config.seed = 11;
        config.rate_limit = Some(dmgmt::emulator::EmulatorRateLimit {
            requests: 20,
            per_seconds: 1,
        });
    }
    let live = Live::with(config);
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    env_file(root, ENV, FIRST);
    write(root, "environments/flows/sign-in.json", FLOW.as_bytes());
    write(root, "environments/flows/theme.json", THEME.as_bytes());
    run_ok(&live, root, "first apply", false);
    if !faults {
        let before = mutations(&live).len();
        run_ok(&live, root, "second apply", false);
        assert_eq!(
            mutations(&live).len(),
            before,
            "a no-op apply changed something"
        );
    }

    // By hand in the console: the role whose grants the configuration leaves alone is given
    // `billing.write`; an unmanaged project role grants it too; `beta` gets an unmanaged role.
    call(
        &live,
        "/v1/mgmt/role/update",
        json!({"name": "Helpdesk", "newName": "Helpdesk", "description": "Answers the phone",
            "permissionNames": ["billing.write"]}),
    );
    call(
        &live,
        "/v1/mgmt/role/create",
        json!({"name": "Legacy", "permissionNames": ["billing.write", "billing.read"]}),
    );
    call(
        &live,
        "/v1/mgmt/role/create",
        json!({"name": "Local", "tenantId": "beta"}),
    );
    env_file(root, ENV, SECOND);
    write(
        root,
        "environments/flows/sign-in.json",
        FLOW.replace("Welcome", "Welcome back").as_bytes(),
    );
    write(
        root,
        "environments/flows/theme.json",
        THEME.replace("#0a0", "#00a").as_bytes(),
    );
    run_ok(&live, root, "renames and deletes", true);

    // The role whose grants the configuration leaves alone is updated once more.
    env_file(
        root,
        ENV,
        &SECOND.replace("Answers the phone", "Answers the phone and mail"),
    );
    run_ok(
        &live,
        root,
        "an update of a role granting what was deleted",
        false,
    );
    live
}

/// A raw call "in the console", whatever the variant's answers look like: a 503 fault or a 429
/// is tried again a moment later, a 502 lost reply was applied.
fn call(live: &Live, path: &str, body: Value) {
    for _ in 0..40 {
        let (status, _) = live.try_call(path, &body);
        if (200..300).contains(&status) || status == 502 {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{path} kept failing");
}

macro_rules! variant_tests {
    ($($name:ident: $variant:expr;)*) => {$(
        #[test]
        fn $name() {
            converges($variant, false);
        }
    )*};
}

variant_tests! {
    converges_against_the_default_emulator: DescopeVariant::default();
    converges_when_role_all_leaves_tenant_roles_out: DescopeVariant {
        role_all_project_only: true,
        ..DescopeVariant::default()
    };
    converges_when_a_permission_rename_drops_it_from_roles: DescopeVariant {
        permission_rename_drops_from_roles: true,
        ..DescopeVariant::default()
    };
    converges_when_a_permission_delete_leaves_it_in_roles: DescopeVariant {
        permission_delete_keeps_in_roles: true,
        ..DescopeVariant::default()
    };
    converges_when_a_tenant_delete_leaves_its_roles: DescopeVariant {
        tenant_delete_keeps_roles: true,
        ..DescopeVariant::default()
    };
    converges_when_a_tenant_update_keeps_absent_fields: DescopeVariant {
        tenant_update_keeps_absent: true,
        ..DescopeVariant::default()
    };
    converges_when_a_tenant_load_is_wrapped: DescopeVariant {
        tenant_load_wrapped: true,
        ..DescopeVariant::default()
    };
    converges_when_missing_and_existing_objects_are_400: DescopeVariant {
        missing_is_bad_request: true,
        exists_is_bad_request: true,
        ..DescopeVariant::default()
    };
    converges_when_errors_are_not_json: DescopeVariant {
        error_bodies: ErrorBodies::Text,
        ..DescopeVariant::default()
    };
    converges_when_errors_have_no_code: DescopeVariant {
        error_bodies: ErrorBodies::EmptyCode,
        ..DescopeVariant::default()
    };
    converges_when_changes_are_answered_with_empty_bodies: DescopeVariant {
        empty_replies: true,
        ..DescopeVariant::default()
    };
    converges_when_listings_are_sparse_and_carry_unknown_fields: DescopeVariant {
        sparse_replies: true,
        ..DescopeVariant::default()
    };
    converges_when_a_new_projects_theme_export_is_empty: DescopeVariant {
        new_theme: NewTheme::Empty,
        ..DescopeVariant::default()
    };
    converges_when_a_new_projects_theme_export_has_no_theme: DescopeVariant {
        new_theme: NewTheme::Absent,
        ..DescopeVariant::default()
    };
}

/// Every other answer at once, with faults, lost replies and a tight rate limit whose 429s say
/// `Retry-After: 0` in plain text: read-backs meet 400s, text errors and empty bodies, and still
/// every apply converges.
#[test]
fn converges_against_every_other_answer_at_once_with_faults() {
    let live = converges(everything_unusual(), true);
    let log = live.handle.request_log();
    for status in [429, 502, 503] {
        assert!(log.iter().any(|e| e.status == status), "no {status}");
    }
}

/// Every other answer at once.
pub(crate) fn everything_unusual() -> DescopeVariant {
    DescopeVariant {
        role_all_project_only: true,
        permission_rename_drops_from_roles: true,
        permission_delete_keeps_in_roles: true,
        tenant_delete_keeps_roles: true,
        tenant_update_keeps_absent: true,
        tenant_load_wrapped: true,
        missing_is_bad_request: true,
        exists_is_bad_request: true,
        unauthorized_is_forbidden: true,
        error_bodies: ErrorBodies::Text,
        retry_after: dmgmt::emulator::RetryAfter::Zero,
        empty_replies: true,
        sparse_replies: true,
        new_theme: NewTheme::Absent,
        // Not `NotFound`: with `missing_is_bad_request` that would be a 400, which no client can
        // tell from a refused read.
        unset_settings: dmgmt::emulator::UnsetSettings::Empty,
    }
}

/// A new project, whatever its theme export looks like (`{}`, `{"theme": {}}` or the default
/// theme): import writes a configuration that plans no change, a backup is taken, and after a
/// theme is applied, restoring the backup of the new project neither fails nor sends an empty
/// theme.
#[test]
fn a_new_projects_theme_never_trips_import_backup_or_restore() {
    for new_theme in [NewTheme::Default, NewTheme::Absent, NewTheme::Empty] {
        let live = Live::with(EmulatorConfig {
            variant: DescopeVariant {
                new_theme,
                ..DescopeVariant::default()
            },
            ..EmulatorConfig::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        env_file(root, ENV, "");
        let ok = |args: &[&str]| {
            let out = live.run(root, args);
            assert_eq!(
                out.status.code(),
                Some(0),
                "{new_theme:?}: {args:?}:\n{}{}",
                stdout(&out),
                stderr(&out)
            );
            stdout(&out)
        };
        ok(&["import", "-e", ENV, "--write"]);
        ok(&["plan", "-e", ENV, "--detailed-exitcode"]);
        ok(&["backup", "-e", ENV]);
        let list: Value = serde_json::from_str(&ok(&["backups", "-e", ENV, "--json"])).unwrap();
        let id = list["backups"][0]["id"].as_str().unwrap().to_owned();

        let env = std::fs::read_to_string(root.join(format!("environments/{ENV}.yaml"))).unwrap();
        let env = env
            .lines()
            .filter(|l| !l.starts_with("theme:") && !l.starts_with("  template: flows/theme.json"))
            .collect::<Vec<_>>()
            .join("\n");
        write(
            root,
            &format!("environments/{ENV}.yaml"),
            format!("{env}\ntheme:\n  template: flows/theme.json\n").as_bytes(),
        );
        write(root, "environments/flows/theme.json", THEME.as_bytes());
        ok(&["apply", "-e", ENV, "--auto-approve"]);
        ok(&["restore", "-e", ENV, &id, "--auto-approve"]);
        let sent_empty = live.handle.request_log().iter().any(|e| {
            e.path.ends_with("/theme/import")
                && e.body["theme"].as_object().is_none_or(|t| t.is_empty())
        });
        assert!(!sent_empty, "{new_theme:?}: an empty theme was imported");
    }
}

/// Deleting a tenant warns of the unmanaged roles that may go with it, also when `role/all`
/// leaves tenant-scoped roles out (they are then searched for).
#[test]
fn a_tenant_delete_names_its_unmanaged_roles_whether_or_not_role_all_lists_them() {
    for role_all_project_only in [false, true] {
        let live = Live::with(EmulatorConfig {
            variant: DescopeVariant {
                role_all_project_only,
                ..DescopeVariant::default()
            },
            ..EmulatorConfig::default()
        });
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        env_file(
            root,
            ENV,
            "tenants:\n  - {id: acme, name: Acme}\n  - {id: beta, name: Beta}\n",
        );
        let out = apply(&live, root, &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        call(
            &live,
            "/v1/mgmt/role/create",
            json!({"name": "Local", "tenantId": "beta"}),
        );
        env_file(root, ENV, "tenants:\n  - {id: acme, name: Acme}\n");
        let out = live.run(root, &["plan", "-e", ENV]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert!(
            stdout(&out).contains(
                "deleting `tenant.beta` may also delete its role `role.beta/Local`, which dmgmt does not manage"
            ),
            "role/all project only: {role_all_project_only}\n{}",
            stdout(&out)
        );
    }
}

/// A wrong key, whether Descope answers 401 or 403, and with or without its JSON: exit 1, the
/// status, and the hint to check the key and the project id.
#[test]
fn a_wrong_key_is_explained_whether_descope_answers_401_or_403() {
    for (unauthorized_is_forbidden, error_bodies) in [
        (false, ErrorBodies::Descope),
        (true, ErrorBodies::Descope),
        (true, ErrorBodies::Text),
    ] {
        let live = Live::with(EmulatorConfig {
            variant: DescopeVariant {
                unauthorized_is_forbidden,
                error_bodies,
                ..DescopeVariant::default()
            },
            ..EmulatorConfig::default()
        });
        let dir = tempfile::tempdir().unwrap();
        env_file(dir.path(), ENV, "");
        let out = live
            .command(dir.path())
            .env("DMGMT_TEST_KEY", "K2wrongKey")
            .args(["plan", "-e", ENV])
            .output()
            .unwrap();
        let err = stderr(&out);
        let status = if unauthorized_is_forbidden { 403 } else { 401 };
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(&format!("failed with HTTP {status}")), "{err}");
        assert!(
            err.contains("hint: check the management key in env var `DMGMT_TEST_KEY`"),
            "{err}"
        );
        assert!(!err.contains("K2wrongKey"), "{err}");
    }
}
