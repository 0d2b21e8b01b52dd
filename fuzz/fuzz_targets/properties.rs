//! What every fuzz target holds of a load, rendered and unrendered alike (the bounded fuzz of
//! `src/config/fuzz_tests.rs` holds the same): no desired state exactly when an error is
//! reported, and every diagnostic names a file that was read, at a line and column.

use dmgmt::config::{Loaded, Severity};

pub fn hold(loaded: &Loaded) {
    let errors = loaded
        .diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    assert_eq!(loaded.desired.is_none(), errors > 0);
    for d in &loaded.diagnostics {
        assert!(!loaded.sources.display(d.span.file).is_empty());
        assert!(d.span.line >= 1 && d.span.col >= 1);
    }
}
