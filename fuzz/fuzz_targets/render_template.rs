//! A flow template of arbitrary bytes, used by a small valid environment with variables: parsing
//! and filling it must not panic, and every error points into the template or the environment.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use dmgmt::config::{Project, Severity, load};
use libfuzzer_sys::fuzz_target;

const ENV: &str = "project_id: P2fUzZ0000000000000000000000\nmanagement_key: ${env.DESCOPE_KEY}\nvars:\n  app_url: https://app.example.com\n  brand_name: \"${x}\"\nflows:\n  - id: fuzzed\n    template: flows/fuzzed.json\n    vars: {redirect_url: \"${var.app_url}/cb\"}\n";

fn project() -> &'static (tempfile::TempDir, Project) {
    static PROJECT: OnceLock<(tempfile::TempDir, Project)> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("environments/flows")).expect("dir");
        std::fs::write(dir.path().join("environments/fuzz.yaml"), ENV).expect("env");
        let project = Project::discover(Some(dir.path()), Path::new("/")).expect("project");
        (dir, project)
    })
}

fuzz_target!(|data: &[u8]| {
    let (dir, project) = project();
    std::fs::write(dir.path().join("environments/flows/fuzzed.json"), data).expect("write");
    let env = |name: &str| name.starts_with("DESCOPE").then(|| "K".repeat(40));
    let loaded = load(project, "fuzz", &env);
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    assert_eq!(loaded.desired.is_none(), errors > 0);
    for d in &loaded.diagnostics {
        assert!(!loaded.sources.display(d.span.file).is_empty());
    }
});
