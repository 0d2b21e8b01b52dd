//! The one error type that reaches the user.
//!
//! Each layer has its own typed error (`thiserror`); at the command edge they become an [`Error`]:
//! a kind (which decides the exit code), a message, the `Caused by:` chain and `hint:` lines. This
//! module renders that shape and nothing else: it never decides *what* went wrong.

use std::fmt;

/// Exit codes of docs/reference.md, "Exit codes".
pub(crate) mod exit {
    pub(crate) const SUCCESS: i32 = 0;
    pub(crate) const FAILURE: i32 = 1;
    /// `--detailed-exitcode`: changes or drift present.
    pub(crate) const CHANGES: i32 = 2;
    pub(crate) const USAGE: i32 = 64;
    pub(crate) const INTERRUPTED: i32 = 130;
}

/// What kind of failure this is; decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// Bad configuration or templates.
    Config,
    /// A Descope (or emulator) call failed.
    Api,
    /// The state file, its lock or a backup.
    State,
    /// Reading or writing a file outside the configuration.
    Io,
    /// Wrong flags or arguments that clap could not catch (`apply --json` with nothing to approve
    /// it, `restore --delete-unmanaged` of a pre-apply backup); clap's own usage errors exit with
    /// [`exit::USAGE`] in `cli::run`.
    Usage,
    /// Ctrl-C.
    Interrupted,
    /// A bug in dmgmt.
    Internal,
}

impl ErrorKind {
    pub(crate) fn exit_code(self) -> i32 {
        match self {
            ErrorKind::Usage => exit::USAGE,
            ErrorKind::Interrupted => exit::INTERRUPTED,
            _ => exit::FAILURE,
        }
    }
}

/// A user-facing error: `error: <message>`, then `Caused by:` lines, then `hint:` lines.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    causes: Vec<String>,
    hints: Vec<String>,
}

pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            causes: Vec::new(),
            hints: Vec::new(),
        }
    }

    pub(crate) fn config(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Config, message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    /// Adds the whole `source()` chain of `err` as `Caused by:` lines.
    pub(crate) fn caused_by(mut self, err: &(dyn std::error::Error + 'static)) -> Self {
        let mut next = Some(err);
        while let Some(e) = next {
            self.causes.push(e.to_string());
            next = e.source();
        }
        self
    }

    pub(crate) fn cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    pub(crate) fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    #[cfg(test)]
    pub(crate) fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    #[cfg(test)]
    pub(crate) fn hints(&self) -> &[String] {
        &self.hints
    }

    pub(crate) fn exit_code(&self) -> i32 {
        self.kind.exit_code()
    }
}

/// The parts of a rendered error a terminal may style differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Part {
    /// `error:`
    ErrorLabel,
    /// The message after `error:`.
    Message,
    /// `hint:`
    HintLabel,
    /// Everything else: `Caused by:`, causes, hint texts.
    Plain,
}

impl Error {
    /// The full report, each part passed through `paint`: the renderer works from the error's
    /// parts, so a message or cause that happens to hold `hint:` is never styled as one.
    pub(crate) fn render(&self, paint: &dyn Fn(Part, &str) -> String) -> String {
        let mut out = paint(Part::ErrorLabel, "error:");
        out.push_str(&paint(Part::Message, &format!(" {}", self.message)));
        if !self.causes.is_empty() {
            out.push_str(&paint(Part::Plain, "\n\nCaused by:"));
            // A bullet list: the causes are often reasons side by side (why a saved plan is
            // stale), which numbers would present as a chain.
            for cause in &self.causes {
                out.push_str(&paint(Part::Plain, &format!("\n  - {cause}")));
            }
        }
        for hint in &self.hints {
            out.push('\n');
            out.push_str(&paint(Part::HintLabel, "hint:"));
            out.push_str(&paint(Part::Plain, &format!(" {hint}")));
        }
        out
    }
}

impl fmt::Display for Error {
    /// The full report as the CLI prints it (without colour).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(&|_, text| text.to_owned()))
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_message_causes_and_hints_in_order() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "no such file");
        let err = Error::config("cannot read `environments/dev.yaml`")
            .caused_by(&io)
            .hint("create it or pass --dir");
        assert_eq!(
            err.to_string(),
            "error: cannot read `environments/dev.yaml`\n\nCaused by:\n  - no such file\nhint: create it or pass --dir"
        );
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn rendering_styles_the_parts_not_lines_that_look_like_them() {
        let err = Error::config("bad answer:\nhint: from the server")
            .cause("error: upstream")
            .hint("retry");
        let marked = err.render(&|part, text| match part {
            Part::ErrorLabel | Part::HintLabel => format!("[{text}]"),
            Part::Message | Part::Plain => text.to_owned(),
        });
        assert_eq!(
            marked,
            "[error:] bad answer:\nhint: from the server\n\nCaused by:\n  - error: upstream\n[hint:] retry"
        );
    }

    #[test]
    fn causes_are_a_bulleted_list_not_numbered_like_a_chain() {
        let err = Error::config("the saved plan is stale")
            .cause("the state was written since")
            .cause("the configuration changed since");
        assert_eq!(
            err.to_string(),
            "error: the saved plan is stale\n\nCaused by:\n  - the state was written since\n  - the configuration changed since"
        );
    }

    #[test]
    fn kinds_map_to_design_exit_codes() {
        assert_eq!(ErrorKind::Usage.exit_code(), 64);
        assert_eq!(ErrorKind::Interrupted.exit_code(), 130);
        assert_eq!(ErrorKind::Api.exit_code(), 1);
        assert_eq!(ErrorKind::State.exit_code(), 1);
    }
}
