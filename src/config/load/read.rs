//! Reading one configuration file (an environment, an include or a template) into the
//! [`SourceMap`](super::SourceMap), so that every later diagnostic can show its lines.
//!
//! It refuses what cannot be configuration text (a missing path, a file over the size limit,
//! bytes that are not UTF-8) with an error at a file and line, and strips a UTF-8 byte order mark.
//! It must not parse, check or interpret the text: that is for the YAML and template readers.

use std::path::Path;

use super::Loader;
use crate::config::source::{Diagnostic, FileId, Span};

/// Larger files are refused before parsing (a 25,000-tenant environment is about 5 MiB).
const MAX_FILE_BYTES: u64 = 32 * 1024 * 1024;

impl Loader<'_> {
    /// Reads a file into the source map. `from` is the reference that names it, where a missing
    /// file is reported; `what` names it in that message.
    pub(super) fn read(&mut self, path: &Path, from: Option<Span>, what: &str) -> Option<FileId> {
        let display = self.project.display(path);
        if let Some(id) = self.sources.find(path) {
            return Some(id);
        }
        let missing = |diags: &mut Vec<Diagnostic>, message: String, hint: String| {
            if let Some(span) = from {
                diags.push(Diagnostic::error(span, message).hint(hint))
            }
        };
        let meta = match std::fs::metadata(path) {
            Ok(meta) if meta.is_file() => meta,
            Ok(_) | Err(_) => {
                let written = display.strip_prefix("environments/").unwrap_or(&display);
                missing(
                    &mut self.diagnostics,
                    format!("{what} `{written}` not found"),
                    format!("expected at `{display}`"),
                );
                return None;
            }
        };
        if meta.len() > MAX_FILE_BYTES {
            let id = self.sources.add(path.to_path_buf(), display, String::new());
            self.diagnostics.push(Diagnostic::error(
                Span::file_start(id),
                format!(
                    "file is too large ({} MiB; the limit is {} MiB)",
                    meta.len() >> 20,
                    MAX_FILE_BYTES >> 20
                ),
            ));
            return None;
        }
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) => {
                let id = self.sources.add(path.to_path_buf(), display, String::new());
                self.diagnostics.push(Diagnostic::error(
                    Span::file_start(id),
                    format!("cannot read the file: {e}"),
                ));
                return None;
            }
        };
        let mut bytes = bytes;
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            bytes.drain(..3);
        }
        // The bytes become the text without a copy (an environment can be megabytes).
        match String::from_utf8(bytes) {
            Ok(text) => Some(self.sources.add(path.to_path_buf(), display, text)),
            Err(e) => {
                let bytes = e.as_bytes();
                let e = e.utf8_error();
                let good = &bytes[..e.valid_up_to()];
                let line = good.iter().filter(|&&b| b == b'\n').count() + 1;
                let col = good.iter().rev().take_while(|&&b| b != b'\n').count() + 1;
                let id = self.sources.add(
                    path.to_path_buf(),
                    display,
                    String::from_utf8_lossy(bytes).into_owned(),
                );
                self.diagnostics.push(
                    Diagnostic::error(Span::new(id, line, col, 1), "file is not valid UTF-8")
                        .hint("configuration and templates must be UTF-8 text"),
                );
                None
            }
        }
    }
}
