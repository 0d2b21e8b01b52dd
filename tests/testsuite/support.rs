//! Shared helpers: the real `dmgmt` binary with stable output, temporary projects, an in-process
//! emulator on `127.0.0.1:0` with clients for it, raw HTTP calls, and a sleeper that records
//! every pause the client takes.

use assert_cmd::Command;
use dmgmt::api::{Client, ClientConfig, ManagementKey, RateLimit, RetryPolicy, Sleeper};
use dmgmt::emulator::{
    self, EmulatorConfig, EmulatorHandle, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID,
};
use serde_json::Value;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The real binary, with colours off and no inherited Descope variables.
pub fn dmgmt() -> Command {
    let mut cmd = Command::cargo_bin("dmgmt").expect("the dmgmt binary is built");
    cmd.env("NO_COLOR", "1");
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("DESCOPE_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

/// Takes the lock of `env` in `state_dir` as a crashed run would leave it: the file stays, and
/// its pid is one that runs nowhere (so `unlock` may break it). Returns the lock id.
pub fn crashed_lock(state_dir: &Path, env: &str) -> String {
    let guard = dmgmt::state::Lock::acquire(state_dir, env, "apply", Duration::ZERO).unwrap();
    let id = guard.id().to_owned();
    std::mem::forget(guard);
    let path = state_dir.join(format!("{env}.lock"));
    let mut info: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    // Above any pid_max Linux allows (2^22).
    info["pid"] = Value::from(u32::MAX);
    std::fs::write(&path, info.to_string()).unwrap();
    id
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A temporary project holding `files` (path relative to the project root, content).
pub fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir_all(dir.path().join("environments")).expect("environments dir");
    for (path, content) in files {
        write(dir.path(), path, content.as_bytes());
    }
    dir
}

/// A temporary copy of the shipped `environments/`.
pub fn shipped_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &repo_root().join("environments"),
        &dir.path().join("environments"),
    );
    dir
}

pub fn write(root: &Path, rel: &str, content: &[u8]) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("parent dir");
    }
    std::fs::write(&path, content).expect("write file");
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Every file under `root`, at any depth.
pub fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(
                std::fs::read_dir(&path)
                    .expect("read dir")
                    .flatten()
                    .map(|e| e.path()),
            );
        } else {
            out.push(path);
        }
    }
    out
}

/// Fails naming the first file under `root` whose bytes hold `needle`; returns how many files
/// were checked.
pub fn assert_no_file_holds(root: &Path, needle: &str) -> usize {
    let files = files_under(root);
    for path in &files {
        let bytes = std::fs::read(path).expect("read file");
        assert!(
            !String::from_utf8_lossy(&bytes).contains(needle),
            "{} holds it",
            path.display()
        );
    }
    files.len()
}

/// The body of the object at `address` in the backup folder `folder`: its line of the bundle
/// `objects.jsonl`, as `manifest.json` places it (without the line break).
pub fn backup_body(folder: &Path, address: &str) -> Vec<u8> {
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    let file = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["address"] == address)
        .unwrap_or_else(|| panic!("`{address}` is not in the backup: {manifest:#}"));
    let line = usize::try_from(file["line"].as_u64().unwrap()).unwrap();
    let bundle = std::fs::read(folder.join("objects.jsonl")).unwrap();
    bundle
        .split(|b| *b == b'\n')
        .nth(line - 1)
        .unwrap_or_else(|| panic!("no line {line} in the bundle"))
        .to_vec()
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A small valid environment; tests add the defect they are about.
pub const MINIMAL_ENV: &str = "\
project_id: P2testExampleProjectId00001
management_key: ${env.DESCOPE_MANAGEMENT_KEY_TEST}
permissions:
  - name: billing.read
roles:
  - name: Viewer
    permissions: [billing.read]
tenants:
  - id: acme
    name: Acme Corp
    default_roles: [Viewer]
";

pub async fn start(config: EmulatorConfig) -> EmulatorHandle {
    emulator::start(config).await.expect("emulator starts")
}

pub async fn start_default() -> EmulatorHandle {
    start(EmulatorConfig::default()).await
}

/// Quick retries so fault tests do not wait for production backoffs.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base_delay: Duration::from_millis(1),
        max_delay: Duration::from_millis(5),
        ..RetryPolicy::default()
    }
}

pub fn config_for(handle: &EmulatorHandle) -> ClientConfig {
    let mut config = ClientConfig::new(LOCAL_PROJECT_ID, ManagementKey::new(LOCAL_MANAGEMENT_KEY));
    config.base_url = Some(handle.base_url());
    config.rate_limit = RateLimit {
        requests: 1000,
        per_seconds: 1,
    };
    config.retry = fast_retry();
    config
}

pub fn client_for(handle: &EmulatorHandle) -> Client {
    Client::new(config_for(handle)).expect("client builds")
}

/// Records each requested pause, then really sleeps it.
#[derive(Default)]
pub struct RecordingSleeper {
    pub pauses: Mutex<Vec<Duration>>,
}

impl RecordingSleeper {
    pub fn pauses(&self) -> Vec<Duration> {
        self.pauses.lock().unwrap().clone()
    }
}

impl Sleeper for RecordingSleeper {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        self.pauses.lock().unwrap().push(duration);
        Box::pin(tokio::time::sleep(duration))
    }
}

pub fn recording_client(config: ClientConfig) -> (Client, Arc<RecordingSleeper>) {
    let sleeper = Arc::new(RecordingSleeper::default());
    let client = Client::with_sleeper(config, sleeper.clone()).expect("client builds");
    (client, sleeper)
}

/// A raw answer: status, `Retry-After` and the JSON body.
pub struct Raw {
    pub status: u16,
    pub retry_after: Option<String>,
    pub body: Value,
}

impl Raw {
    pub fn code(&self) -> &str {
        self.body["errorCode"].as_str().unwrap_or_default()
    }

    /// Asserts an error answer with `status` and a non-empty `errorCode` equal to `code`.
    #[track_caller]
    pub fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert!(!self.code().is_empty(), "empty errorCode: {}", self.body);
        assert_eq!(self.code(), code, "body: {}", self.body);
        assert!(
            self.body["errorDescription"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Value {
        assert_eq!(self.status, 200, "body: {}", self.body);
        &self.body
    }
}

pub fn auth() -> String {
    format!("Bearer {LOCAL_PROJECT_ID}:{LOCAL_MANAGEMENT_KEY}")
}

/// Sends `method path` with an optional raw body and `Authorization` value.
pub async fn raw(
    handle: &EmulatorHandle,
    method: &str,
    path: &str,
    body: Option<&str>,
    auth: Option<&str>,
) -> Raw {
    let http = reqwest::Client::new();
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let mut req = http.request(method, format!("{}{path}", handle.base_url()));
    if let Some(a) = auth {
        req = req.header("Authorization", a);
    }
    if let Some(b) = body {
        req = req
            .header("Content-Type", "application/json")
            .body(b.to_owned());
    }
    let resp = req.send().await.expect("request sent");
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let text = resp.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("answer is not JSON: {text:?}"));
    Raw {
        status,
        retry_after,
        body,
    }
}

/// An authorised call with a JSON body (`None` = no body).
pub async fn call(handle: &EmulatorHandle, method: &str, path: &str, body: Option<Value>) -> Raw {
    let text = body.map(|b| b.to_string());
    raw(handle, method, path, text.as_deref(), Some(&auth())).await
}

pub async fn post(handle: &EmulatorHandle, path: &str, body: Value) -> Raw {
    call(handle, "POST", path, Some(body)).await
}

pub async fn get(handle: &EmulatorHandle, path: &str) -> Raw {
    call(handle, "GET", path, None).await
}
