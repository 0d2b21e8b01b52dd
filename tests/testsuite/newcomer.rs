//! Small things a new user trips over, through the real binary: how to recover a corrupt state,
//! `plan --out -`, settings an emulated environment ignores, `.yml` files, completing `-e`, `--help` headings, the
//! hint of a refused key, and README (and moved-out reference) references that must exist, and
//! the Markdown files that comments and docs cite, which must exist too.

use std::collections::BTreeSet;

use crate::live::{Live, env_file};
use crate::support::{dmgmt, project, repo_root, stderr, stdout, write};

const LOCAL: &str = "project_id: P2testExampleProjectId00001\nemulator: true\n";

#[test]
fn a_corrupt_state_hints_at_its_backup_with_the_exact_command_not_at_git() {
    let dir = project(&[("environments/dev.yaml", LOCAL)]);
    write(dir.path(), "state/dev.json", b"{ not json");
    let out = dmgmt()
        .args(["--dir"])
        .arg(dir.path())
        .args(["state", "list", "-e", "dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(!err.contains("git checkout"), "state/ is not in git: {err}");
    assert!(
        err.contains("hint: there is no `") && err.contains("dev.json.backup` to restore from"),
        "{err}"
    );
    // Declared live objects come back through apply (import finds only undeclared ones).
    assert!(
        err.contains("then `dmgmt apply` adopts the declared objects that are live again"),
        "{err}"
    );

    write(dir.path(), "state/dev.json.backup", b"{}");
    let out = dmgmt()
        .args(["--dir"])
        .arg(dir.path())
        .args(["state", "list", "-e", "dev"])
        .output()
        .unwrap();
    let err = stderr(&out);
    let state = dir.path().join("state/dev.json");
    let backup = dir.path().join("state/dev.json.backup");
    assert!(
        err.contains(&format!("`cp {} {}`", backup.display(), state.display())),
        "{err}"
    );
    assert!(!err.contains("git checkout"), "{err}");
}

#[test]
fn plan_out_dash_prints_the_saved_plan_on_stdout_and_the_text_on_stderr() {
    let live = Live::start();
    let dir = tempfile::tempdir().unwrap();
    env_file(
        dir.path(),
        "dev",
        "tenants:\n  - {id: acme, name: Acme Corp}\n",
    );
    // Run from the project, so a file named `-` would land where the test looks.
    let out = live
        .command(dir.path())
        .current_dir(dir.path())
        .args(["plan", "-e", "dev", "--out", "-"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let saved: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is the saved plan ({e}): {}", stdout(&out)));
    assert!(saved["format_version"].is_number(), "{saved}");
    assert!(stderr(&out).contains("tenant.acme"), "{}", stderr(&out));
    assert!(
        !dir.path().join("-").exists(),
        "`-` means stdout, not a file named `-`"
    );

    // The saved plan from stdout is one `apply` takes.
    let file = dir.path().join("plan.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let out = live.run(dir.path(), &["apply", "-e", "dev", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_failed_plan_out_names_the_real_path_not_a_temp_file() {
    let live = Live::start();
    let dir = tempfile::tempdir().unwrap();
    env_file(
        dir.path(),
        "dev",
        "tenants:\n  - {id: acme, name: Acme Corp}\n",
    );
    let target = dir.path().join("no-such-folder/plan.json");
    let out = live.run(
        dir.path(),
        &["plan", "-e", "dev", "--out", target.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("cannot write the plan to `{}`", target.display())),
        "{err}"
    );
    assert!(!err.contains("at path"), "a temp file is named: {err}");
    assert!(
        err.contains(&format!(
            "the folder `{}` does not exist",
            target.parent().unwrap().display()
        )),
        "{err}"
    );
}

#[test]
fn an_emulated_environment_warns_that_base_url_and_management_key_are_ignored() {
    let dir = project(&[(
        "environments/dev.yaml",
        "project_id: P2testExampleProjectId00001\nemulator: true\nbase_url: https://api.descope.com\nmanagement_key: ${env.DESCOPE_KEY}\n",
    )]);
    let out = dmgmt()
        .arg("--dir")
        .arg(dir.path())
        .args(["validate", "-e", "dev"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    for (name, line) in [("base_url", 3), ("management_key", 4)] {
        assert!(
            err.contains(&format!(
                "`{name}` is ignored: this environment runs against the embedded emulator"
            )),
            "{err}"
        );
        assert!(
            err.contains(&format!("environments/dev.yaml:{line}:1")),
            "{err}"
        );
    }
}

#[test]
fn a_yml_environment_file_is_named_wherever_environments_are_listed() {
    let dir = project(&[
        ("environments/dev.yaml", LOCAL),
        ("environments/qa.yml", LOCAL),
    ]);
    let hint = "`environments/qa.yml` is ignored: only `.yaml` files are environments; rename it to `environments/qa.yaml`";
    for args in [
        &["envs"][..],
        &["validate", "--all"][..],
        &["validate", "-e", "qa"][..],
        &["plan", "-e", "qa"][..],
    ] {
        let out = dmgmt()
            .arg("--dir")
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(stderr(&out).contains(hint), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn help_shows_global_options_under_their_own_heading() {
    for args in [&["--help"][..], &["plan", "--help"][..]] {
        let out = dmgmt().args(args).output().unwrap();
        let help = stdout(&out);
        let heading = help
            .find("Global options:")
            .unwrap_or_else(|| panic!("{args:?}: {help}"));
        let color = help.find("--color").unwrap();
        assert!(color > heading, "{args:?}: {help}");
    }
    let help = stdout(&dmgmt().args(["plan", "--help"]).output().unwrap());
    let own = help.find("--out").unwrap();
    assert!(own < help.find("Global options:").unwrap(), "{help}");
}

#[test]
fn a_refused_key_hints_at_the_project_id_too() {
    let live = Live::start();
    let dir = tempfile::tempdir().unwrap();
    env_file(dir.path(), "dev", "");
    let path = dir.path().join("environments/dev.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let first = text.lines().next().unwrap().to_owned();
    std::fs::write(
        &path,
        text.replace(&first, "project_id: P2wrongExampleProjectId0001"),
    )
    .unwrap();
    let out = live.run(dir.path(), &["plan", "-e", "dev"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("401"), "{err}");
    assert!(
        err.contains("hint: check the management key in env var `DMGMT_TEST_KEY` and the environment's `project_id`"),
        "{err}"
    );
}

/// Words in backticks or code blocks that name a path in this repository or a `dmgmt` command,
/// less the paths the README's own commands create or remove (`> PATH`, `create PATH`, `edit
/// PATH`, a `cp`, `mv` or `rm` line) and locations in sample output (`file:line:col`).
fn readme_references(text: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    // (text, whether it may hold a command): inline spans, `sh` blocks and the `$ ` lines of
    // `console` blocks; other lines of blocks are sample output ("dmgmt will perform…").
    let mut code: Vec<(String, bool)> = Vec::new();
    let mut block: Option<&str> = None;
    for line in text.lines() {
        if let Some(fence) = line.trim_start().strip_prefix("```") {
            block = match block {
                Some(_) => None,
                None => Some(fence.split_whitespace().next().unwrap_or("")),
            };
            continue;
        }
        match block {
            Some("sh") => code.push((line.to_owned(), true)),
            Some("console") => match line.strip_prefix("$ ") {
                Some(command) => code.push((command.to_owned(), true)),
                None => code.push((line.to_owned(), false)),
            },
            Some(_) => code.push((line.to_owned(), false)),
            None => code.extend(
                line.split('`')
                    .skip(1)
                    .step_by(2)
                    .map(|span| (span.to_owned(), true)),
            ),
        }
    }
    let mut paths = BTreeSet::new();
    let mut created = BTreeSet::new();
    let mut commands = BTreeSet::new();
    for (span, may_command) in &code {
        let words: Vec<&str> = span.split_whitespace().collect();
        for (i, word) in words.iter().enumerate() {
            let word = word.trim_matches(|c: char| matches!(c, '(' | ')' | ',' | ';' | '`'));
            let repo_path = ["src/", "tests/", "benches/", "environments/", ".ci/"]
                .iter()
                .any(|p| word.starts_with(p))
                || (word.ends_with(".md") && !word.contains('/'));
            let placeholder = word.contains(['<', '*', '$', '{', ':'])
                || word
                    .split(['/', '.', '-'])
                    .any(|part| part.len() > 1 && part.chars().all(|c| c.is_ascii_uppercase()));
            if repo_path && !placeholder {
                let writes = (i > 0 && matches!(words[i - 1], ">" | "create" | "edit"))
                    || matches!(words.first(), Some(&("cp" | "mv" | "rm")));
                if writes {
                    created.insert(word.to_owned());
                }
                paths.insert(word.to_owned());
            }
        }
        // A command is a span or code line that starts with one (not prose in sample output).
        let after = match words.as_slice() {
            ["dmgmt", cmd, ..] | ["$", "dmgmt", cmd, ..] => Some(*cmd),
            ["cargo", "run", "--", cmd, ..] => Some(*cmd),
            _ => None,
        };
        if let Some(cmd) = after
            && *may_command
            && cmd.chars().all(|c| c.is_ascii_lowercase() || c == '-')
            && !cmd.starts_with('-')
        {
            commands.insert(cmd.to_owned());
        }
    }
    (&paths - &created, commands)
}

#[test]
fn every_path_and_command_the_readme_names_exists() {
    let root = repo_root();
    // The README, and the reference and contributors' notes that were moved out of it.
    let mut text = std::fs::read_to_string(root.join("README.md")).unwrap();
    let mut pages = vec![root.join("docs/reference.md")];
    pages.extend(
        std::fs::read_dir(root.join("docs/dev"))
            .unwrap()
            .flatten()
            .map(|e| e.path()),
    );
    for page in pages {
        text.push_str(&std::fs::read_to_string(page).unwrap());
    }
    let (paths, commands) = readme_references(&text);
    let missing: Vec<&String> = paths
        .iter()
        .filter(|p| !root.join(p.trim_end_matches('/')).exists())
        .collect();
    assert!(
        missing.is_empty(),
        "README names missing files: {missing:?}"
    );
    // A positive control: the scan sees what it is meant to.
    assert!(paths.contains("src/lib.rs"), "{paths:?}");
    assert!(
        commands.contains("plan") && commands.contains("emulator"),
        "{commands:?}"
    );

    let unknown: Vec<&String> = commands
        .iter()
        .filter(|cmd| {
            // `help` is the one command that takes no `--help` of its own.
            let args: &[&str] = match cmd.as_str() {
                "help" => &["help", "plan"],
                cmd => &[cmd, "--help"],
            };
            !dmgmt().args(args).output().unwrap().status.success()
        })
        .collect();
    assert!(
        unknown.is_empty(),
        "README names unknown commands: {unknown:?}"
    );
}

#[test]
fn init_starts_a_valid_repository_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("team-config");
    let out = dmgmt().arg("init").arg(&root).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    for next in [
        "export DESCOPE_MANAGEMENT_KEY_DEV=<key>",
        "dmgmt import -e dev --write",
        "dmgmt plan -e dev",
    ] {
        assert!(text.contains(next), "says what to do next: {text}");
    }
    let gitignore = std::fs::read_to_string(root.join(".gitignore")).unwrap();
    assert!(
        gitignore.lines().any(|l| l == "/state/") && gitignore.lines().any(|l| l == "*.plan"),
        "{gitignore}"
    );

    // The example is valid as it is, key variable unset.
    let out = dmgmt()
        .arg("--dir")
        .arg(&root)
        .args(["validate", "--all"])
        .env_remove("DESCOPE_MANAGEMENT_KEY_DEV")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("Success! `dev` is valid"),
        "{}",
        stdout(&out)
    );

    // A second init refuses, naming the files, and changes nothing; `--dir` is the default DIR.
    let example = std::fs::read(root.join("environments/dev.yaml")).unwrap();
    std::fs::write(root.join("environments/dev.yaml"), b"project_id: Pmine\n").unwrap();
    let out = dmgmt()
        .arg("--dir")
        .arg(&root)
        .arg("init")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("already holds `environments/dev.yaml`, `.gitignore`")
            && err.contains("never overwrites"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(root.join("environments/dev.yaml")).unwrap(),
        b"project_id: Pmine\n"
    );
    assert_ne!(example, b"project_id: Pmine\n");
}

/// The Markdown files a text cites: every file name ending in `.md`, with its path as written.
fn cited_markdown(text: &str) -> Vec<String> {
    let path_char = |c: char| c.is_ascii_alphanumeric() || "_./-".contains(c);
    let mut cited = Vec::new();
    for (at, _) in text.match_indices(".md") {
        let after = text[at + 3..].chars().next();
        if after.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
            continue; // `.mdx`, `.md_file`: not a Markdown file
        }
        let start = text[..at]
            .char_indices()
            .rev()
            .take_while(|&(_, c)| path_char(c))
            .last()
            .map_or(at, |(i, _)| i);
        let name = &text[start..at + 3];
        // An address (`https://…/x.md`) is not a file of the repository; `.md` alone is a suffix.
        if name.starts_with('/') || name.trim_start_matches('.') == "md" {
            continue;
        }
        cited.push(name.trim_start_matches("./").to_owned());
    }
    cited
}

/// What of a file is comment or prose, where a citation may stand: comments of Rust (`//`, `///`,
/// `//!`) and of TOML, YAML and shell (`#`); all of a Markdown file but its fenced code blocks.
fn commentary(path: &std::path::Path, text: &str) -> String {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let mut out = String::new();
    let mut fenced = false;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let kept = match ext {
            "md" => {
                if trimmed.starts_with("```") {
                    fenced = !fenced;
                }
                (!fenced).then_some(line)
            }
            "rs" => trimmed
                .strip_prefix("//")
                .or_else(|| line.split_once(" // ").map(|(_, c)| c)),
            "toml" | "yaml" | "yml" | "sh" => trimmed
                .strip_prefix('#')
                .or_else(|| line.split_once(" # ").map(|(_, c)| c)),
            _ if name == "justfile" || name == "run" => trimmed.strip_prefix('#'),
            _ => None,
        };
        if let Some(kept) = kept {
            out.push_str(kept);
            out.push('\n');
        }
    }
    out
}

/// Every file of the repository a reader of its sources and docs meets (no build output).
fn repository_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && (!name.starts_with('.') || name == ".ci") {
                repository_files(&path, out);
            }
        } else {
            out.push(path);
        }
    }
}

/// A clone has only what the repository holds: a comment or a page that cites a Markdown file
/// sends its reader to a file that must be there, relative to the citing file or to the
/// repository's root (a bare file name too).
#[test]
fn every_markdown_file_a_comment_or_a_doc_cites_exists_in_the_repository() {
    let root = repo_root();
    let mut files = Vec::new();
    repository_files(&root, &mut files);
    let mut missing = BTreeSet::new();
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue; // not text
        };
        let dir = path.parent().unwrap_or(&root);
        for cited in cited_markdown(&commentary(path, &text)) {
            if !dir.join(&cited).is_file() && !root.join(&cited).is_file() {
                let at = path.strip_prefix(&root).unwrap_or(path).display();
                missing.insert(format!("{at}: {cited}"));
            }
        }
    }
    assert!(
        files.len() > 100,
        "the walk found the repository: {}",
        files.len()
    );
    assert!(
        missing.is_empty(),
        "cited Markdown files that the repository does not have (cite docs/… instead):\n{}",
        missing.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn citations_are_found_in_comments_and_prose_only() {
    let rs = "let page = \"a.md\";\n/// See `docs/b.md` §2 and c.md.\nx(); /\x2f d.md\n";
    let cited = cited_markdown(&commentary(std::path::Path::new("x.rs"), rs));
    assert_eq!(cited, ["docs/b.md", "c.md", "d.md"]);
    let md = "[e](../e.md#part), `./f.md`\n```sh\ncat g.md\n```\nh.mdx https://x.io/i.md .md\n";
    let cited = cited_markdown(&commentary(std::path::Path::new("y.md"), md));
    assert_eq!(cited, ["../e.md", "f.md"]);
    let toml = "# see j.md\nk = \"l.md\"\n";
    let cited = cited_markdown(&commentary(std::path::Path::new("Cargo.toml"), toml));
    assert_eq!(cited, ["j.md"]);
}
