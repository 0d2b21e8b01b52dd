//! The user guide in `docs/` is run, page by page, with the real binary: every command of its
//! `console` and `sh` blocks, in order, in a fresh copy of the shipped `environments/` (a user's
//! clone), each with the exit code and the output the page documents. The README's walkthroughs
//! are run the same way, and so is the whole guide in order on one copy (each page begins with
//! its reset and ends with its clean-up, so a reader can follow them on one checkout). Also: every page is linked
//! from `docs/README.md`, the README links the guide, and the configuration reference documents
//! exactly the keys of `dmgmt schema` and `dmgmt schema --shared`.
//!
//! The conventions (also described to readers in `docs/README.md`, "How this guide is tested"):
//! - A block fenced ```` ```console ```` is a transcript: a line starting with `$ ` is a command
//!   (a trailing `\` continues it on the next line), and the lines after it, up to the next
//!   command, are its output — all of it, stdout and stderr as a terminal shows them. `…` inside
//!   a line stands for any text; a line holding only `…` for any number of lines. A command with
//!   no output under it must print nothing.
//! - A block fenced ```` ```sh ```` holds commands only (each line one command, `#` lines are
//!   comments); their output is not checked.
//! - A block whose info string has `no-run` after the language (```` ```sh no-run ````) is not
//!   run; any other language (`yaml`, `json`, `text`) is never run.
//! - A trailing comment on a command may hold, separated by commas: `exit N`, the exit code it
//!   must have (otherwise 0); `type WORD`, run it on a terminal and type WORD at its prompt.
//! - `export NAME=VALUE` holds for the rest of the page. A command ending with `&` runs in the
//!   background as job `%N` (numbered as a shell does); `kill %N` stops it (SIGTERM, by its pid),
//!   `wait %N` waits for it (`wait`, for every job); a job's output under it is checked when it ends, and a page
//!   must end every job it starts. A `dmgmt emulator --listen 127.0.0.1:PORT` job is started on
//!   `127.0.0.1:0` instead, and `127.0.0.1:PORT` in later commands and in outputs stands for the
//!   address it really got.
//!
//! `DMGMT_GUIDE_SHOW=1` prints what every command printed, to write a page's quotes from.
//!
//! Each command runs as `sh -c` in the project folder, with the built `dmgmt` first on `PATH`,
//! `NO_COLOR=1` and no inherited `DESCOPE_*` variable. The copy is a git repository with the
//! sample committed, as a clone is, so that pages can reset it with `git checkout`. Every process started here is reaped by a
//! guard, also when an assertion fails.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::process::{Reap, eventually, wait_bounded};
use crate::support::{dmgmt, repo_root, shipped_project, stderr, stdout};

/// How long one foreground command may take before the page fails.
const COMMAND_LIMIT: Duration = Duration::from_secs(60);

/// The guide's pages that are run, in the order of `docs/README.md`.
const PAGES: &[&str] = &[
    "getting-started.md",
    "your-own-repository.md",
    "configuration.md",
    "environments.md",
    "ci.md",
    "team.md",
    "recovery.md",
    "security.md",
    "reference.md",
    "architecture.md",
    "descope-api.md",
];

macro_rules! page_tests {
    ($($name:ident => $file:literal,)*) => {
        $(
            #[test]
            fn $name() {
                run_page($file);
            }
        )*
    };
}

page_tests! {
    getting_started => "getting-started.md",
    your_own_repository => "your-own-repository.md",
    configuration => "configuration.md",
    environments => "environments.md",
    ci => "ci.md",
    team => "team.md",
    recovery => "recovery.md",
    security => "security.md",
    reference => "reference.md",
    architecture => "architecture.md",
    descope_api => "descope-api.md",
}

/// The README's walkthroughs (setting up, promoting flows, adopting an existing project,
/// recovering from a bad apply), in order on one copy, as the guide's pages are run.
#[test]
fn readme_walkthroughs() {
    run_pages(&["README.md"]);
}

/// Every page of the guide in the order of `docs/README.md`, on one copy of the project: each
/// starts with its reset and ends with its clean-up, so a reader can follow them one after the
/// other on one checkout (what one page leaves, a state, an edited file, would fail the next).
#[test]
fn the_pages_run_in_order_on_one_checkout() {
    let paths: Vec<String> = PAGES.iter().map(|p| format!("docs/{p}")).collect();
    let paths: Vec<&str> = paths.iter().map(String::as_str).collect();
    run_pages(&paths);
}

/// One command of a page, as written.
#[derive(Debug, Clone, PartialEq)]
struct Cmd {
    /// The shell text, continuation lines included, the trailing comment and `&` removed.
    text: String,
    /// The output the page shows under it (`console` blocks); `None`: not checked (`sh`).
    expected: Option<Vec<String>>,
    exit: i32,
    /// Typed at the prompt, on a terminal.
    answer: Option<String>,
    background: bool,
    /// 1-based line of the page where the command starts.
    line: usize,
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Run(Cmd),
    Export(String, String),
    Kill(usize, usize),
    /// `wait %N` (`Some(N)`) or `wait` (every job), at a line.
    Wait(Option<usize>, usize),
}

fn is_run_block(info: &str) -> Option<bool> {
    let mut words = info.split_whitespace();
    let lang = words.next()?;
    if words.any(|w| w == "no-run") {
        return None;
    }
    match lang {
        "console" => Some(true),
        "sh" => Some(false),
        _ => None,
    }
}

/// The trailing comment of a shell line (outside quotes), split off.
fn split_comment(line: &str) -> (&str, Option<&str>) {
    let (mut single, mut double) = (false, false);
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '#' if !single && !double && prev.is_whitespace() => {
                return (&line[..i], Some(&line[i + 1..]));
            }
            _ => {}
        }
        prev = c;
    }
    (line, None)
}

/// The commands of `page` (its text), in order.
fn parse_page(name: &str, page: &str) -> Vec<Step> {
    let lines: Vec<&str> = page.lines().collect();
    let mut steps = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(info) = lines[i].trim_start().strip_prefix("```") else {
            i += 1;
            continue;
        };
        let kind = is_run_block(info);
        let mut body = Vec::new();
        i += 1;
        while i < lines.len() && !lines[i].trim_start().starts_with("```") {
            body.push((i + 1, lines[i]));
            i += 1;
        }
        i += 1;
        if let Some(console) = kind {
            steps.extend(parse_block(name, console, &body));
        }
    }
    steps
}

fn parse_block(name: &str, console: bool, body: &[(usize, &str)]) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut j = 0;
    while j < body.len() {
        let (line_no, line) = body[j];
        let start = if console {
            line.strip_prefix("$ ")
        } else if line.trim().is_empty() || line.trim_start().starts_with('#') {
            None
        } else {
            Some(line)
        };
        let Some(first) = start else {
            assert!(
                !console || line.trim().is_empty(),
                "{name}:{line_no}: output before any command in a console block"
            );
            j += 1;
            continue;
        };
        let mut text = first.to_owned();
        j += 1;
        while text.ends_with('\\') && j < body.len() {
            text.push('\n');
            text.push_str(body[j].1);
            j += 1;
        }
        let mut expected = Vec::new();
        while console && j < body.len() && !body[j].1.starts_with("$ ") {
            expected.push(body[j].1.trim_end().to_owned());
            j += 1;
        }
        while expected.last().is_some_and(|l| l.is_empty()) {
            expected.pop();
        }
        steps.push(command_step(
            name,
            line_no,
            &text,
            console.then_some(expected),
        ));
    }
    steps
}

fn command_step(name: &str, line: usize, text: &str, expected: Option<Vec<String>>) -> Step {
    let last = text.lines().last().unwrap_or_default();
    let (code_last, comment) = split_comment(last);
    let mut exit = 0;
    let mut answer = None;
    for item in comment.unwrap_or_default().split(',').map(str::trim) {
        if let Some(rest) = item.strip_prefix("exit") {
            exit = rest
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("{name}:{line}: `{item}`: write `exit N`"));
        } else if let Some(word) = item.strip_prefix("type ") {
            answer = Some(word.trim().to_owned());
        }
    }
    let head = &text[..text.len() - last.len()];
    let mut code = format!("{head}{code_last}").trim_end().to_owned();
    let background = code.ends_with('&') && !code.ends_with("&&");
    if background {
        code.pop();
        code = code.trim_end().to_owned();
    }
    if let Some(assignment) = code.strip_prefix("export ") {
        let (key, value) = assignment
            .trim()
            .split_once('=')
            .unwrap_or_else(|| panic!("{name}:{line}: `export NAME=VALUE`"));
        let value = value.trim_matches(|c| c == '\'' || c == '"');
        return Step::Export(key.to_owned(), value.to_owned());
    }
    let words: Vec<&str> = code.split_whitespace().collect();
    match words.as_slice() {
        ["kill", job] if job.starts_with('%') => {
            let n = job[1..]
                .parse()
                .unwrap_or_else(|_| panic!("{name}:{line}: `kill %N`"));
            return Step::Kill(n, line);
        }
        ["wait"] => return Step::Wait(None, line),
        ["wait", job] if job.starts_with('%') => {
            let n = job[1..]
                .parse()
                .unwrap_or_else(|_| panic!("{name}:{line}: `wait %N`"));
            return Step::Wait(Some(n), line);
        }
        ["cd", ..] => panic!("{name}:{line}: `cd` does not carry over between commands"),
        _ => {}
    }
    Step::Run(Cmd {
        text: code,
        expected,
        exit,
        answer,
        background,
        line,
    })
}

/// Whether `line` matches `pattern`, where `…` stands for any text.
fn line_matches(pattern: &str, line: &str) -> bool {
    let pieces: Vec<&str> = pattern.split('…').collect();
    if pieces.len() == 1 {
        return pattern == line;
    }
    let (first, last) = (pieces[0], pieces[pieces.len() - 1]);
    if !line.starts_with(first) || line.len() < first.len() + last.len() || !line.ends_with(last) {
        return false;
    }
    let mut rest = &line[first.len()..line.len() - last.len()];
    for piece in &pieces[1..pieces.len() - 1] {
        match rest.find(piece) {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return false,
        }
    }
    true
}

/// Whether `output` is what `expected` shows: every line in turn, a `…` line for any run of
/// lines (none included).
fn output_matches(expected: &[String], output: &[&str]) -> bool {
    match expected.split_first() {
        None => output.is_empty(),
        Some((gap, rest)) if gap.trim() == "…" => {
            (0..=output.len()).any(|skip| output_matches(rest, &output[skip..]))
        }
        Some((pattern, rest)) => output
            .split_first()
            .is_some_and(|(line, more)| line_matches(pattern, line) && output_matches(rest, more)),
    }
}

/// Terminal output as a reader sees it: each line as last drawn (`\r` returns to its start,
/// `ESC[2K` clears it, `ESC[K` clears to its end; other escape sequences are dropped), no
/// trailing blanks.
fn screen_text(raw: &str) -> String {
    let mut lines: Vec<String> = Vec::new();
    let mut line: Vec<char> = Vec::new();
    let mut col = 0;
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\u{1b}' => {
                if chars.peek() != Some(&'[') {
                    chars.next();
                    continue;
                }
                chars.next();
                let mut params = String::new();
                for d in chars.by_ref() {
                    if d.is_ascii_alphabetic() || d == '~' {
                        match (d, params.as_str()) {
                            ('K', "2") => line.clear(),
                            ('K', "" | "0") => line.truncate(col),
                            _ => {}
                        }
                        break;
                    }
                    params.push(d);
                }
            }
            '\r' => col = 0,
            '\n' => {
                lines.push(line.drain(..).collect::<String>().trim_end().to_owned());
                col = 0;
            }
            c => {
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    if !line.is_empty() {
        lines.push(line.into_iter().collect::<String>().trim_end().to_owned());
    }
    lines.join("\n")
}

/// A background job: its process, its output file and what the page says of it.
struct Job {
    number: usize,
    reap: Reap,
    out: PathBuf,
    cmd: Cmd,
}

/// One page being run: the project, the scratch folder for outputs, the environment, the
/// background jobs and the address substitutions.
struct Session {
    name: String,
    project: tempfile::TempDir,
    scratch: tempfile::TempDir,
    env: BTreeMap<String, String>,
    jobs: Vec<Job>,
    /// Documented address -> real address.
    addresses: Vec<(String, String)>,
    outputs: usize,
    ran: usize,
}

impl Session {
    fn new() -> Session {
        let project = shipped_project();
        // A clone is a git checkout: pages reset the sample with `git checkout` and `git clean`.
        let git = |args: &[&str]| {
            let out = Command::new("git")
                .args([
                    "-c",
                    "user.name=guide",
                    "-c",
                    "user.email=guide@example.com",
                ])
                .args(args)
                .current_dir(project.path())
                .output()
                .expect("git runs");
            assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
        };
        git(&["init", "-q"]);
        git(&["add", "-A"]);
        git(&["commit", "-qm", "the shipped sample"]);
        Session {
            name: String::new(),
            project,
            scratch: tempfile::tempdir().unwrap(),
            env: BTreeMap::new(),
            jobs: Vec::new(),
            addresses: Vec::new(),
            outputs: 0,
            ran: 0,
        }
    }

    fn real(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (documented, real) in &self.addresses {
            text = text.replace(documented.as_str(), real);
        }
        text
    }

    fn documented(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (documented, real) in &self.addresses {
            text = text.replace(real.as_str(), documented);
        }
        text
    }

    fn shell(&self, script: &str) -> Command {
        let bin = PathBuf::from(env!("CARGO_BIN_EXE_dmgmt"));
        let path =
            std::env::join_paths(std::iter::once(bin.parent().unwrap().to_path_buf()).chain(
                std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
            ))
            .unwrap();
        let mut cmd = Command::new("sh");
        cmd.arg("-c")
            .arg(script)
            .current_dir(self.project.path())
            .env("PATH", path)
            .env("NO_COLOR", "1")
            .envs(&self.env)
            .stdin(Stdio::null());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("DESCOPE_")
                && !self.env.contains_key(&*key.to_string_lossy())
            {
                cmd.env_remove(key);
            }
        }
        cmd
    }

    fn out_file(&mut self) -> PathBuf {
        self.outputs += 1;
        self.scratch.path().join(format!("out-{}", self.outputs))
    }

    fn check_output(&self, cmd: &Cmd, raw: &str) {
        let shown = self.documented(&screen_text(raw));
        if std::env::var_os("DMGMT_GUIDE_SHOW").is_some() {
            eprintln!("{}:{}: $ {}\n{shown}", self.name, cmd.line, cmd.text);
        }
        let Some(expected) = &cmd.expected else {
            return;
        };
        let lines: Vec<&str> = if shown.is_empty() {
            Vec::new()
        } else {
            shown.lines().collect()
        };
        assert!(
            output_matches(expected, &lines),
            "{}:{}: `{}` printed something else than the guide shows.\n--- the guide:\n{}\n--- the binary:\n{}\n---",
            self.name,
            cmd.line,
            cmd.text,
            expected.join("\n"),
            shown
        );
    }

    fn run(&mut self, cmd: &Cmd) {
        self.ran += 1;
        if cmd.background {
            return self.start_job(cmd);
        }
        let out = self.out_file();
        let text = self.real(&cmd.text);
        let mut child = match &cmd.answer {
            None => self
                .shell(&format!("exec 2>&1\n{text}"))
                .stdout(std::fs::File::create(&out).unwrap())
                .spawn()
                .unwrap(),
            Some(_) => self
                .shell("exec script -qec \"$GUIDE_COMMAND\" /dev/null")
                .env("GUIDE_COMMAND", &text)
                .stdin(Stdio::piped())
                .stdout(std::fs::File::create(&out).unwrap())
                .stderr(Stdio::null())
                .spawn()
                .unwrap(),
        };
        let mut stdin = child.stdin.take();
        if let (Some(answer), Some(stdin)) = (&cmd.answer, stdin.as_mut()) {
            use std::io::Write;
            let asked = eventually(COMMAND_LIMIT, || {
                let shown = std::fs::read_to_string(&out).unwrap_or_default();
                shown.contains("Only 'yes' will be accepted") || shown.contains("Type its name")
            });
            assert!(
                asked,
                "{}:{}: `{}` asked nothing:\n{}",
                self.name,
                cmd.line,
                cmd.text,
                std::fs::read_to_string(&out).unwrap_or_default()
            );
            stdin.write_all(format!("{answer}\r").as_bytes()).unwrap();
        }
        let mut reap = Reap(child);
        let status = reap.wait(COMMAND_LIMIT);
        drop(stdin);
        let raw = std::fs::read_to_string(&out).unwrap();
        assert_eq!(
            status.code(),
            Some(cmd.exit),
            "{}:{}: `{}` exited with {:?}, the guide says {}:\n{}",
            self.name,
            cmd.line,
            cmd.text,
            status.code(),
            cmd.exit,
            self.documented(&screen_text(&raw))
        );
        self.check_output(cmd, &raw);
    }

    fn start_job(&mut self, cmd: &Cmd) {
        let number = self.jobs.iter().map(|j| j.number).max().unwrap_or(0) + 1;
        let out = self.out_file();
        let mut text = self.real(&cmd.text);
        let words: Vec<&str> = cmd.text.split_whitespace().collect();
        let listen = match words.as_slice() {
            ["dmgmt", "emulator", rest @ ..] => {
                let at = rest
                    .iter()
                    .position(|w| *w == "--listen")
                    .unwrap_or_else(|| {
                        panic!(
                            "{}:{}: give a background emulator `--listen 127.0.0.1:PORT`",
                            self.name, cmd.line
                        )
                    });
                let documented = rest[at + 1].to_owned();
                text = text.replacen(&format!("--listen {documented}"), "--listen 127.0.0.1:0", 1);
                Some(documented)
            }
            _ => None,
        };
        let child = self
            .shell(&format!("exec 2>&1\nexec {text}"))
            .stdout(std::fs::File::create(&out).unwrap())
            .spawn()
            .unwrap();
        let reap = Reap(child);
        if let Some(documented) = listen {
            let read = || {
                let shown = std::fs::read_to_string(&out).unwrap_or_default();
                shown
                    .lines()
                    .next()
                    .and_then(|l| l.strip_prefix("listening on http://"))
                    .map(str::to_owned)
            };
            assert!(
                eventually(Duration::from_secs(20), || read().is_some()),
                "{}:{}: the emulator did not start:\n{}",
                self.name,
                cmd.line,
                std::fs::read_to_string(&out).unwrap_or_default()
            );
            self.addresses.push((documented, read().unwrap()));
        }
        self.jobs.push(Job {
            number,
            reap,
            out,
            cmd: cmd.clone(),
        });
    }

    fn end_job(&mut self, number: usize, line: usize, stop: bool) {
        let at = self
            .jobs
            .iter()
            .position(|j| j.number == number)
            .unwrap_or_else(|| panic!("{}:{line}: there is no job %{number}", self.name));
        let mut job = self.jobs.remove(at);
        if stop {
            job.reap.signal("TERM");
        }
        let status = wait_bounded(&mut job.reap.0, COMMAND_LIMIT);
        let raw = std::fs::read_to_string(&job.out).unwrap();
        if !stop {
            assert_eq!(
                status.code(),
                Some(job.cmd.exit),
                "{}:{}: `{}` exited with {:?}, the guide says {}:\n{}",
                self.name,
                job.cmd.line,
                job.cmd.text,
                status.code(),
                job.cmd.exit,
                self.documented(&screen_text(&raw))
            );
        }
        self.check_output(&job.cmd, &raw);
    }

    /// Runs the page at `path` (from the repository root) in this session's project. What the
    /// page exports and the emulators it starts are its own: they end with it.
    fn page(&mut self, path: &str) {
        let started = Instant::now();
        let text = std::fs::read_to_string(repo_root().join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let steps = parse_page(path, &text);
        self.name = path.to_owned();
        self.env.clear();
        self.addresses.clear();
        self.ran = 0;
        for step in &steps {
            self.step(step);
        }
        let left: Vec<String> = self
            .jobs
            .iter()
            .map(|j| format!("%{} `{}`", j.number, j.cmd.text))
            .collect();
        assert!(
            left.is_empty(),
            "{path}: the page leaves jobs running; end them with `kill %N`: {left:?}"
        );
        assert!(self.ran > 0, "{path}: no command was run");
        eprintln!(
            "{path}: {} commands in {:.1} s",
            self.ran,
            started.elapsed().as_secs_f64()
        );
    }

    fn step(&mut self, step: &Step) {
        match step {
            Step::Run(cmd) => self.run(cmd),
            Step::Export(key, value) => {
                self.env.insert(key.clone(), self.real(value));
            }
            Step::Kill(n, line) => self.end_job(*n, *line, true),
            Step::Wait(job, line) => {
                let numbers: Vec<usize> = match job {
                    Some(n) => vec![*n],
                    None => self.jobs.iter().map(|j| j.number).collect(),
                };
                for n in numbers {
                    self.end_job(n, *line, false);
                }
            }
        }
    }
}

fn read_doc(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("docs").join(name))
        .unwrap_or_else(|e| panic!("docs/{name}: {e}"))
}

/// Runs the pages at `paths` (from the repository root) in order, on one copy of the project:
/// what a reader does who follows them one after the other on one checkout.
pub(crate) fn run_pages(paths: &[&str]) {
    let mut session = Session::new();
    for path in paths {
        session.page(path);
    }
}

fn run_page(name: &str) {
    run_pages(&[&format!("docs/{name}")]);
}

/// Relative links (`](target)`) in a Markdown text, without their `#fragment`.
fn links(text: &str) -> BTreeSet<String> {
    text.split("](")
        .skip(1)
        .filter_map(|rest| rest.split(')').next())
        .map(|target| target.split('#').next().unwrap_or_default().to_owned())
        .filter(|t| !t.is_empty() && !t.contains("://"))
        .collect()
}

#[test]
fn every_page_is_linked_from_the_index_and_run_and_the_readme_links_the_guide() {
    let docs = repo_root().join("docs");
    let on_disk: BTreeSet<String> = std::fs::read_dir(&docs)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".md") && n != "README.md")
        .collect();
    let run: BTreeSet<String> = PAGES.iter().map(|p| (*p).to_owned()).collect();
    assert_eq!(
        on_disk, run,
        "every page in docs/ is in PAGES (and run), and no other"
    );

    let index = read_doc("README.md");
    let linked = links(&index);
    let unlinked: Vec<&String> = on_disk.iter().filter(|p| !linked.contains(*p)).collect();
    assert!(
        unlinked.is_empty(),
        "docs/README.md does not link {unlinked:?}"
    );

    // Every relative link of the guide names a file that exists.
    for page in on_disk
        .iter()
        .chain(std::iter::once(&"README.md".to_owned()))
    {
        for target in links(&read_doc(page)) {
            assert!(
                docs.join(&target).exists(),
                "docs/{page} links `{target}`, which does not exist"
            );
        }
    }

    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    assert!(
        links(&readme)
            .iter()
            .any(|t| t == "docs/README.md" || t == "docs/" || t == "docs"),
        "README.md links the user guide in docs/"
    );
}

/// Every key path of a JSON Schema: `a`, `a.b`, `list[].field`.
fn schema_keys(schema: &Value, prefix: &str, out: &mut BTreeSet<String>) {
    let Some(props) = schema.get("properties").and_then(Value::as_object) else {
        return;
    };
    for (key, sub) in props {
        let path = format!("{prefix}{key}");
        out.insert(path.clone());
        schema_keys(sub, &format!("{path}."), out);
        if let Some(items) = sub.get("items") {
            schema_keys(items, &format!("{path}[]."), out);
        }
    }
}

fn schema(args: &[&str]) -> BTreeSet<String> {
    let out = dmgmt().args(args).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let schema: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let mut keys = BTreeSet::new();
    schema_keys(&schema, "", &mut keys);
    keys
}

/// The rows of the reference's key tables (header `| key | … | shared | …`): key -> whether
/// the row says it is allowed in shared files.
fn documented_keys(page: &str) -> BTreeMap<String, bool> {
    let mut keys = BTreeMap::new();
    let mut shared_column = None;
    for line in page.lines() {
        let cells: Vec<&str> = line
            .trim()
            .trim_matches('|')
            .split('|')
            .map(str::trim)
            .collect();
        if !line.trim_start().starts_with('|') {
            shared_column = None;
            continue;
        }
        if cells.first() == Some(&"key") {
            shared_column = cells.iter().position(|c| *c == "shared");
            assert!(
                shared_column.is_some(),
                "a key table has a `shared` column: {line}"
            );
            continue;
        }
        let Some(column) = shared_column else {
            continue;
        };
        let Some(key) = cells[0].strip_prefix('`').and_then(|k| k.strip_suffix('`')) else {
            continue;
        };
        let shared = match cells.get(column) {
            Some(&"yes") => true,
            Some(&"no") => false,
            other => panic!("`{key}`: the shared column says {other:?}, not yes or no"),
        };
        assert!(
            keys.insert(key.to_owned(), shared).is_none(),
            "`{key}` is documented twice"
        );
    }
    keys
}

#[test]
fn the_configuration_reference_documents_exactly_the_schema_keys() {
    let documented = documented_keys(&read_doc("configuration.md"));
    let env_keys = schema(&["schema"]);
    let shared_keys = schema(&["schema", "--shared"]);
    // A positive control: the walk sees nested and list keys.
    assert!(
        env_keys.contains("tenants[].custom_attributes") && env_keys.contains("retry.attempts")
    );

    let names: BTreeSet<String> = documented.keys().cloned().collect();
    let undocumented: Vec<&String> = env_keys.difference(&names).collect();
    let unknown: Vec<&String> = names.difference(&env_keys).collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "docs/configuration.md: keys of `dmgmt schema` not documented: {undocumented:?}; documented keys the schema does not have: {unknown:?}"
    );
    assert!(shared_keys.is_subset(&env_keys), "{shared_keys:?}");
    let wrong: Vec<(&String, bool)> = documented
        .iter()
        .filter(|(key, shared)| shared_keys.contains(*key) != **shared)
        .map(|(key, shared)| (key, *shared))
        .collect();
    assert!(
        wrong.is_empty(),
        "docs/configuration.md: the `shared` column disagrees with `dmgmt schema --shared` for {wrong:?}"
    );
}

#[test]
fn the_runner_reads_commands_outputs_and_directives_as_documented() {
    let page = "\
text
```console
$ dmgmt plan -e local --detailed-exitcode   # exit 2, changes present
Plan: … to add, 0 to change, 0 to destroy.
$ dmgmt emulator --listen 127.0.0.1:4591 \\
    --project-id P &
listening on http://127.0.0.1:4591
$ kill %1
```
```sh
# a comment
export KEY='a b'
dmgmt apply -e prod   # type prod
```
```sh no-run
cargo install --locked --path .
```
```yaml
$ not: run
```
";
    let steps = parse_page("example.md", page);
    assert_eq!(steps.len(), 5, "{steps:#?}");
    let Step::Run(plan) = &steps[0] else {
        panic!("{steps:?}")
    };
    assert_eq!(plan.text, "dmgmt plan -e local --detailed-exitcode");
    assert_eq!(plan.exit, 2);
    assert_eq!(plan.line, 3);
    let Step::Run(emu) = &steps[1] else {
        panic!("{steps:?}")
    };
    assert!(
        emu.background && emu.text.ends_with("--project-id P"),
        "{emu:?}"
    );
    assert_eq!(
        emu.expected.as_deref(),
        Some(&["listening on http://127.0.0.1:4591".to_owned()][..])
    );
    assert_eq!(steps[2], Step::Kill(1, 8));
    assert_eq!(steps[3], Step::Export("KEY".into(), "a b".into()));
    let Step::Run(apply) = &steps[4] else {
        panic!("{steps:?}")
    };
    assert_eq!(apply.answer.as_deref(), Some("prod"));
    assert_eq!(apply.expected, None);

    // The matcher: `…` within a line and as a line; anything else must be exact.
    let expected: Vec<String> = ["a", "…", "Plan: … to add, 0 to change."]
        .map(String::from)
        .to_vec();
    assert!(output_matches(
        &expected,
        &["a", "x", "y", "Plan: 3 to add, 0 to change."]
    ));
    assert!(output_matches(
        &expected,
        &["a", "Plan: 3 to add, 0 to change."]
    ));
    assert!(!output_matches(
        &expected,
        &["a", "Plan: 3 to add, 1 to change."]
    ));
    assert!(!output_matches(
        &expected,
        &["a", "Plan: 3 to add, 0 to change.", "more"]
    ));
    assert!(!output_matches(&["a".to_owned()], &["ab"]));
    assert!(output_matches(&[], &[]));
    assert!(!output_matches(&[], &["something"]));
    assert_eq!(
        screen_text("\u{1b}[2Kworking\r\u{1b}[2Kdone  \r\nnext\nbar 1/2\r\u{1b}[2K\r\nend"),
        "done\nnext\n\nend"
    );
}

/// The nightly drift check is a plan: a refresh records the drift, so the night after it passes
/// although the project still differs from git.
#[test]
fn the_ci_page_checks_drift_with_a_plan_not_a_refresh() {
    let page = std::fs::read_to_string(repo_root().join("docs/ci.md")).unwrap();
    let nightly = page
        .split("## Nightly drift check")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("docs/ci.md has a `Nightly drift check` section");
    let script = nightly
        .split("```sh no-run\n")
        .nth(1)
        .and_then(|s| s.split("```").next())
        .expect("the section ends with a job script");
    assert!(
        script.contains("dmgmt plan -e staging --detailed-exitcode"),
        "{script}"
    );
    assert!(!script.contains("refresh"), "{script}");
}
