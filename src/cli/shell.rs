//! The one place output is written: data to stdout, diagnostics, errors and progress to stderr,
//! coloured only when the user's terminal and `--color`/`NO_COLOR` allow it (docs/reference.md,
//! global flags).

use std::io::{IsTerminal, Write};

use console::Style;

use super::args::ColorChoice;
use crate::config::{Diagnostic, Severity, SourceMap};
use crate::error::Error;
use crate::model::text::printable;

/// Lines longer than this are shown as a window around the problem.
const MAX_SHOWN_LINE: usize = 160;

pub(crate) struct Shell {
    quiet: bool,
    verbose: u8,
    terminal: bool,
}

impl Shell {
    pub(crate) fn new(choice: ColorChoice, quiet: bool, verbose: u8) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        // console's switch is per stream: stdout's styles follow stdout, and every style written
        // to stderr is made with `for_stderr` (see `style`).
        console::set_colors_enabled(colors(choice, no_color, std::io::stdout().is_terminal()));
        console::set_colors_enabled_stderr(colors(
            choice,
            no_color,
            std::io::stderr().is_terminal(),
        ));
        Shell {
            quiet,
            verbose,
            terminal: std::io::stderr().is_terminal(),
        }
    }

    /// `-q`: status lines are hidden.
    pub(crate) fn quiet(&self) -> bool {
        self.quiet
    }

    /// Whether stderr (where progress is drawn) is a terminal.
    pub(crate) fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// What the Descope client reports: every request with `-vv` (method, path, status,
    /// duration, attempt — never a header or a body), and every 429 pause unless `-q`.
    pub(crate) fn http_log(&self) -> crate::api::HttpLog {
        use crate::api::HttpEvent;
        let (verbose, quiet) = (self.verbose, self.quiet);
        crate::api::HttpLog(std::sync::Arc::new(move |event: &HttpEvent| match event {
            HttpEvent::Exchange {
                endpoint,
                status,
                duration,
                attempt,
            } if verbose >= 2 => {
                let status = status.map_or_else(|| "no answer".to_owned(), |s| s.to_string());
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "http: {endpoint} -> {status} ({} ms, attempt {attempt})",
                    duration.as_millis()
                );
            }
            HttpEvent::RateLimited { endpoint, pause } if !quiet => {
                let _ = writeln!(
                    std::io::stderr().lock(),
                    "Descope's rate limit was reached (`{endpoint}`): every call pauses for {:.1} s",
                    pause.as_secs_f64()
                );
            }
            _ => {}
        }))
    }

    /// Detail shown with `-v`.
    pub(crate) fn verbose(&self, text: impl AsRef<str>) {
        if self.verbose > 0 {
            let _ = writeln!(std::io::stderr().lock(), "{}", text.as_ref());
        }
    }

    /// Data: the result of the command, on stdout.
    pub(crate) fn out(&self, text: impl AsRef<str>) {
        let mut stdout = std::io::stdout().lock();
        // A closed pipe (`dmgmt schema | head`) is not an error worth reporting.
        let _ = writeln!(stdout, "{}", text.as_ref());
    }

    /// A status line on stderr, hidden by `-q`.
    pub(crate) fn status(&self, text: impl AsRef<str>) {
        if !self.quiet {
            let _ = writeln!(std::io::stderr().lock(), "{}", text.as_ref());
        }
    }

    /// A warning on stderr (`warning: ...`), shown even with `-q`.
    pub(crate) fn warn(&self, text: impl AsRef<str>) {
        let _ = writeln!(
            std::io::stderr().lock(),
            "{} {}",
            style().yellow().bold().apply_to("warning:"),
            text.as_ref()
        );
    }

    pub(crate) fn error(&self, err: &Error) {
        use crate::error::Part;
        let text = err.render(&|part, text| match part {
            Part::ErrorLabel => style().red().bold().apply_to(text).to_string(),
            Part::Message => style().bold().apply_to(text).to_string(),
            Part::HintLabel => style().cyan().bold().apply_to(text).to_string(),
            Part::Plain => text.to_owned(),
        });
        let _ = writeln!(std::io::stderr().lock(), "{text}");
    }

    /// Prints diagnostics, warnings included unless `-q`.
    pub(crate) fn diagnostics(&self, sources: &SourceMap, diagnostics: &[Diagnostic]) {
        let mut stderr = std::io::stderr().lock();
        for d in diagnostics {
            match d.severity {
                Severity::Note | Severity::Warning if self.quiet => {}
                Severity::Note => {
                    let at = format!("{}:{}", sources.display(d.span.file), d.span.line);
                    let _ = writeln!(
                        stderr,
                        "{} {} ({at})",
                        style().bold().apply_to("note:"),
                        printable(&d.message)
                    );
                }
                _ => {
                    let _ = writeln!(stderr, "{}\n", render(sources, d));
                }
            }
        }
    }
}

/// Whether to colour one stream: `--color always|never` decide; `auto` colours a terminal unless
/// `NO_COLOR` is set. Each stream asks about its own terminal, so `dmgmt plan > file` on a
/// terminal writes no escape codes into the file.
fn colors(choice: ColorChoice, no_color: bool, terminal: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => !no_color && terminal,
    }
}

/// A style for text written to stderr: coloured when stderr may be, whatever stdout is.
fn style() -> Style {
    Style::new().for_stderr()
}

/// A one-line progress counter on stderr, drawn only on a terminal (docs/reference.md, `apply`).
pub(crate) struct Progress {
    what: &'static str,
    enabled: bool,
    /// Said on stderr (unless `-q`) when the reading starts: after the lock is taken.
    announce: Option<String>,
}

impl Progress {
    pub(crate) fn new(shell: &Shell, what: &'static str) -> Self {
        Progress {
            what,
            enabled: shell.terminal && !shell.quiet,
            announce: None,
        }
    }

    /// A progress that says `text` (`Refreshing …`) once the live project is being read, not
    /// before the lock is taken: a lock error then stands alone.
    pub(crate) fn announcing(shell: &Shell, what: &'static str, text: String) -> Self {
        Progress {
            announce: (!shell.quiet).then_some(text),
            ..Progress::new(shell, what)
        }
    }

    pub(crate) fn finish(&self) {
        if self.enabled {
            let _ = write!(std::io::stderr().lock(), "\r\x1b[2K");
        }
    }
}

impl crate::ops::live::RefreshObserver for Progress {
    fn reading(&self) {
        if let Some(text) = &self.announce {
            let _ = writeln!(std::io::stderr().lock(), "{text}");
        }
    }

    fn flows_progress(&self, done: usize, total: usize) {
        if self.enabled {
            let _ = write!(
                std::io::stderr().lock(),
                "\r\x1b[2K  refreshing {}: {done}/{total}",
                self.what
            );
        }
    }
}

/// Renders one diagnostic rustc-style: message, `--> file:line:col`, the line, a caret, hints.
pub(crate) fn render(sources: &SourceMap, d: &Diagnostic) -> String {
    let (label, label_style) = match d.severity {
        Severity::Error => ("error", style().red().bold()),
        Severity::Warning => ("warning", style().yellow().bold()),
        Severity::Note => ("note", style().bold()),
    };
    let blue = style().blue().bold();
    let span = d.span;
    let line_no = span.line.to_string();
    let pad = " ".repeat(line_no.len());
    let mut out = format!(
        "{}{} {}\n{pad}{} {}:{}:{}",
        label_style.apply_to(label),
        style().bold().apply_to(":"),
        style().bold().apply_to(printable(&d.message)),
        blue.apply_to("-->"),
        sources.display(span.file),
        span.line,
        span.col
    );
    if let Some(line) = sources.line(span.file, span.line) {
        let (shown, caret_at) = window(&line, span.col as usize);
        let width = (span.len as usize).min(shown.chars().count().saturating_sub(caret_at).max(1));
        out.push_str(&format!(
            "\n{pad} {bar}\n{} {bar} {shown}\n{pad} {bar} {}{}",
            blue.apply_to(&line_no),
            " ".repeat(caret_at),
            label_style.apply_to("^".repeat(width)),
            bar = blue.apply_to("|"),
        ));
    }
    for hint in &d.hints {
        out.push_str(&format!(
            "\n{pad} {} {}",
            blue.apply_to("="),
            hint_text(&printable(hint))
        ));
    }
    out
}

fn hint_text(hint: &str) -> String {
    format!("{} {hint}", style().bold().apply_to("hint:"))
}

/// The part of `line` to show and the caret offset in it: tabs become spaces so the caret lines
/// up, and a very long line is cut to a window around `col` (1-based).
fn window(line: &str, col: usize) -> (String, usize) {
    // Control bytes (binary garbage) are shown as U+FFFD rather than sent to the terminal.
    let chars: Vec<char> = line
        .chars()
        .map(|c| match c {
            '\t' => ' ',
            c if c.is_control() => '\u{FFFD}',
            c => c,
        })
        .collect();
    let at = col.saturating_sub(1).min(chars.len());
    if chars.len() <= MAX_SHOWN_LINE {
        return (chars.into_iter().collect(), at);
    }
    let start = at.saturating_sub(40);
    let end = (start + MAX_SHOWN_LINE).min(chars.len());
    let mut shown = String::new();
    let mut caret = at - start;
    if start > 0 {
        shown.push_str("...");
        caret += 3;
    }
    shown.extend(&chars[start..end]);
    if end < chars.len() {
        shown.push_str("...");
    }
    (shown, caret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::source::Span;

    #[test]
    fn renders_file_line_caret_and_hint() {
        console::set_colors_enabled_stderr(false);
        let mut map = SourceMap::default();
        let file = map.add(
            "x".into(),
            "environments/dev.yaml".into(),
            "roles:\n  - tenat: acme\n".into(),
        );
        let d = Diagnostic::error(Span::new(file, 2, 5, 5), "unknown key `tenat` in role")
            .hint("did you mean `tenant`?");
        assert_eq!(
            render(&map, &d),
            "error: unknown key `tenat` in role\n --> environments/dev.yaml:2:5\n  |\n2 |   - tenat: acme\n  |     ^^^^^\n  = hint: did you mean `tenant`?"
        );
    }

    #[test]
    fn colour_follows_each_streams_own_terminal() {
        // `dmgmt plan > file` on a terminal: stdout is a file, stderr the terminal.
        let (stdout, stderr) = (false, true);
        assert!(!colors(ColorChoice::Auto, false, stdout));
        assert!(colors(ColorChoice::Auto, false, stderr));
        assert!(!colors(ColorChoice::Auto, true, stderr), "NO_COLOR");
        assert!(colors(ColorChoice::Always, true, stdout));
        assert!(!colors(ColorChoice::Never, false, stderr));
    }

    #[test]
    fn stderr_styles_follow_the_stderr_switch() {
        // Only this test touches console's stdout switch.
        console::set_colors_enabled(true);
        console::set_colors_enabled_stderr(false);
        assert_eq!(style().red().apply_to("x").to_string(), "x");
        console::set_colors_enabled(false);
    }

    #[test]
    fn control_bytes_are_not_sent_to_the_terminal() {
        let (shown, _) = window("a\u{0}b\u{1b}[31m\tc", 1);
        assert_eq!(shown, "a\u{FFFD}b\u{FFFD}[31m c");
    }

    #[test]
    fn long_lines_are_cut_around_the_problem() {
        let line = format!("{}X{}", "a".repeat(5000), "b".repeat(5000));
        let (shown, caret) = window(&line, 5001);
        assert!(shown.len() < 200);
        assert_eq!(shown.chars().nth(caret), Some('X'));
    }
}
