//! The flow and theme templates an environment names: each read and parsed once however many flows
//! use it, then filled with the environment's `vars` and the entry's own; a flow also gets the id
//! the configuration gives it, and the roles and tenants it names are checked (see [`declared`]).
//!
//! It must not touch the environment's own tree: templates are filled from the variables
//! [`Loader::load`] already resolved, and their problems point into the template or the entry.
//!
//! [`declared`]: super::declared

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::declared::Declared;
use super::{Loader, scalar_text};
use crate::config::flow_refs;
use crate::config::interpolate::Scope;
use crate::config::source::{Diagnostic, FileId};
use crate::config::template::{self, TemplateKind};
use crate::config::yaml::Node;
use crate::model::FlowRefs;
use crate::model::document::set_flow_id;

impl Loader<'_> {
    /// Each flow's filled document (its flow id set to the config's) and the roles and tenants
    /// it names, each checked against what the environment declares.
    pub(super) fn load_flows(
        &mut self,
        root: &Node,
        vars: &BTreeMap<String, String>,
        env: &str,
    ) -> Vec<Option<(Json, FlowRefs)>> {
        let flows: Vec<Node> = root
            .get("flows")
            .and_then(Node::as_seq)
            .unwrap_or(&[])
            .to_vec();
        let declared = Declared::of(root);
        flows
            .iter()
            .map(|flow| {
                let (file, mut doc) = self.load_template(flow, vars, TemplateKind::Flow)?;
                if let Some(id) = flow.get("id").and_then(Node::as_str) {
                    set_flow_id(&mut doc, id);
                }
                let refs = flow_refs::find(&doc);
                self.check_refs(file, &refs, &declared, env);
                Some((doc, refs))
            })
            .collect()
    }

    pub(super) fn load_theme(
        &mut self,
        root: &Node,
        vars: &BTreeMap<String, String>,
    ) -> Option<Json> {
        let theme = root.get("theme")?.clone();
        self.load_template(&theme, vars, TemplateKind::Theme)
            .map(|(_, doc)| doc)
    }

    /// Reads (once) and fills the template named by a flow or theme entry.
    fn load_template(
        &mut self,
        entry: &Node,
        vars: &BTreeMap<String, String>,
        kind: TemplateKind,
    ) -> Option<(FileId, Json)> {
        let template = entry.get("template")?;
        let written = template.as_str()?;
        let Some(path) = self.project.config_path(written) else {
            self.diagnostics.push(
                Diagnostic::error(
                    template.span,
                    format!("template path `{written}` leaves the environments/ folder"),
                )
                .hint(
                    "template paths are relative to environments/, e.g. `flows/sign-up-or-in.json`",
                ),
            );
            return None;
        };
        let cache_key = (path.clone(), kind);
        if !self.templates.contains_key(&cache_key) {
            let what = match kind {
                TemplateKind::Flow => "flow template",
                TemplateKind::Theme => "theme template",
            };
            let parsed = self
                .read(&path, Some(template.span), what)
                .and_then(|file| {
                    template::parse(&self.sources, file, kind)
                        .map(|json| (file, json))
                        .map_err(|d| self.diagnostics.push(d))
                        .ok()
                });
            self.templates.insert(cache_key.clone(), parsed);
        }
        let (file, json) = self.templates.get(&cache_key)?.clone()?;
        let own: BTreeMap<String, String> = entry
            .get("vars")
            .and_then(Node::as_map)
            .unwrap_or(&[])
            .iter()
            .filter_map(|(k, v)| Some((k.name.clone(), scalar_text(v)?)))
            .collect();
        let scope_vars = template::scope_vars(vars, &own);
        let scope = Scope {
            vars: &scope_vars,
            env: self.env,
            key: self.key.as_ref(),
        };
        let filled = template::fill(
            &self.sources,
            file,
            &json,
            &scope,
            self.unrendered,
            &mut self.diagnostics,
        );
        Some((file, filled))
    }
}
