//! The bad-input corpus (docs/dev/README.md, "What the tests hold"): malformed environment files
//! and templates, each answered by `dmgmt validate` with a clear error naming the right file and
//! line, exit code 1, and never a panic.
//!
//! Every folder under `tests/corpus/` is one case: a minimal project root (`environments/...`)
//! with exactly one defect, plus an `expect` file of `key: value` lines (`#` starts a comment):
//!
//! ```text
//! env: bad                          # the environment to validate
//! file: environments/bad.yaml       # with `line`: `file:line:` must appear in stderr
//! line: 7
//! message: unknown key              # repeatable: a substring stderr must contain
//! also: environments/shared/x.yaml:5   # repeatable: a further `file:line:` stderr must contain
//! absent: K2secret                  # repeatable: a substring stderr must NOT contain
//! ```
//!
//! Each case runs against a copy of its folder in a temp dir, so nothing is written into the repo.
//! All cases run before the test fails, and the failure lists every broken case. The inputs that
//! are too big to commit (a 5 MB environment, a 1 MB line) are generated at run time, in
//! `corpus_generated.rs`.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;

/// The corpus must not silently shrink.
const MIN_CASES: usize = 30;
/// Generous for a debug build; a case that hits it (an alias bomb expanded for real, say) fails.
const TIMEOUT: Duration = Duration::from_secs(30);
/// Every case's `management_key` refers to this variable; the harness sets it to a dummy value.
const MANAGEMENT_KEY_VAR: &str = "DMGMT_CORPUS_MANAGEMENT_KEY";
/// Set by the harness for the baseline's `${env.*}` interpolation.
const OWNER_VAR: &str = "DMGMT_CORPUS_OWNER";
/// Set by the harness to a value holding `${`: the case of a placeholder left after filling.
const CALLBACK_VAR: &str = "DMGMT_CORPUS_CALLBACK";
/// Variables with this prefix are removed from the child's environment: the cases that need an
/// unset variable use them.
const UNSET_VAR_PREFIX: &str = "DMGMT_CORPUS_UNSET";

// ------------------------------------------------------------------------------------------------
// The corpus
// ------------------------------------------------------------------------------------------------

#[test]
fn every_corpus_case_fails_with_the_expected_error() {
    let cases = corpus_cases();
    assert!(
        cases.len() >= MIN_CASES,
        "the corpus holds {} cases, expected at least {MIN_CASES}",
        cases.len()
    );

    let mut report = String::new();
    let mut broken = 0;
    for case in &cases {
        let problems = match run_case(case) {
            Ok(problems) => problems,
            Err(setup) => vec![format!("cannot run the case: {setup}")],
        };
        if !problems.is_empty() {
            broken += 1;
            let name = case
                .file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default();
            let _ = writeln!(report, "\n=== {name}");
            for problem in problems {
                let _ = writeln!(report, "  - {problem}");
            }
        }
    }
    assert!(
        broken == 0,
        "{broken} of {} corpus cases failed:\n{report}",
        cases.len()
    );
}

/// The case folders, sorted by name.
fn corpus_cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let entries =
        fs::read_dir(&root).unwrap_or_else(|e| panic!("cannot read {}: {e}", root.display()));
    let mut cases: Vec<PathBuf> = entries
        .map(|entry| entry.expect("readable corpus entry").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

/// Runs one case; returns what is wrong with dmgmt's answer (empty when it is right), or an error
/// when the case itself cannot be set up.
fn run_case(case: &Path) -> Result<Vec<String>, String> {
    let expect_text =
        fs::read_to_string(case.join("expect")).map_err(|e| format!("`expect`: {e}"))?;
    let expect = Expect::parse(&expect_text)?;
    let project = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    copy_dir(
        &case.join("environments"),
        &project.path().join("environments"),
    )
    .map_err(|e| format!("copying the case: {e}"))?;

    let run = validate(project.path(), &expect.env)?;
    let mut problems = run.failure_problems();
    let stderr = &run.stderr;
    let mut locations = vec![(expect.file.clone(), expect.line)];
    locations.extend(expect.also.iter().cloned());
    for (file, line) in &locations {
        if !mentions_location(stderr, file, *line) {
            problems.push(format!("stderr does not point at `{file}:{line}:`"));
        }
    }
    for message in &expect.messages {
        if !stderr.contains(message.as_str()) {
            problems.push(format!("stderr lacks `{message}`"));
        }
    }
    for secret in &expect.absent {
        if stderr.contains(secret.as_str()) || run.stdout.contains(secret.as_str()) {
            problems.push(format!(
                "the output shows `{secret}`, which must not appear"
            ));
        }
    }
    if !problems.is_empty() {
        problems.push(run.transcript());
    }
    Ok(problems)
}

/// A parsed `expect` file.
#[derive(Debug, Default)]
struct Expect {
    env: String,
    file: String,
    line: u32,
    messages: Vec<String>,
    also: Vec<(String, u32)>,
    absent: Vec<String>,
}

impl Expect {
    fn parse(text: &str) -> Result<Expect, String> {
        let mut expect = Expect::default();
        let (mut env, mut file, mut line) = (None, None, None);
        for (number, raw) in text.lines().enumerate() {
            let content = strip_comment(raw).trim();
            if content.is_empty() {
                continue;
            }
            let (key, value) = content
                .split_once(':')
                .map(|(k, v)| (k.trim(), v.trim().to_owned()))
                .ok_or_else(|| format!("`expect` line {}: expected `key: value`", number + 1))?;
            match key {
                "env" => env = Some(value),
                "file" => file = Some(value),
                "line" => line = Some(parse_line(&value)?),
                "message" => expect.messages.push(value),
                "also" => {
                    let (path, at) = value
                        .rsplit_once(':')
                        .ok_or_else(|| format!("`also: {value}` is not `file:line`"))?;
                    expect.also.push((path.to_owned(), parse_line(at)?));
                }
                "absent" => expect.absent.push(value),
                other => {
                    return Err(format!(
                        "`expect` line {}: unknown key `{other}`",
                        number + 1
                    ));
                }
            }
        }
        expect.env = env.ok_or("`expect` has no `env:`")?;
        expect.file = file.ok_or("`expect` has no `file:`")?;
        expect.line = line.ok_or("`expect` has no `line:`")?;
        Ok(expect)
    }
}

/// A `#` at the start of a line or after whitespace starts a comment.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    let at = (0..bytes.len())
        .find(|&i| bytes[i] == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()));
    at.map_or(line, |i| &line[..i])
}

fn parse_line(value: &str) -> Result<u32, String> {
    match value.trim().parse() {
        Ok(line) if line >= 1 => Ok(line),
        _ => Err(format!("`{value}` is not a line number (1-based)")),
    }
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for entry in fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

// ------------------------------------------------------------------------------------------------
// Running dmgmt
// ------------------------------------------------------------------------------------------------

/// The outcome of one `dmgmt validate`.
pub(crate) struct Run {
    /// `None` when killed by a signal (a crash, or the timeout).
    pub(crate) code: Option<i32>,
    timed_out: bool,
    stdout: String,
    pub(crate) stderr: String,
}

/// Runs `dmgmt --dir ROOT --color never validate -e ENV`.
pub(crate) fn validate(root: &Path, env: &str) -> Result<Run, String> {
    let mut cmd = Command::cargo_bin("dmgmt").map_err(|e| format!("the dmgmt binary: {e}"))?;
    cmd.arg("--dir")
        .arg(root)
        .args(["--color", "never", "validate", "-e", env])
        .env("NO_COLOR", "1")
        .env(MANAGEMENT_KEY_VAR, "corpus-dummy-management-key")
        .env(OWNER_VAR, "platform-team")
        .env(CALLBACK_VAR, "${session.url}")
        .env_remove("RUST_BACKTRACE")
        .timeout(TIMEOUT);
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with(UNSET_VAR_PREFIX) {
            cmd.env_remove(name);
        }
    }
    let started = Instant::now();
    let Output {
        status,
        stdout,
        stderr,
    } = cmd.output().map_err(|e| format!("running dmgmt: {e}"))?;
    Ok(Run {
        code: status.code(),
        timed_out: status.code().is_none() && started.elapsed() >= TIMEOUT,
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    })
}

impl Run {
    /// What is wrong with this run as the answer to bad input: it must exit 1 without a panic
    /// and without claiming success.
    pub(crate) fn failure_problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        match self.code {
            Some(1) => {}
            Some(code) => problems.push(format!("exit code {code}, expected 1")),
            None if self.timed_out => problems.push(format!("no answer within {TIMEOUT:?}")),
            None => problems.push("killed by a signal (a crash?), expected exit code 1".to_owned()),
        }
        for sign in ["panicked", "RUST_BACKTRACE"] {
            if self.stderr.contains(sign) {
                problems.push(format!("stderr contains `{sign}`"));
            }
        }
        if let Some(claim) = success_claim(&self.stdout) {
            problems.push(format!("stdout claims success (`{claim}`)"));
        }
        problems
    }

    /// stdout and stderr, shortened, for a failure report.
    pub(crate) fn transcript(&self) -> String {
        format!(
            "exit code: {:?}\n    stdout: {}\n    stderr:\n{}",
            self.code,
            excerpt(&self.stdout, 300).trim_end(),
            indent(&excerpt(&self.stderr, 2_000))
        )
    }
}

/// Whether `file:line:` appears at the start of a word (so an absolute path does not count).
pub(crate) fn mentions_location(stderr: &str, file: &str, line: u32) -> bool {
    let needle = format!("{file}:{line}:");
    stderr.match_indices(&needle).any(|(at, _)| {
        stderr[..at]
            .chars()
            .next_back()
            .is_none_or(char::is_whitespace)
    })
}

/// The phrase in stdout that reads like "all good", if any.
fn success_claim(stdout: &str) -> Option<String> {
    let lower = stdout.to_lowercase();
    const PHRASES: [&str; 9] = [
        "is valid",
        "are valid",
        "success",
        "no errors",
        "no problems",
        "passed",
        "all good",
        "✓",
        "✔",
    ];
    if let Some(phrase) = PHRASES.iter().find(|p| lower.contains(*p)) {
        return Some((*phrase).to_owned());
    }
    lower
        .split(|c: char| !c.is_alphanumeric())
        .find(|word| *word == "ok")
        .map(str::to_owned)
}

/// At most `max` characters of `text` (cut on a character boundary).
fn excerpt(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((cut, _)) => format!("{}… [{} more bytes]", &text[..cut], text.len() - cut),
        None => text.to_owned(),
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|line| format!("      | {line}\n"))
        .collect()
}

/// A project root in a temp dir holding `environments/<env>.yaml`.
pub(crate) fn project_with(env: &str, content: &str) -> tempfile::TempDir {
    let project = tempfile::tempdir().expect("temp dir");
    let environments = project.path().join("environments");
    fs::create_dir_all(&environments).expect("create environments/");
    fs::write(environments.join(format!("{env}.yaml")), content).expect("write the environment");
    project
}

/// The positive control: the constructs the corpus builds on (includes, tenant-scoped roles,
/// default roles, `$${`, `${var.*}` and `${env.*}`, flow and theme templates) validate cleanly,
/// so each corpus case fails only because of its one defect.
#[test]
fn the_corpus_baseline_is_valid() {
    let project = project_with("staging", BASELINE_ENV);
    let environments = project.path().join("environments");
    fs::create_dir_all(environments.join("shared")).expect("create shared/");
    fs::create_dir_all(environments.join("flows")).expect("create flows/");
    fs::write(environments.join("shared/common.yaml"), BASELINE_SHARED).expect("write shared");
    fs::write(environments.join("flows/sign-up-or-in.json"), BASELINE_FLOW).expect("write flow");
    fs::write(environments.join("flows/theme.json"), BASELINE_THEME).expect("write theme");
    let run = validate(project.path(), "staging").expect("run dmgmt");
    assert_eq!(
        run.code,
        Some(0),
        "the baseline must be valid:\n{}",
        run.transcript()
    );
    assert!(
        !run.stderr.contains("error"),
        "the baseline must be valid:\n{}",
        run.transcript()
    );
}

const BASELINE_ENV: &str = r##"project_id: P2corpusExampleProjectId0001
management_key: ${env.DMGMT_CORPUS_MANAGEMENT_KEY}
base_url: https://api.descope.com
emulator: false
protected: false
rate_limit: { requests: 100, per_seconds: 60 }
parallelism: 4
backups: { retention_days: 30, keep_min: 5 }
include: [shared/common.yaml]
vars:
  company: Acme
  seats: 50
  sso_default: false

permissions:
  - name: billing.read
    description: Read invoices
  - name: billing.write
    description: Create and pay invoices
    renamed_from: billing.pay
  - name: users.manage
    description: Invite and remove users (costs $${seat_price} per seat)
    prevent_destroy: true

roles:
  - name: Viewer
    description: Read-only access for ${var.company}, owned by ${env.DMGMT_CORPUS_OWNER}
    permissions: [billing.read, audit.read]
  - name: Billing Admin
    description: Manages billing
    permissions: [billing.read, billing.write]
    renamed_from: Billing Manager
  - name: Acme Auditor
    description: Audits the invoices of one tenant
    tenant: acme
    permissions: [billing.read]
  - name: Billing Admin
    description: The same name as the project role, scoped to one tenant
    tenant: acme
    permissions: [billing.read]
    prevent_destroy: true

tenants:
  - id: acme
    name: Acme Corp
    self_provisioning_domains: [acme.com, acme.io]
    custom_attributes: { plan: enterprise, seats: 50, sso_ready: true, regions: [eu, us] }
    enforce_sso: false
    default_roles: [Viewer, Acme Auditor]
    prevent_destroy: true
  - id: globex_inc.eu-1
    name: Globex Inc
    disabled: false
    default_roles: [Viewer]

flows:
  - id: sign-up-or-in
    template: flows/sign-up-or-in.json
    vars: { redirect_url: "https://app.example.com/done" }
    prevent_destroy: true

theme:
  template: flows/theme.json
  vars: { brand_color: "#4f46e5" }
"##;

const BASELINE_SHARED: &str = "# Permissions every environment shares.
permissions:
  - name: audit.read
    description: Read the audit trail of ${var.company}
";

const BASELINE_FLOW: &str = r#"{
  "flow": {
    "id": "sign-up-or-in",
    "name": "Sign Up or In",
    "description": "Passwordless sign-in by email",
    "disabled": false
  },
  "screens": [
    {
      "id": "SC2welcome",
      "flowId": "sign-up-or-in",
      "inputs": { "redirectUrl": "${var.redirect_url}", "price": "$${price}" },
      "interactions": [ { "id": "email-otp", "label": "Continue" } ]
    }
  ]
}
"#;

const BASELINE_THEME: &str = r##"{
  "theme": {
    "light": { "colors": { "primary": "${var.brand_color}" } },
    "dark": { "colors": { "primary": "#1f2937" } }
  }
}
"##;
