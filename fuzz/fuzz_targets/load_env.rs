//! An environment file of arbitrary bytes, beside the shipped include and templates: loading it
//! (rendered and unrendered) must not panic, and a failed load names a file for every error.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use dmgmt::config::{Project, load, load_unrendered};
use libfuzzer_sys::fuzz_target;

mod properties;

/// A copy of the shipped `environments/` made once; each run rewrites only `fuzz.yaml`.
fn project() -> &'static (tempfile::TempDir, Project) {
    static PROJECT: OnceLock<(tempfile::TempDir, Project)> = OnceLock::new();
    PROJECT.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../environments");
        for sub in ["", "shared", "flows"] {
            std::fs::create_dir_all(dir.path().join("environments").join(sub)).expect("dir");
            for entry in std::fs::read_dir(shipped.join(sub)).expect("shipped files") {
                let entry = entry.expect("entry");
                if entry.file_type().expect("type").is_file() {
                    std::fs::copy(
                        entry.path(),
                        dir.path()
                            .join("environments")
                            .join(sub)
                            .join(entry.file_name()),
                    )
                    .expect("copy");
                }
            }
        }
        let project = Project::discover(Some(dir.path()), Path::new("/")).expect("project");
        (dir, project)
    })
}

fn env(name: &str) -> Option<String> {
    name.starts_with("DESCOPE").then(|| "K".repeat(40))
}

fuzz_target!(|data: &[u8]| {
    let (dir, project) = project();
    std::fs::write(dir.path().join("environments/fuzz.yaml"), data).expect("write");
    for loaded in [
        load(project, "fuzz", &env),
        load_unrendered(project, "fuzz"),
    ] {
        properties::hold(&loaded);
    }
});
