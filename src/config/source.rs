//! Source files and positions in them, and the diagnostics that point at those positions.
//!
//! Every value read from YAML carries a [`Span`], so a problem found after includes are merged
//! still names the file and line it came from. Rendering (colours, carets) is the CLI's job; this
//! module only hands it the offending line — with a management key's value blanked out.

use std::path::{Path, PathBuf};

/// Index of a file in a [`SourceMap`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(u32);

/// A position in a source file: 1-based line and column (in characters), and the length to
/// underline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub file: FileId,
    pub line: u32,
    pub col: u32,
    pub(crate) len: u32,
}

impl Span {
    pub(crate) fn new(file: FileId, line: usize, col: usize, len: usize) -> Self {
        let clamp = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
        Span {
            file,
            line: clamp(line.max(1)),
            col: clamp(col.max(1)),
            len: clamp(len.max(1)),
        }
    }

    /// The start of a file: used for problems with the file as a whole.
    pub(crate) fn file_start(file: FileId) -> Self {
        Span {
            file,
            line: 1,
            col: 1,
            len: 1,
        }
    }
}

/// One file read during loading.
#[derive(Debug)]
pub(crate) struct SourceFile {
    /// Absolute (or as given) path, for reading.
    pub(crate) path: PathBuf,
    /// The path as shown to the user: relative to the project root, `/`-separated.
    pub(crate) display: String,
    /// The text; invalid UTF-8 is replaced so the offending line can still be shown.
    pub(crate) text: String,
}

/// All files read in one run, so diagnostics can show their lines.
#[derive(Debug, Default)]
pub struct SourceMap {
    files: Vec<SourceFile>,
}

impl SourceMap {
    pub fn add(&mut self, path: PathBuf, display: String, text: String) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            path,
            display,
            text,
        });
        id
    }

    pub(crate) fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub(crate) fn text(&self, id: FileId) -> &str {
        &self.get(id).text
    }

    pub fn display(&self, id: FileId) -> &str {
        &self.get(id).display
    }

    pub(crate) fn find(&self, path: &Path) -> Option<FileId> {
        self.files
            .iter()
            .position(|f| f.path == path)
            .map(|i| FileId(i as u32))
    }

    /// The text of `line` (1-based) of a file, safe to print: a `management_key:` line shows its
    /// value only when it is an `${env.*}` reference.
    pub(crate) fn line(&self, id: FileId, line: u32) -> Option<String> {
        let text = self
            .get(id)
            .text
            .lines()
            .nth(line.checked_sub(1)? as usize)?;
        Some(redact_line(text))
    }
}

/// Blanks out an inline management key so that no error message ever repeats it.
fn redact_line(line: &str) -> String {
    let Some(at) = line.find("management_key") else {
        return line.to_owned();
    };
    let after = &line[at + "management_key".len()..];
    let Some(colon) = after.find(':') else {
        return line.to_owned();
    };
    let value = after[colon + 1..].trim();
    let value = value.trim_matches(|c| c == '"' || c == '\'');
    if value.is_empty() || (value.starts_with("${env.") && value.ends_with('}')) {
        return line.to_owned();
    }
    format!(
        "{}: <redacted>",
        &line[..at + "management_key".len() + colon]
    )
}

/// How bad a diagnostic is: errors fail the run; warnings and notes are shown and the run goes
/// on (a note is a one-line remark, e.g. a credential a later command will need).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Note,
    Warning,
    Error,
}

/// One problem found in the configuration, pointing at the place that causes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub(crate) message: String,
    pub span: Span,
    pub(crate) hints: Vec<String>,
}

impl Diagnostic {
    pub(crate) fn error(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            message: message.into(),
            span,
            hints: Vec::new(),
        }
    }

    pub(crate) fn warning(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            message: message.into(),
            span,
            hints: Vec::new(),
        }
    }

    pub(crate) fn note(span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Note,
            message: message.into(),
            span,
            hints: Vec::new(),
        }
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    pub(crate) fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Suggests the closest of `candidates` to a misspelt `word`, if one is close enough.
pub(crate) fn did_you_mean<'a>(
    word: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_management_keys_are_redacted_but_env_references_are_shown() {
        assert_eq!(
            redact_line("management_key: K2abcdefSECRET"),
            "management_key: <redacted>"
        );
        assert_eq!(
            redact_line("  management_key: \"K2x\"  # prod"),
            "  management_key: <redacted>"
        );
        assert_eq!(
            redact_line("management_key: ${env.DESCOPE_KEY}"),
            "management_key: ${env.DESCOPE_KEY}"
        );
        assert_eq!(redact_line("name: Acme"), "name: Acme");
    }

    #[test]
    fn did_you_mean_picks_the_closest_candidate() {
        assert_eq!(
            did_you_mean("tenat", ["name", "tenant", "permissions"]),
            Some("tenant")
        );
        assert_eq!(
            did_you_mean("enforce_ssso", ["enforce_sso", "disabled"]),
            Some("enforce_sso")
        );
        assert_eq!(did_you_mean("zzz", ["name", "tenant"]), None);
    }

    #[test]
    fn lines_are_looked_up_one_based() {
        let mut map = SourceMap::default();
        let id = map.add("a.yaml".into(), "a.yaml".into(), "one\ntwo\n".into());
        assert_eq!(map.line(id, 2).as_deref(), Some("two"));
        assert_eq!(map.line(id, 3), None);
        assert_eq!(map.line(id, 0), None);
    }
}
