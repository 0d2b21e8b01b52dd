//! The bad inputs too big to commit to `tests/corpus/`, generated at run time: a ~5 MB
//! environment with one late defect (its line must be named) or none (it must pass), and a 1 MB
//! line. Each answered by `dmgmt validate` without a panic, as `corpus.rs`'s cases are.

use crate::corpus::{Run, mentions_location, project_with, validate};

/// A text built line by line, so the test knows the number of every line it wrote.
#[derive(Default)]
struct Lines {
    text: String,
    count: u32,
}

impl Lines {
    /// Appends one line and returns its 1-based number.
    fn push(&mut self, line: &str) -> u32 {
        self.text.push_str(line);
        self.text.push('\n');
        self.count += 1;
        self.count
    }
}

/// The start of a valid environment with one project role, `Viewer`, for tenants to use.
fn environment_header() -> Lines {
    let mut lines = Lines::default();
    for line in [
        "project_id: P2corpusExampleProjectId0001",
        "management_key: ${env.DMGMT_CORPUS_MANAGEMENT_KEY}",
        "parallelism: 8",
        "vars:",
        "  company: Acme",
        "permissions:",
        "  - name: billing.read",
        "    description: Read invoices",
        "roles:",
        "  - name: Viewer",
        "    description: Read-only access for ${var.company}",
        "    permissions: [billing.read]",
    ] {
        lines.push(line);
    }
    lines
}

const BIG_TENANTS: usize = 25_000;

/// A ~5 MB environment of `BIG_TENANTS` tenants. With `defect_in`, that tenant (0-based) gets an
/// unknown key, and the line of that key is returned.
fn big_environment(defect_in: Option<usize>) -> (String, Option<u32>) {
    let mut lines = environment_header();
    let mut defect_line = None;
    lines.push("tenants:");
    for i in 0..BIG_TENANTS {
        lines.push(&format!("  - id: tenant-{i:05}"));
        lines.push(&format!("    name: Tenant {i:05} Holdings"));
        lines.push(&format!(
            "    self_provisioning_domains: [t{i:05}.example.com]"
        ));
        lines.push(&format!(
            "    custom_attributes: {{ plan: enterprise, seats: {} }}",
            i % 500 + 1
        ));
        if defect_in == Some(i) {
            defect_line = Some(lines.push("    enforce_ssso: false"));
        } else {
            lines.push("    enforce_sso: false");
        }
        lines.push("    default_roles: [Viewer]");
    }
    assert!(
        lines.text.len() >= 5_000_000,
        "the big environment is only {} bytes",
        lines.text.len()
    );
    (lines.text, defect_line)
}

fn assert_no_panic(run: &Run) {
    assert!(
        !run.stderr.contains("panicked") && run.code.is_some(),
        "dmgmt crashed:\n{}",
        run.transcript()
    );
}

#[test]
fn a_5mb_environment_with_one_late_defect_names_its_line() {
    let (content, line) = big_environment(Some(BIG_TENANTS - 1_000));
    let line = line.expect("the defect was written");
    let project = project_with("big", &content);
    let run = validate(project.path(), "big").expect("run dmgmt");
    let mut problems = run.failure_problems();
    if !mentions_location(&run.stderr, "environments/big.yaml", line) {
        problems.push(format!(
            "stderr does not point at `environments/big.yaml:{line}:`"
        ));
    }
    if !run.stderr.contains("did you mean `enforce_sso`") {
        problems.push("stderr lacks the suggestion `enforce_sso`".to_owned());
    }
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        run.transcript()
    );
}

#[test]
fn a_valid_5mb_environment_passes() {
    let (content, _) = big_environment(None);
    let project = project_with("big", &content);
    let run = validate(project.path(), "big").expect("run dmgmt");
    assert_eq!(
        run.code,
        Some(0),
        "size alone must not be an error:\n{}",
        run.transcript()
    );
}

#[test]
fn a_1mb_line_does_not_panic() {
    // Multi-byte characters, so that cutting the line for display at a byte offset would panic.
    let long = "Ünïcødé ✓ ".repeat(1 << 16);
    assert!(long.len() >= 1 << 20);

    let mut valid = environment_header();
    valid.push(&format!("  - name: billing.long\n    description: {long}"));
    let project = project_with("long", &valid.text);
    let run = validate(project.path(), "long").expect("run dmgmt");
    assert_no_panic(&run);
    assert_eq!(
        run.code,
        Some(0),
        "a long description is valid:\n{}",
        run.transcript()
    );

    let mut invalid = environment_header();
    invalid.push("  - name: billing.long");
    let line = invalid.push(&format!("    description: {long}${{var.not_defined}}"));
    let project = project_with("long", &invalid.text);
    let run = validate(project.path(), "long").expect("run dmgmt");
    assert_no_panic(&run);
    let mut problems = run.failure_problems();
    if !mentions_location(&run.stderr, "environments/long.yaml", line) {
        problems.push(format!(
            "stderr does not point at `environments/long.yaml:{line}:`"
        ));
    }
    if !run.stderr.contains("undefined variable") {
        problems.push("stderr lacks `undefined variable`".to_owned());
    }
    assert!(
        problems.is_empty(),
        "{}\n{}",
        problems.join("\n"),
        run.transcript()
    );
}
