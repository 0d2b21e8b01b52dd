//! The checked, merged and filled configuration tree turned into the typed [`DesiredState`].
//! Runs only on a tree with no error left, so a failure here is a bug, not bad input.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value as Json;

use super::node_deserializer::NodeDeserializer;
use super::schema::env_ref_name;
use super::yaml::Node;
use crate::model::attrs::normalize_document;
use crate::model::{
    BackupPolicy, DesiredState, Flow, FlowRefs, Permission, RateLimit, RetrySettings, Role,
    SecretRef, Tenant, Theme,
};

pub(super) fn desired_state(
    name: &str,
    root: &Node,
    flows: Vec<Option<(Json, FlowRefs)>>,
    theme: Option<Json>,
) -> Result<DesiredState, serde::de::value::Error> {
    let file = EnvFile::deserialize(NodeDeserializer(root))?;
    let backups = file.backups.unwrap_or_default();
    let defaults = BackupPolicy::default();
    Ok(DesiredState {
        environment: name.to_owned(),
        project_id: file.project_id,
        management_key: file
            .management_key
            .as_deref()
            .and_then(env_ref_name)
            .map(|v| SecretRef {
                env_var: v.to_owned(),
            }),
        base_url: file.base_url,
        emulator: file.emulator,
        protected: file.protected,
        rate_limit: file.rate_limit,
        retry: file.retry,
        parallelism: file
            .parallelism
            .unwrap_or(DesiredState::DEFAULT_PARALLELISM),
        backups: BackupPolicy {
            retention_days: backups.retention_days.unwrap_or(defaults.retention_days),
            keep_min: backups.keep_min.unwrap_or(defaults.keep_min),
        },
        // At their exact lengths: grown item by item, the lists of a large environment keep
        // room for up to as many again.
        permissions: exact(file.permissions),
        roles: exact(file.roles),
        tenants: exact(file.tenants),
        flows: file
            .flows
            .into_iter()
            .zip(flows)
            .map(|(f, loaded)| {
                let (document, refs) = loaded.unwrap_or_default();
                Flow {
                    document: normalize_document(&document),
                    refs,
                    id: f.id,
                    template: f.template,
                    prevent_destroy: f.prevent_destroy,
                }
            })
            .collect(),
        theme: file.theme.map(|t| Theme {
            template: t.template,
            document: normalize_document(&theme.unwrap_or(Json::Null)),
        }),
    })
}

/// The checked, merged environment as plain data (the schema guarantees the shape).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvFile {
    project_id: String,
    management_key: Option<String>,
    base_url: Option<String>,
    #[serde(default)]
    emulator: bool,
    #[serde(default)]
    protected: bool,
    rate_limit: Option<RateLimit>,
    #[serde(default)]
    retry: RetrySettings,
    parallelism: Option<u32>,
    backups: Option<BackupsIn>,
    #[serde(default, rename = "vars")]
    _vars: IndexMap<String, Json>,
    #[serde(default)]
    permissions: Vec<Permission>,
    #[serde(default)]
    roles: Vec<Role>,
    #[serde(default)]
    tenants: Vec<Tenant>,
    #[serde(default)]
    flows: Vec<FlowIn>,
    theme: Option<ThemeIn>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct BackupsIn {
    retention_days: Option<u32>,
    keep_min: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlowIn {
    id: String,
    template: String,
    #[serde(default, rename = "vars")]
    _vars: IndexMap<String, Json>,
    #[serde(default)]
    prevent_destroy: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeIn {
    template: String,
    #[serde(default, rename = "vars")]
    _vars: IndexMap<String, Json>,
}

/// `items` without spare capacity.
fn exact<T>(mut items: Vec<T>) -> Vec<T> {
    items.shrink_to_fit();
    items
}
