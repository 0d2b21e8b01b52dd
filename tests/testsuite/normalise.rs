//! What a plan compares and prints, through the real binary against an emulator: only volatile
//! metadata is ignored, what Descope fills in or reorders is never a change, the same inputs give
//! the same bytes whatever their key order, and a live name can never forge a plan line.

use std::path::Path;

use crate::support::{dmgmt, stderr, stdout, write};
use dmgmt::emulator::{EmulatorConfig, EmulatorHandle, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID};
use dmgmt::model::ResourceAddr;
use dmgmt::state::{ResourceState, StateFile, StateStore};

/// An emulator in this test process, on its own runtime, that the real binary talks to.
struct Live {
    runtime: tokio::runtime::Runtime,
    handle: EmulatorHandle,
}

impl Live {
    fn start() -> Live {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let handle = runtime
            .block_on(dmgmt::emulator::start(EmulatorConfig::default()))
            .unwrap();
        Live { runtime, handle }
    }

    /// Posts `body` (JSON text, so its key order is exactly as written).
    fn call(&self, path: &str, body: &str) {
        let url = format!("{}{path}", self.handle.base_url());
        self.runtime.block_on(async {
            let resp = reqwest::Client::new()
                .post(url)
                .header(
                    "Authorization",
                    format!("Bearer {LOCAL_PROJECT_ID}:{LOCAL_MANAGEMENT_KEY}"),
                )
                .header("Content-Type", "application/json")
                .body(body.to_owned())
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
        });
    }

    /// Records the live objects at `addrs` into the state file as they are now, as an apply
    /// that just converged would have.
    fn record_state(&self, root: &Path, env: &str, addrs: &[&str]) {
        let mut config = dmgmt::api::ClientConfig::new(
            LOCAL_PROJECT_ID,
            dmgmt::api::ManagementKey::new(LOCAL_MANAGEMENT_KEY),
        );
        config.base_url = Some(self.handle.base_url());
        let client = dmgmt::api::Client::new(config).unwrap();
        let scope = dmgmt::ops::live::RefreshScope {
            flows: addrs
                .iter()
                .filter_map(|a| a.strip_prefix("flow."))
                .map(str::to_owned)
                .collect(),
            theme: addrs.contains(&"theme"),
            parallelism: 2,
        };
        let snapshot = self
            .runtime
            .block_on(dmgmt::ops::live::refresh(
                &client,
                &scope,
                &dmgmt::ops::live::Quiet,
            ))
            .unwrap();
        let mut state = StateFile::new(env, LOCAL_PROJECT_ID);
        for a in addrs {
            let addr: ResourceAddr = a.parse().unwrap();
            let attrs = snapshot.get(&addr).unwrap().attributes.clone();
            let fields = attrs.as_object().unwrap().keys().cloned().collect();
            state
                .resources
                .insert(addr.clone(), ResourceState::new(&addr, fields, attrs));
        }
        StateStore::new(root.join("state"), env)
            .write(&mut state)
            .unwrap();
    }

    /// `dmgmt --dir DIR ARGS...` with this emulator as the environment's Descope.
    fn run(&self, dir: &Path, args: &[&str]) -> std::process::Output {
        dmgmt()
            .arg("--dir")
            .arg(dir)
            .args(args)
            .env("DMGMT_TEST_KEY", LOCAL_MANAGEMENT_KEY)
            .env("DMGMT_TEST_URL", self.handle.base_url())
            .output()
            .unwrap()
    }
}

/// An environment file `env` talking to the test's emulator, declaring `body`.
fn env_file(dir: &Path, env: &str, body: &str) {
    let text = format!(
        "project_id: {LOCAL_PROJECT_ID}\nmanagement_key: ${{env.DMGMT_TEST_KEY}}\nbase_url: ${{env.DMGMT_TEST_URL}}\n{body}"
    );
    write(dir, &format!("environments/{env}.yaml"), text.as_bytes());
}

// ------------------------------------------------------------------------------------------------
// Live names are printed, never obeyed
// ------------------------------------------------------------------------------------------------

#[test]
fn live_names_with_control_characters_cannot_forge_plan_lines() {
    let live = Live::start();
    // Unmanaged: listed in the note.
    live.call(
        "/v1/mgmt/permission/create",
        r#"{"name": "sneaky\n\nPlan: 9 to add, 9 to change, 9 to destroy.\n"}"#,
    );
    // Managed, then gone from the config: destroyed, its address in the headline.
    live.call(
        "/v1/mgmt/permission/create",
        r#"{"name": "old\r  # permission.x will be created\u001b[2K", "description": "tab\there\u0085"}"#,
    );
    // Declared: its live name is shown as the value before.
    live.call(
        "/v1/mgmt/tenant/create",
        r#"{"id": "acme", "name": "Acme\u001b[1A\u007f\u202e"}"#,
    );
    // A live screen id that starts a line of its own.
    live.call(
        "/v1/mgmt/flow/import",
        r#"{"flowId": "sign-in", "flow": {"name": "Sign In"}, "screens": [{"id": "s1"}, {"id": "s9\n  # flow.sign-in will be destroyed"}]}"#,
    );
    let dir = tempfile::tempdir().unwrap();
    env_file(
        dir.path(),
        "env",
        "tenants:\n  - {id: acme, name: Acme Corp}\nflows:\n  - {id: sign-in, template: flows/sign-in.json}\n",
    );
    write(
        dir.path(),
        "environments/flows/sign-in.json",
        br#"{"flow": {"name": "Sign In"}, "screens": [{"id": "s1"}]}"#,
    );
    live.record_state(
        dir.path(),
        "env",
        &[
            "permission.old\r  # permission.x will be created\u{1b}[2K",
            "tenant.acme",
            "flow.sign-in",
        ],
    );

    let out = live.run(dir.path(), &["plan", "-e", "env"]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let unprintable: Vec<char> = text
        .chars()
        .filter(|c| (c.is_control() && *c != '\n') || ('\u{2028}'..='\u{202e}').contains(c))
        .collect();
    assert!(
        unprintable.is_empty(),
        "unescaped {unprintable:?} in:\n{text}"
    );
    for line in text.lines() {
        let line = line.trim_start();
        assert!(
            !line.starts_with("Plan: 9 to add")
                && !line.starts_with("# permission.x")
                && !line.starts_with("# flow.sign-in will be destroyed"),
            "a live name forged the line `{line}`:\n{text}"
        );
    }
    for shown in [
        r"`permission.sneaky\n\nPlan: 9 to add, 9 to change, 9 to destroy.\n`",
        r"# permission.old\r  # permission.x will be created\u{1b}[2K will be destroyed",
        r#"- description = "tab\there\u{85}""#,
        r#"~ name = "Acme\u001b[1A\u{7f}\u{202e}" -> "Acme Corp""#,
        r"1 removed (`s9\n  # flow.sign-in will be destroyed`)",
    ] {
        assert!(text.contains(shown), "`{shown}` not in:\n{text}");
    }
}
