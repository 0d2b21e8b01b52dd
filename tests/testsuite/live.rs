//! An emulator in the test process, on its own runtime, that the real binary talks to: raw calls
//! to seed and edit it "in the console", its request log, a state recorded from what it holds (as
//! an apply that just converged would have written), and the `dmgmt` binary pointed at it
//! through `DMGMT_TEST_KEY` / `DMGMT_TEST_URL`.

use std::path::Path;
use std::process::Output;

use serde_json::Value;

use crate::support::{dmgmt, write};
use dmgmt::emulator::{EmulatorConfig, EmulatorHandle, LOCAL_PROJECT_ID};
use dmgmt::model::ResourceAddr;
use dmgmt::state::{ResourceState, StateFile, StateStore};

pub(crate) struct Live {
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) handle: EmulatorHandle,
    /// The management key the emulator accepts (`EmulatorConfig::management_key`).
    pub(crate) key: String,
}

impl Live {
    pub(crate) fn start() -> Live {
        Live::with(EmulatorConfig::default())
    }

    pub(crate) fn with(config: EmulatorConfig) -> Live {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let key = config.management_key.clone();
        let handle = runtime.block_on(dmgmt::emulator::start(config)).unwrap();
        Live {
            runtime,
            handle,
            key,
        }
    }

    /// `POST path` with `body`, answered 2xx; returns the answer.
    pub(crate) fn call(&self, path: &str, body: Value) -> Value {
        self.send(path, body.to_string())
    }

    /// `POST path` with `body` as written (so its key order is exactly the text's).
    pub(crate) fn call_text(&self, path: &str, body: &str) -> Value {
        self.send(path, body.to_owned())
    }

    /// `POST path` with `body`, whatever the answer: its status and body (an emulator injecting
    /// faults answers some calls 429, 502 or 503).
    pub(crate) fn try_call(&self, path: &str, body: &Value) -> (u16, Value) {
        let url = format!("{}{path}", self.handle.base_url());
        self.runtime.block_on(async {
            let resp = reqwest::Client::new()
                .post(url)
                .header("Authorization", self.auth())
                .json(body)
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            (status, resp.json().await.unwrap_or(Value::Null))
        })
    }

    fn auth(&self) -> String {
        format!("Bearer {LOCAL_PROJECT_ID}:{}", self.key)
    }

    fn send(&self, path: &str, body: String) -> Value {
        let url = format!("{}{path}", self.handle.base_url());
        self.runtime.block_on(async {
            let resp = reqwest::Client::new()
                .post(url)
                .header("Authorization", self.auth())
                .header("Content-Type", "application/json")
                .body(body)
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json().await.unwrap()
        })
    }

    /// `GET path` (query included), answered 2xx.
    pub(crate) fn get(&self, path: &str) -> Value {
        let url = format!("{}{path}", self.handle.base_url());
        self.runtime.block_on(async {
            let resp = reqwest::Client::new()
                .get(url)
                .header("Authorization", self.auth())
                .send()
                .await
                .unwrap();
            assert!(resp.status().is_success(), "{path}: {}", resp.status());
            resp.json().await.unwrap()
        })
    }

    /// Paths of the requests made so far, with their methods.
    pub(crate) fn requests(&self) -> Vec<String> {
        self.handle
            .request_log()
            .iter()
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// Records the live objects `addrs` into the state file of `env`, every attribute managed, as
    /// an apply that just converged would have; `edit` may change an entry's attributes first
    /// (an address not live gets `{}`), and the `guarded` ones get `prevent_destroy`.
    pub(crate) fn record_state(
        &self,
        root: &Path,
        env: &str,
        addrs: &[&str],
        edit: impl Fn(&str, &mut Value),
        guarded: &[&str],
    ) {
        let client = {
            let mut config = dmgmt::api::ClientConfig::new(
                LOCAL_PROJECT_ID,
                dmgmt::api::ManagementKey::new(self.key.clone()),
            );
            config.base_url = Some(self.handle.base_url());
            dmgmt::api::Client::new(config).unwrap()
        };
        let scope = dmgmt::ops::live::RefreshScope {
            flows: addrs
                .iter()
                .filter_map(|a| a.strip_prefix("flow."))
                .map(str::to_owned)
                .collect(),
            theme: addrs.contains(&"theme"),
            v2: Default::default(),
            role_tenants: Default::default(),
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
            let mut attrs = snapshot
                .get(&addr)
                .map_or_else(|| serde_json::json!({}), |o| o.attributes.clone());
            edit(a, &mut attrs);
            let fields = attrs
                .as_object()
                .unwrap()
                .keys()
                .filter(|k| *k != "document")
                .cloned()
                .collect();
            let mut entry = ResourceState::new(&addr, fields, attrs);
            entry.prevent_destroy = guarded.contains(a);
            state.resources.insert(addr, entry);
        }
        StateStore::new(root.join("state"), env)
            .write(&mut state)
            .unwrap();
    }

    /// `dmgmt --dir DIR ARGS...` with this emulator as the environment's Descope.
    pub(crate) fn run(&self, dir: &Path, args: &[&str]) -> Output {
        self.command(dir).args(args).output().unwrap()
    }

    /// `dmgmt --dir DIR ARGS...`, which must exit 0 (else the test fails showing its output);
    /// returns its stdout.
    pub(crate) fn run_ok(&self, dir: &Path, args: &[&str]) -> String {
        let out = self.run(dir, args);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}:\n{}{}",
            crate::support::stdout(&out),
            crate::support::stderr(&out)
        );
        crate::support::stdout(&out)
    }

    /// The `dmgmt --dir DIR` command with this emulator's key and URL in its environment.
    pub(crate) fn command(&self, dir: &Path) -> assert_cmd::Command {
        let mut cmd = dmgmt();
        cmd.arg("--dir")
            .arg(dir)
            .env("DMGMT_TEST_KEY", &self.key)
            .env("DMGMT_TEST_URL", self.handle.base_url());
        cmd
    }
}

/// Writes `environments/ENV.yaml` talking to the test's emulator (key and URL from
/// `DMGMT_TEST_KEY` / `DMGMT_TEST_URL`), declaring `body`.
pub(crate) fn env_file(root: &Path, env: &str, body: &str) {
    let text = format!(
        "project_id: {LOCAL_PROJECT_ID}\nmanagement_key: ${{env.DMGMT_TEST_KEY}}\nbase_url: ${{env.DMGMT_TEST_URL}}\n{body}"
    );
    write(root, &format!("environments/{env}.yaml"), text.as_bytes());
}
