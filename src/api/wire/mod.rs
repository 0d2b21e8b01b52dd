//! Descope's management wire format: the JSON objects and request bodies of `docs/descope-api.md`
//! §3–§5.
//!
//! These types are shared by the client (which serialises requests and reads responses) and the
//! emulator (which reads requests strictly and serialises responses), so both speak exactly one
//! dialect. Field names are Descope's camelCase. Objects read from Descope are tolerant: unknown keys
//! are ignored and `null` reads as the empty value. Request bodies are strict
//! (`deny_unknown_fields`) and every optional field accepts `null`.
//! This module holds data only: no HTTP, no I/O, no validation beyond serde.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::model::RawBody;

mod flow;
mod settings;

pub(crate) use flow::{
    Empty, FlowDeleteRequest, FlowDocumentV2, FlowExportRequest, FlowImportRequest,
    FlowImportV2Request, FlowListRequest, FlowListResponse, FlowSummary, ThemeImportRequest,
};
pub use flow::{FlowDocument, ThemeDocument};
pub(crate) use settings::{TenantSettings, TenantSettingsRequest};

/// Reads `null` (or a missing key, with `#[serde(default)]`) as `T::default()`.
fn nullable<'de, D, T>(de: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(de)?.unwrap_or_default())
}

/// An object as Descope sent it: the typed view dmgmt reads, and the whole body, keys dmgmt does
/// not model included. An update replaces the whole object, so the body is what a read-modify-write
/// starts from; and the body's digest tells a saved plan that anything about the object moved.
#[derive(Debug, Clone, PartialEq)]
pub struct Raw<T> {
    pub value: T,
    pub(crate) body: RawBody,
}

impl<T> std::ops::Deref for Raw<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<'de, T: serde::de::DeserializeOwned> Deserialize<'de> for Raw<T> {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        // The item's text, then the typed value and the canonical body each from that text: no
        // tree of the object is built (a load-all answer holds tens of thousands of them).
        use serde::de::Error;
        let text = Box::<serde_json::value::RawValue>::deserialize(de)?;
        let text = text.get();
        if !text.starts_with('{') {
            return Err(D::Error::custom("expected an object"));
        }
        let value = serde_json::from_str(text).map_err(D::Error::custom)?;
        let body = RawBody::from_json_text(text).map_err(D::Error::custom)?;
        Ok(Raw { value, body })
    }
}

/// `GET /v1/mgmt/license`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct License {
    /// `tier1` … `tier4` (free … enterprise); sent back as `x-descope-license`.
    #[serde(default, deserialize_with = "nullable")]
    pub rate_limit_tier: String,
}

/// A tenant as loaded (`GET /v1/mgmt/tenant?id=`, list items). Flat, not wrapped.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Tenant {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub self_provisioning_domains: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub custom_attributes: Map<String, Value>,
    /// `none`, `saml` or `oidc`.
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) auth_type: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) domains: Vec<String>,
    /// Epoch seconds.
    #[serde(default, deserialize_with = "nullable")]
    pub created_time: i64,
    #[serde(default, rename = "enforceSSO", deserialize_with = "nullable")]
    pub(crate) enforce_sso: bool,
    #[serde(
        default,
        rename = "enforceSSOExclusions",
        deserialize_with = "nullable"
    )]
    pub(crate) enforce_sso_exclusions: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) disabled: bool,
    /// `""`, `none` or `userOnly`.
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) role_inheritance: String,
    /// Role names given to new users of the tenant.
    #[serde(default, deserialize_with = "nullable")]
    pub default_roles: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) federated_app_ids: Vec<String>,
    /// Parent tenant id (set at create only); empty for a top-level tenant.
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) parent: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) successors: Vec<String>,
}

/// The answer of `GET /v1/mgmt/tenant?id=`: the flat tenant object, as the SDKs read it, or the
/// tenant wrapped as `{"tenant": {...}}`, as Descope's docs show it (`docs/descope-api.md` §3: the
/// two conflict). Either reads as the tenant.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LoadedTenant(pub Tenant);

impl<'de> Deserialize<'de> for LoadedTenant {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let mut body = Map::<String, Value>::deserialize(de)?;
        let wrapped = !body.contains_key("id") && body.get("tenant").is_some_and(Value::is_object);
        let tenant = match (wrapped, body.remove("tenant")) {
            (true, Some(inner)) => inner,
            (_, other) => {
                if let Some(v) = other {
                    body.insert("tenant".to_owned(), v);
                }
                Value::Object(body)
            }
        };
        Tenant::deserialize(tenant)
            .map(LoadedTenant)
            .map_err(serde::de::Error::custom)
    }
}

/// Body of tenant create, update and patch. `id` missing, `null` or `""` on create means "generate".
/// Update replaces the whole tenant; patch merges only the fields present.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub self_provisioning_domains: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_attributes: Option<Map<String, Value>>,
    #[serde(
        default,
        rename = "enforceSSO",
        skip_serializing_if = "Option::is_none"
    )]
    pub enforce_sso: Option<bool>,
    #[serde(
        default,
        rename = "enforceSSOExclusions",
        skip_serializing_if = "Option::is_none"
    )]
    pub enforce_sso_exclusions: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub federated_app_ids: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_inheritance: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_type: Option<String>,
}

/// `POST /v1/mgmt/tenant/create` answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct TenantCreated {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) id: String,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TenantDeleteRequest {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) cascade: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TenantSearchRequest {
    #[serde(default)]
    pub(crate) tenant_ids: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) tenant_names: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) tenant_self_provisioning_domains: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) custom_attributes: Option<Map<String, Value>>,
    #[serde(default)]
    pub(crate) auth_type: Option<String>,
    #[serde(default)]
    pub(crate) parent_tenant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct DefaultRolesRequest {
    #[serde(default)]
    pub(crate) id: Option<String>,
    #[serde(default)]
    pub(crate) default_roles: Option<Vec<String>>,
}

/// `{"tenants": [...]}` of load all and search.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub(crate) struct TenantList {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) tenants: Vec<Tenant>,
}

/// A role. Identity is `(name, tenantId)` or `id`; an empty `tenantId` is a project role.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) description: String,
    #[serde(default, deserialize_with = "nullable")]
    pub permission_names: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) created_time: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub tenant_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) default: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) private: bool,
}

/// Body of `role/create` and an item of `role/create/batch`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleCreate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permission_names: Option<Vec<String>>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub default: Option<bool>,
    #[serde(default)]
    pub private: Option<bool>,
}

/// Body of `role/update` and an item of `role/update/batch`: the role is found by `id`, else by
/// `(name, tenantId)`; every other field replaces the stored one; `newName` renames it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub new_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub permission_names: Option<Vec<String>>,
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub default: Option<bool>,
    #[serde(default)]
    pub private: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RoleDelete {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub tenant_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleCreateBatch {
    #[serde(default)]
    pub(crate) roles: Option<Vec<RoleCreate>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoleUpdateBatch {
    #[serde(default)]
    pub(crate) roles: Option<Vec<RoleUpdate>>,
}

/// `role/delete/batch`. An empty filter deletes every role (Descope's behaviour), so the client
/// refuses to send one.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RoleDeleteBatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) role_names: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) tenant_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) role_ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SortSpec {
    #[serde(default)]
    pub(crate) field: Option<String>,
    #[serde(default)]
    pub(crate) desc: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RoleSearchRequest {
    #[serde(default)]
    pub(crate) tenant_ids: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) role_names: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) role_name_like: Option<String>,
    #[serde(default)]
    pub(crate) permission_names: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) include_project_roles: Option<bool>,
    #[serde(default)]
    pub(crate) role_ids: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) text: Option<String>,
    #[serde(default)]
    pub(crate) sort: Option<Vec<SortSpec>>,
}

/// `{"roles": [...]}` of load all, search and the create/update batch answers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct RoleList {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) roles: Vec<Role>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Permission {
    #[serde(default, deserialize_with = "nullable")]
    pub id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub name: String,
    #[serde(default, deserialize_with = "nullable")]
    pub description: String,
    #[serde(default, deserialize_with = "nullable")]
    pub system_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PermissionCreate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// Found by `id`, else by `name`; `newName` renames, `description` replaces.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PermissionUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub new_name: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PermissionDelete {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PermissionCreateBatch {
    #[serde(default)]
    pub(crate) permissions: Option<Vec<PermissionCreate>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PermissionUpdateBatch {
    #[serde(default)]
    pub(crate) permissions: Option<Vec<PermissionUpdate>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PermissionDeleteBatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) names: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) ids: Option<Vec<String>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub(crate) struct PermissionList {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) permissions: Vec<Permission>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_reads_nulls_and_unknown_keys_as_defaults() {
        let t: Tenant = serde_json::from_str(
            r#"{"id":"acme","name":"Acme","customAttributes":null,"enforceSSO":true,"newKey":1}"#,
        )
        .unwrap();
        assert_eq!(t.id, "acme");
        assert!(t.custom_attributes.is_empty());
        assert!(t.enforce_sso);
    }

    #[test]
    fn a_loaded_tenant_reads_flat_or_wrapped() {
        let flat: LoadedTenant = serde_json::from_str(r#"{"id":"acme","name":"Acme"}"#).unwrap();
        let wrapped: LoadedTenant =
            serde_json::from_str(r#"{"tenant":{"id":"acme","name":"Acme"},"extra":1}"#).unwrap();
        assert_eq!(flat, wrapped);
        assert_eq!(wrapped.0.name, "Acme");
        // A flat tenant that happens to carry a `tenant` field stays flat.
        let odd: LoadedTenant =
            serde_json::from_str(r#"{"id":"acme","name":"Acme","tenant":{"id":"x"}}"#).unwrap();
        assert_eq!(odd.0.id, "acme");
    }

    #[test]
    fn requests_reject_unknown_fields_and_accept_nulls() {
        let err = serde_json::from_str::<RoleCreate>(r#"{"name":"a","nam":"b"}"#).unwrap_err();
        assert!(err.to_string().contains("unknown field `nam`"), "{err}");
        let ok: RoleCreate = serde_json::from_str(
            r#"{"name":"a","description":null,"permissionNames":[],"tenantId":null,"default":null,"private":null}"#,
        )
        .unwrap();
        assert_eq!(ok.name.as_deref(), Some("a"));
    }

    #[test]
    fn tenant_request_uses_descope_field_names() {
        let req = TenantRequest {
            id: Some("acme".into()),
            name: Some("Acme".into()),
            enforce_sso: Some(true),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&req).unwrap(),
            r#"{"id":"acme","name":"Acme","enforceSSO":true}"#
        );
    }
}
