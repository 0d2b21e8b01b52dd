//! A flow template of arbitrary bytes, used by a small valid environment with variables: parsing
//! and filling it (rendered and unrendered) must not panic, and every error points into the
//! template or the environment, at a line and column.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use dmgmt::config::{Project, load, load_unrendered};
use libfuzzer_sys::fuzz_target;

mod properties;

/// Valid with either shipped flow template (`environments/flows/`, the seeds): it defines every
/// variable they use, and a role and a tenant for a mutated flow to name.
const ENV: &str = "project_id: P2fUzZ0000000000000000000000\nmanagement_key: ${env.DESCOPE_KEY}\nvars:\n  app_url: https://app.example.com\n  brand_name: Fuzz Co\n  support_email: help@example.com\n  privacy_url: https://example.com/privacy\n  terms_url: https://example.com/terms\nroles:\n  - name: Viewer\ntenants:\n  - id: fuzz-tenant\n    name: Fuzz Tenant\nflows:\n  - id: fuzzed\n    template: flows/fuzzed.json\n    vars: {redirect_url: \"${var.app_url}/cb\"}\n";

/// A template that fills cleanly: the positive control that keeps [`ENV`] valid, so that a
/// fuzzed template can reach the typed desired state and not only the error paths.
const CONTROL: &str =
    r#"{"flow": {"name": "${var.brand_name}", "url": "${var.redirect_url}"}, "screens": []}"#;

fn env(name: &str) -> Option<String> {
    name.starts_with("DESCOPE").then(|| "K".repeat(40))
}

fn project() -> &'static (tempfile::TempDir, Project) {
    static PROJECT: OnceLock<(tempfile::TempDir, Project)> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("environments/flows")).expect("dir");
        std::fs::write(dir.path().join("environments/fuzz.yaml"), ENV).expect("env");
        let project = Project::discover(Some(dir.path()), Path::new("/")).expect("project");
        std::fs::write(dir.path().join("environments/flows/fuzzed.json"), CONTROL).expect("write");
        let loaded = load(&project, "fuzz", &env);
        assert!(
            loaded.desired.is_some(),
            "the fuzz environment must load: {:?}",
            loaded.diagnostics
        );
        (dir, project)
    })
}

fuzz_target!(|data: &[u8]| {
    let (dir, project) = project();
    std::fs::write(dir.path().join("environments/flows/fuzzed.json"), data).expect("write");
    for loaded in [
        load(project, "fuzz", &env),
        load_unrendered(project, "fuzz"),
    ] {
        properties::hold(&loaded);
    }
});
