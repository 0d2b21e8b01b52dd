//! The shape of an environment file, declared once and used twice: to check every file (unknown
//! keys with "did you mean", wrong types, missing keys, malformed ids) and to print the JSON Schema
//! that editors use (`dmgmt schema`). Adding a key here is all it takes for both.
//!
//! This file holds the declarations; [`check`] and [`json`] the two uses.

mod check;
mod json;

pub(crate) use check::{
    ID_RULE, PROJECT_ID_RULE, check_file, check_required_root, env_ref_name, is_id, is_project_id,
    is_var_name,
};
pub(crate) use json::json_schema;

/// The type of a value.
#[derive(Debug)]
pub(crate) enum Ty {
    Str(Format),
    Bool,
    Int {
        min: i64,
        max: i64,
    },
    /// A list whose items all have this type.
    List(&'static Ty),
    /// A mapping with a fixed set of keys.
    Object(&'static Object),
    /// A mapping from free-form names (matching `Format::VarName` or anything) to values.
    Dict {
        keys: Format,
        values: &'static Ty,
    },
    /// A string, number or boolean (a variable's value).
    Scalar,
    /// A custom attribute value: string, number, boolean or list of strings.
    Attribute,
}

/// Extra rules for strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Any,
    /// Non-empty, without leading or trailing spaces.
    Name,
    /// A Descope project id: `P` and 19-63 letters or digits.
    ProjectId,
    /// An `http://` or `https://` URL.
    Url,
    /// Only `${env.NAME}`: secrets never live in files.
    EnvRef,
    /// Tenant and flow ids: letters, digits, `-`, `_`, `.`.
    Id,
    /// Variable names: letters, digits and `_`, not starting with a digit.
    VarName,
    /// A relative path inside `environments/`.
    Path,
}

/// One key of an [`Object`].
#[derive(Debug)]
pub(crate) struct Field {
    pub(crate) key: &'static str,
    pub(crate) ty: Ty,
    pub(crate) required: bool,
    /// Only in environment files, never in shared (included) files.
    pub(crate) env_only: bool,
    pub(crate) doc: &'static str,
}

/// A mapping with named keys: the environment file itself, a tenant, a role...
#[derive(Debug)]
pub(crate) struct Object {
    /// How messages name it: "tenant", "role", "environment file"...
    pub(crate) name: &'static str,
    pub(crate) fields: &'static [Field],
}

const fn field(key: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        key,
        ty,
        required: false,
        env_only: false,
        doc,
    }
}

const fn required(key: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        key,
        ty,
        required: true,
        env_only: false,
        doc,
    }
}

const fn env_only(key: &'static str, ty: Ty, doc: &'static str) -> Field {
    Field {
        key,
        ty,
        required: false,
        env_only: true,
        doc,
    }
}

const NAMES: Ty = Ty::List(&Ty::Str(Format::Name));
const VARS: Ty = Ty::Dict {
    keys: Format::VarName,
    values: &Ty::Scalar,
};

// The tables below are kept one key per line, as a reader scans them.

#[rustfmt::skip]
static PERMISSION: Object = Object {
    name: "permission",
    fields: &[
        required("name", Ty::Str(Format::Name), "The permission's name; its identity."),
        field("description", Ty::Str(Format::Any), "Shown in the Descope console."),
        field("renamed_from", Ty::Str(Format::Name), "The old name: plan an in-place rename instead of delete + create."),
        field("prevent_destroy", Ty::Bool, "Refuse to delete it unless --allow-delete."),
    ],
};

#[rustfmt::skip]
pub(crate) static ROLE: Object = Object {
    name: "role",
    fields: &[
        required("name", Ty::Str(Format::Name), "The role's name; with `tenant`, its identity."),
        field("description", Ty::Str(Format::Any), "Shown in the Descope console."),
        field("permissions", NAMES, "Names of permissions declared in this environment."),
        field("tenant", Ty::Str(Format::Id), "Scope the role to this tenant (declared in this environment)."),
        field("renamed_from", Ty::Str(Format::Name), "The old name: plan an in-place rename that keeps user assignments."),
        field("prevent_destroy", Ty::Bool, "Refuse to delete it unless --allow-delete."),
    ],
};

#[rustfmt::skip]
pub(crate) static TENANT: Object = Object {
    name: "tenant",
    fields: &[
        required("id", Ty::Str(Format::Id), "Descope's tenant id; the stable key. Changing it replaces the tenant."),
        required("name", Ty::Str(Format::Name), "Display name; unique in the project."),
        field("self_provisioning_domains", NAMES, "Email domains whose users join this tenant."),
        field("custom_attributes", Ty::Dict { keys: Format::Name, values: &Ty::Attribute }, "Tenant custom attributes (defined in the Descope console first)."),
        field("enforce_sso", Ty::Bool, "Require SSO for the tenant's users."),
        field("disabled", Ty::Bool, "Disable the tenant."),
        field("default_roles", NAMES, "Roles given to new users: project roles or roles scoped to this tenant."),
        field("prevent_destroy", Ty::Bool, "Refuse to delete it unless --allow-delete."),
    ],
};

#[rustfmt::skip]
pub(crate) static FLOW: Object = Object {
    name: "flow",
    fields: &[
        required("id", Ty::Str(Format::Id), "The flow id in Descope, e.g. `sign-up-or-in`."),
        required("template", Ty::Str(Format::Path), "A Descope flow export (JSON), relative to environments/."),
        field("vars", VARS, "Values for `${var.NAME}` in this template, over the environment's vars."),
        field("prevent_destroy", Ty::Bool, "Refuse to delete it unless --allow-delete."),
    ],
};

#[rustfmt::skip]
pub(crate) static THEME: Object = Object {
    name: "theme",
    fields: &[
        required("template", Ty::Str(Format::Path), "A Descope theme export (JSON), relative to environments/."),
        field("vars", VARS, "Values for `${var.NAME}` in this template, over the environment's vars."),
    ],
};

#[rustfmt::skip]
static RATE_LIMIT: Object = Object {
    name: "rate_limit",
    fields: &[
        required("requests", Ty::Int { min: 1, max: 100_000 }, "Requests allowed per window."),
        required("per_seconds", Ty::Int { min: 1, max: 3_600 }, "The window, in seconds."),
    ],
};

#[rustfmt::skip]
static BACKUPS: Object = Object {
    name: "backups",
    fields: &[
        field("retention_days", Ty::Int { min: 0, max: 36_500 }, "Prune backups older than this (default 30)."),
        field("keep_min", Ty::Int { min: 1, max: 100_000 }, "Never prune the newest N backups, at least 1 (default 5)."),
    ],
};

#[rustfmt::skip]
static RETRY: Object = Object {
    name: "retry",
    fields: &[
        field("attempts", Ty::Int { min: 1, max: 10 }, "Attempts per call on 5xx and connection errors (default 4)."),
        field("base_delay_ms", Ty::Int { min: 1, max: 60_000 }, "First backoff, doubled per attempt, with jitter (default 200)."),
        field("max_delay_ms", Ty::Int { min: 1, max: 300_000 }, "Largest backoff (default 5000)."),
        field("rate_limit_waits", Ty::Int { min: 0, max: 1_000 }, "Waits after HTTP 429 before a call fails (default 30)."),
        field("timeout_seconds", Ty::Int { min: 1, max: 600 }, "Timeout of one request (default 60)."),
    ],
};

#[rustfmt::skip]
pub(crate) static ENVIRONMENT: Object = Object {
    name: "environment file",
    fields: &[
        Field { key: "project_id", ty: Ty::Str(Format::ProjectId), required: true, env_only: true, doc: "The Descope project id (not a secret)." },
        env_only("management_key", Ty::Str(Format::EnvRef), "Only `${env.NAME}`; resolved when a command talks to Descope."),
        env_only("base_url", Ty::Str(Format::Url), "API base URL; default derived from project_id."),
        env_only("emulator", Ty::Bool, "Run against dmgmt's embedded emulator instead of Descope."),
        env_only("protected", Ty::Bool, "Typed confirmation on apply; deletes need --allow-delete."),
        field("rate_limit", Ty::Object(&RATE_LIMIT), "Client-side rate limit for this environment's API calls."),
        field("retry", Ty::Object(&RETRY), "Retry bounds and request timeout for this environment's API calls."),
        field("parallelism", Ty::Int { min: 1, max: crate::model::DesiredState::MAX_PARALLELISM as i64 }, "Changes in flight at once during apply (default 4)."),
        field("backups", Ty::Object(&BACKUPS), "Retention of pre-apply backups."),
        field("include", Ty::List(&Ty::Str(Format::Path)), "Shared files merged before this one, relative to environments/."),
        field("vars", VARS, "Values for `${var.NAME}` in strings and templates."),
        field("permissions", Ty::List(&Ty::Object(&PERMISSION)), "Permissions."),
        field("roles", Ty::List(&Ty::Object(&ROLE)), "Project and tenant-scoped roles."),
        field("tenants", Ty::List(&Ty::Object(&TENANT)), "Tenants."),
        field("flows", Ty::List(&Ty::Object(&FLOW)), "Flows, each from a JSON template."),
        field("theme", Ty::Object(&THEME), "The project theme, from a JSON template."),
    ],
};

/// Which kind of file is being checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileRole {
    /// `environments/<env>.yaml`.
    Environment,
    /// A file pulled in with `include:`: no identity keys, nothing required.
    Shared,
}
