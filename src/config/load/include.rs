//! One configuration file and, merged under it, the files its `include:` list names, recursively:
//! include paths stay inside `environments/`, and a cycle is reported with its whole chain.
//!
//! It must not interpolate, check references or build anything: it returns the merged tree of one
//! environment exactly as its files write it, for [`Loader::load`] to fill and check.

use std::path::{Path, PathBuf};

use super::Loader;
use crate::config::merge::{merge, take_key};
use crate::config::rules;
use crate::config::schema::{self, FileRole};
use crate::config::source::{Diagnostic, Span};
use crate::config::yaml::{self, Node};

impl Loader<'_> {
    /// Reads, parses and checks one file, then merges the files it includes under it.
    pub(super) fn load_tree(
        &mut self,
        path: &Path,
        role: FileRole,
        chain: &mut Vec<PathBuf>,
        from: Option<Span>,
    ) -> Option<Node> {
        let file = self.read(path, from, "included file")?;
        let parsed = yaml::parse(file, self.sources.text(file));
        self.diagnostics.extend(parsed.diagnostics);
        // Without a tree (syntax error, empty file) there is nothing more to check in this file.
        let mut root = parsed.root?;
        schema::check_file(&root, role, &mut self.diagnostics);
        root.as_map()?;
        rules::check_duplicates(&root, &mut self.diagnostics);

        let mut merged: Option<Node> = None;
        if let Some((_, includes)) = take_key(&mut root, "include") {
            for item in includes.as_seq().unwrap_or(&[]) {
                let Some(written) = item.as_str() else {
                    continue;
                };
                let Some(target) = self.project.config_path(written) else {
                    self.diagnostics.push(
                        Diagnostic::error(item.span, format!("include path `{written}` leaves the environments/ folder"))
                            .hint("include paths are relative to environments/, e.g. `shared/common.yaml`"),
                    );
                    continue;
                };
                if let Some(start) = chain.iter().position(|p| *p == target) {
                    let cycle: Vec<String> = chain[start..]
                        .iter()
                        .chain(std::iter::once(&target))
                        .map(|p| self.project.display(p))
                        .collect();
                    self.diagnostics.push(
                        Diagnostic::error(
                            item.span,
                            format!("include cycle: {}", cycle.join(" -> ")),
                        )
                        .hint("remove one of these includes"),
                    );
                    continue;
                }
                chain.push(target.clone());
                let included = self.load_tree(&target, FileRole::Shared, chain, Some(item.span));
                chain.pop();
                if let Some(included) = included {
                    merged = Some(match merged {
                        Some(acc) => merge(acc, included, ""),
                        None => included,
                    });
                }
            }
        }
        Some(match merged {
            Some(acc) => merge(acc, root, ""),
            None => root,
        })
    }
}
