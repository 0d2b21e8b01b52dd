//! The desired state of one environment, as the loader hands it to the rest of dmgmt: every include
//! merged, every `${...}` resolved, every reference checked, templates parsed.
//!
//! Optional fields are `Option` on purpose: only fields written in the config are managed
//! (docs/reference.md, `plan`), so "not written" must stay distinguishable from "written as the
//! default".

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

use super::ResourceAddr;

/// Everything the config says about one environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DesiredState {
    /// The environment's name (the file stem of `environments/<name>.yaml`).
    pub(crate) environment: String,
    pub(crate) project_id: String,
    /// Where the management key comes from; never the key itself.
    pub(crate) management_key: Option<SecretRef>,
    pub(crate) base_url: Option<String>,
    pub(crate) emulator: bool,
    pub(crate) protected: bool,
    pub(crate) rate_limit: Option<RateLimit>,
    #[serde(default)]
    pub(crate) retry: RetrySettings,
    pub(crate) parallelism: u32,
    pub(crate) backups: BackupPolicy,
    pub(crate) permissions: Vec<Permission>,
    pub(crate) roles: Vec<Role>,
    pub(crate) tenants: Vec<Tenant>,
    pub flows: Vec<Flow>,
    pub theme: Option<Theme>,
}

impl DesiredState {
    pub(crate) const DEFAULT_PARALLELISM: u32 = 4;
    /// The most calls in flight at once: the configuration's `parallelism` and `--parallelism`.
    pub(crate) const MAX_PARALLELISM: u32 = 32;

    /// Addresses of every declared resource: the one list that decides what the configuration
    /// declares (plan, refresh, import, `--target` and the state's guards all ask it).
    pub fn addresses(&self) -> BTreeSet<ResourceAddr> {
        let mut out = BTreeSet::new();
        out.extend(self.permissions.iter().map(Permission::addr));
        out.extend(self.roles.iter().map(Role::addr));
        out.extend(self.tenants.iter().map(Tenant::addr));
        out.extend(self.theme.iter().map(|_| ResourceAddr::Theme));
        out.extend(self.flows.iter().map(Flow::addr));
        out
    }
}

/// A reference to the process environment variable holding a secret (`${env.NAME}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub(crate) struct SecretRef {
    pub(crate) env_var: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RateLimit {
    pub(crate) requests: u32,
    pub(crate) per_seconds: u32,
}

/// Retry bounds written in config; unset fields keep the client's defaults.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetrySettings {
    pub(crate) attempts: Option<u32>,
    pub(crate) base_delay_ms: Option<u64>,
    pub(crate) max_delay_ms: Option<u64>,
    pub(crate) rate_limit_waits: Option<u32>,
    pub(crate) timeout_seconds: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct BackupPolicy {
    pub(crate) retention_days: u32,
    pub(crate) keep_min: u32,
}

impl Default for BackupPolicy {
    fn default() -> Self {
        BackupPolicy {
            retention_days: 30,
            keep_min: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Permission {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) renamed_from: Option<String>,
    #[serde(default)]
    pub(crate) prevent_destroy: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Role {
    pub(crate) name: String,
    pub(crate) description: Option<String>,
    pub(crate) permissions: Option<Vec<String>>,
    /// The tenant a tenant-scoped role belongs to; `None` for a project role.
    pub(crate) tenant: Option<String>,
    pub(crate) renamed_from: Option<String>,
    #[serde(default)]
    pub(crate) prevent_destroy: bool,
}

impl Permission {
    pub(crate) fn addr(&self) -> ResourceAddr {
        ResourceAddr::Permission(self.name.clone())
    }

    /// Where the permission was live before its `renamed_from` rename.
    pub(crate) fn renamed_from_addr(&self) -> Option<ResourceAddr> {
        self.renamed_from.clone().map(ResourceAddr::Permission)
    }
}

impl Role {
    pub(crate) fn addr(&self) -> ResourceAddr {
        ResourceAddr::role(self.tenant.as_deref(), &self.name)
    }

    /// Where the role was live before its `renamed_from` rename (in the same scope).
    pub(crate) fn renamed_from_addr(&self) -> Option<ResourceAddr> {
        self.renamed_from
            .as_deref()
            .map(|old| ResourceAddr::role(self.tenant.as_deref(), old))
    }
}

impl Tenant {
    pub(crate) fn addr(&self) -> ResourceAddr {
        ResourceAddr::Tenant(self.id.clone())
    }
}

/// A custom attribute value: Descope accepts strings, numbers, booleans and lists of strings.
type AttributeValue = serde_json::Value;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Tenant {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) self_provisioning_domains: Option<Vec<String>>,
    pub(crate) custom_attributes: Option<IndexMap<String, AttributeValue>>,
    pub(crate) enforce_sso: Option<bool>,
    pub(crate) disabled: Option<bool>,
    pub(crate) default_roles: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) prevent_destroy: bool,
}

impl Flow {
    pub(crate) fn addr(&self) -> ResourceAddr {
        ResourceAddr::Flow(self.id.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flow {
    pub id: String,
    /// The template path as written, relative to `environments/`.
    pub(crate) template: String,
    /// The template with every placeholder filled and normalised (volatile fields dropped, keys
    /// sorted, the flow id set): a Descope flow export in the generation the template is written
    /// in (v1 `{"flow": {...}, "screens": [...]}` or v2 `{"flow": {"flowId", ...}}`; see
    /// [`super::DocFormat`]).
    pub document: serde_json::Value,
    /// The roles and tenants the document names, found once when the template is loaded.
    #[serde(default)]
    pub(crate) refs: FlowRefs,
    #[serde(default)]
    pub(crate) prevent_destroy: bool,
}

impl Flow {
    pub(crate) fn format(&self) -> super::DocFormat {
        super::DocFormat::of(super::ResourceKind::Flow, &self.document)
    }
}

/// What a flow document refers to by name in the rest of the configuration (how they are found:
/// `config::flow_refs`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FlowRefs {
    /// Roles the flow assigns, in document order.
    pub(crate) roles: Vec<NamedRef>,
    /// Tenants the flow names, in document order.
    pub(crate) tenants: Vec<NamedRef>,
}

impl FlowRefs {
    /// The distinct role names, sorted.
    pub(crate) fn role_names(&self) -> std::collections::BTreeSet<&str> {
        self.roles.iter().map(|r| r.name.as_str()).collect()
    }

    /// The distinct tenant ids, sorted.
    pub(crate) fn tenant_ids(&self) -> std::collections::BTreeSet<&str> {
        self.tenants.iter().map(|r| r.name.as_str()).collect()
    }
}

/// One name in a document and where it is: a JSON path such as
/// `$.flow.dsl.tasks["7"].arguments.roles.value[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NamedRef {
    pub(crate) name: String,
    pub(crate) json_path: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Theme {
    pub(crate) template: String,
    /// The filled, normalised template: a Descope theme export, v1 (`{"theme": {cssTemplate,
    /// ...}}`) or v2 (`{"theme": {styles, ...}}`).
    pub document: serde_json::Value,
}

impl Theme {
    pub(crate) fn format(&self) -> super::DocFormat {
        super::DocFormat::of(super::ResourceKind::Theme, &self.document)
    }
}
