//! `dmgmt init [DIR]`: starts a configuration repository (`ops::init` writes the files) and says
//! what to do next.

use std::path::Path;

use super::args::InitArgs;
use super::shell::Shell;
use crate::error::{Result, exit};
use crate::ops::init::{EXAMPLE_ENV, EXAMPLE_KEY_VAR, init};

pub(crate) fn run(args: &InitArgs, global_dir: Option<&Path>, shell: &Shell) -> Result<i32> {
    let dir = args.dir.as_deref().or(global_dir).unwrap_or(Path::new("."));
    let written = init(dir)?;
    let mut text = format!("Started a dmgmt project in `{}`:\n", dir.display());
    for path in &written {
        text.push_str(&format!("  create {}\n", path.display()));
    }
    let env = EXAMPLE_ENV;
    text.push_str(&format!(
        "
Next, for your first environment, `{env}` (one environment file per Descope project):
  1. Put your project's id in `environments/{env}.yaml` (`project_id`; Descope console > Project Settings).
  2. Export its management key (Descope console > Company > Management Keys); dmgmt never stores it:
       export {EXAMPLE_KEY_VAR}=<key>
  3. If the project already holds tenants, roles, flows: see them, then write them down and adopt them:
       dmgmt import -e {env}
       dmgmt import -e {env} --write
  4. Preview what an apply would change (`No changes.` right after an import):
       dmgmt plan -e {env}
Then commit `environments/` and `.gitignore`. Other projects: copy `environments/{env}.yaml` to
`environments/staging.yaml` and so on, each with its own `project_id` and key variable."
    ));
    shell.out(text);
    Ok(exit::SUCCESS)
}
