//! Bounded fuzzing of the loader and the template renderer, run by `cargo test`: arbitrary bytes
//! and mutations of the shipped environment files and templates (`environments/`). Whatever the
//! input, loading must not panic, and a load that gives no desired state must say why with at
//! least one error naming a file that was read, at a line and column. The unbounded version is
//! `fuzz/` (`cargo fuzz run …`, see docs/dev/fuzzing.md).

use std::path::Path;

use proptest::prelude::*;

use super::project::Project;
use super::source::Severity;
use super::{Loaded, load, load_unrendered};

/// The shipped `dev` environment: an include, vars, all kinds of resources, both templates.
const FILES: [&str; 5] = [
    "dev.yaml",
    "shared/common.yaml",
    "flows/sign-up-or-in.json",
    "flows/step-up.json",
    "flows/theme.json",
];

/// Pieces that mean something to YAML, to interpolation or to JSON: mutations built from them
/// reach further than random bytes.
const TOKENS: [&str; 24] = [
    "${",
    "}",
    "${var.",
    "${env.",
    "$${",
    ":",
    "- ",
    "\n",
    "\n  ",
    "\t",
    "&a ",
    "*a",
    "!!str ",
    "<<: ",
    "{",
    "[",
    "\"",
    "'",
    "#",
    "include:",
    "template:",
    "\u{feff}",
    "\\u0000",
    "\u{1F600}",
];

fn shipped(file: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("environments")
        .join(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A project holding the shipped files, one of them replaced by `bytes`.
fn project_with(dir: &Path, replaced: &str, bytes: &[u8]) -> Project {
    for file in FILES {
        let path = dir.join("environments").join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        if file == replaced {
            std::fs::write(&path, bytes).unwrap();
        } else {
            std::fs::write(&path, shipped(file)).unwrap();
        }
    }
    Project::discover(Some(dir), Path::new("/")).unwrap()
}

fn env(name: &str) -> Option<String> {
    name.starts_with("DESCOPE").then(|| "K".repeat(40))
}

/// The property: a failed load has an error, and every diagnostic points into a file it read.
fn check(loaded: &Loaded, what: &str) -> Result<(), TestCaseError> {
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    prop_assert_eq!(
        loaded.desired.is_none(),
        errors > 0,
        "{}: desired state present = {} with {} errors",
        what,
        loaded.desired.is_some(),
        errors
    );
    for d in &loaded.diagnostics {
        let display = loaded.sources.display(d.span.file);
        prop_assert!(
            !display.is_empty() && d.span.line >= 1 && d.span.col >= 1,
            "{}: diagnostic without a place: {:?}",
            what,
            d
        );
        prop_assert!(!d.message.is_empty(), "{}: empty message", what);
    }
    Ok(())
}

fn run(replaced: &str, bytes: &[u8]) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with(dir.path(), replaced, bytes);
    check(&load(&project, "dev", &env), replaced)?;
    check(&load_unrendered(&project, "dev"), replaced)
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, bytes: Vec<u8> },
    Token { at: usize, token: usize },
    Duplicate { at: usize, len: usize, to: usize },
    Flip { at: usize, bit: u8 },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<usize>();
    prop_oneof![
        1 => (at, 1..64usize).prop_map(|(at, len)| Mutation::Delete { at, len }),
        1 => (at, proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert { at, bytes }),
        3 => (at, 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Token { at, token }),
        1 => (at, 1..200usize, any::<usize>())
            .prop_map(|(at, len, to)| Mutation::Duplicate { at, len, to }),
        1 => (at, 0..8u8).prop_map(|(at, bit)| Mutation::Flip { at, bit }),
        1 => at.prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let n = bytes.len();
        let pos = |at: usize| if n == 0 { 0 } else { at % (n + 1) };
        match m {
            Mutation::Delete { at, len } => {
                let start = pos(*at);
                let end = (start + len).min(n);
                bytes.drain(start..end);
            }
            Mutation::Insert { at, bytes: new } => {
                let at = pos(*at);
                bytes.splice(at..at, new.iter().copied());
            }
            Mutation::Token { at, token } => {
                let at = pos(*at);
                bytes.splice(at..at, TOKENS[*token].bytes());
            }
            Mutation::Duplicate { at, len, to } => {
                let start = pos(*at);
                let slice = bytes[start..(start + len).min(n)].to_vec();
                let to = pos(*to);
                bytes.splice(to..to, slice);
            }
            Mutation::Flip { at, bit } => {
                if n > 0 {
                    bytes[at % n] ^= 1 << bit;
                }
            }
            Mutation::Truncate { at } => bytes.truncate(pos(*at)),
        }
    }
    bytes
}

#[test]
fn the_shipped_files_load_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let project = project_with(dir.path(), "", b"");
    let loaded = load(&project, "dev", &env);
    assert!(loaded.desired.is_some(), "{:?}", loaded.diagnostics);
}

proptest! {
    // Sized for CI (about a second each); `PROPTEST_CASES=20000` for a longer local hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn arbitrary_bytes_never_panic(file in 0..FILES.len(), bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        run(FILES[file], &bytes)?;
    }

    #[test]
    fn mutated_files_never_panic(file in 0..FILES.len(), mutations in proptest::collection::vec(mutation(), 1..6)) {
        let replaced = FILES[file];
        run(replaced, &apply(shipped(replaced), &mutations))?;
    }
}
