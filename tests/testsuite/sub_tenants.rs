//! Sub-tenants through the real binary: Descope refuses to delete a tenant that still has
//! sub-tenants (the emulator does too), so one apply deletes a child before its parent, and a
//! plan that deletes a tenant whose sub-tenant stays says so.

use serde_json::json;

use crate::apply::{ENV, apply, project};
use crate::live::{Live, env_file};
use crate::support::{stderr, stdout};

const FAMILY: &str = "tenants:\n  - {id: a-parent, name: Parent}\n  - {id: b-child, name: Child}\n  - {id: c-grandchild, name: Grandchild}\n";

/// Three generations live (made in the console: dmgmt does not set `parent`), all managed.
fn family() -> (Live, tempfile::TempDir) {
    let live = Live::start();
    for (id, name, parent) in [
        ("a-parent", "Parent", ""),
        ("b-child", "Child", "a-parent"),
        ("c-grandchild", "Grandchild", "b-child"),
    ] {
        live.call(
            "/v1/mgmt/tenant/create",
            json!({"id": id, "name": name, "parent": parent}),
        );
    }
    let dir = project(FAMILY);
    let out = apply(&live, dir.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    (live, dir)
}

fn live_tenants(live: &Live) -> Vec<String> {
    live.get("/v1/mgmt/tenant/all")["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn the_emulator_refuses_to_delete_a_tenant_with_sub_tenants() {
    let (live, _dir) = family();
    let (status, body) = live.try_call("/v1/mgmt/tenant/delete", &json!({"id": "a-parent"}));
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["errorDescription"], "Already exists");
    assert_eq!(body["errorMessage"], "tenant has sub-tenants");
}

#[test]
fn one_apply_deletes_the_children_before_their_parent() {
    let (live, dir) = family();
    env_file(dir.path(), ENV, "tenants: []\n");
    let out = apply(&live, dir.path(), &["--parallelism", "4"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(live_tenants(&live).is_empty(), "{:?}", live_tenants(&live));
    let deletes: Vec<String> = live
        .requests()
        .into_iter()
        .filter(|r| r.ends_with("/tenant/delete"))
        .collect();
    assert_eq!(deletes.len(), 3, "each delete sent once: {deletes:?}");
    crate::apply::assert_no_changes(&live, dir.path());
}

#[test]
fn deleting_a_tenant_whose_sub_tenant_stays_is_warned() {
    let (live, dir) = family();
    // The grandchild and the child leave the configuration and the state: unmanaged from now on.
    for addr in ["tenant.b-child", "tenant.c-grandchild"] {
        let out = live.run(dir.path(), &["state", "rm", addr, "-e", ENV]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
    env_file(dir.path(), ENV, "tenants: []\n");
    let out = live.run(dir.path(), &["plan", "-e", ENV]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains("# tenant.a-parent will be destroyed"),
        "{text}"
    );
    assert!(
        text.contains(
            "`tenant.a-parent` has sub-tenant `tenant.b-child`, which this plan does not delete"
        ),
        "{text}"
    );
}
