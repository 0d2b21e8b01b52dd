//! Tenant settings on the wire (`GET`/`POST /v1/mgmt/tenant/settings`, `docs/descope-api.md` §3).
//!
//! Data only. The GET answer always carries every key (the session flag is `enabled`); the POST body
//! names the tenant with `tenantId` and may carry any subset of the keys, each of them nullable.

use serde::{Deserialize, Serialize};

use super::nullable;

/// Features of the SSO setup suite that are switched off.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SsoSetupSuiteDisabledFeatures {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) saml: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) oidc: bool,
    #[serde(default, deserialize_with = "nullable")]
    scim: bool,
    #[serde(default, deserialize_with = "nullable")]
    sso_domains: bool,
    #[serde(default, deserialize_with = "nullable")]
    group_mapping: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct SsoSetupSuiteSettings {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) enabled: bool,
    #[serde(default, deserialize_with = "nullable")]
    style_id: String,
    #[serde(default, deserialize_with = "nullable")]
    disabled_features: SsoSetupSuiteDisabledFeatures,
}

/// The GET answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TenantSettings {
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) domains: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) self_provisioning_domains: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) auth_type: String,
    /// Session settings enabled.
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) enabled: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) refresh_token_expiration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) refresh_token_expiration_unit: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) session_token_expiration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) session_token_expiration_unit: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) stepup_token_expiration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) stepup_token_expiration_unit: String,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) enable_inactivity: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) inactivity_time: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) inactivity_time_unit: String,
    #[serde(default, rename = "JITDisabled", deserialize_with = "nullable")]
    pub(crate) jit_disabled: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub(crate) sso_setup_suite_settings: SsoSetupSuiteSettings,
}

/// The POST body. The SDKs disagree on a few keys' spelling (the Node SDK sends `InactivityTime`
/// and `InactivityTimeUnit`, and names the session flag `sessionSettingsEnabled`); both are read.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct TenantSettingsRequest {
    #[serde(default)]
    pub(crate) tenant_id: Option<String>,
    #[serde(default)]
    pub(crate) domains: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) self_provisioning_domains: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) auth_type: Option<String>,
    #[serde(default, alias = "sessionSettingsEnabled")]
    pub(crate) enabled: Option<bool>,
    #[serde(default)]
    pub(crate) refresh_token_expiration: Option<i64>,
    #[serde(default)]
    pub(crate) refresh_token_expiration_unit: Option<String>,
    #[serde(default)]
    pub(crate) session_token_expiration: Option<i64>,
    #[serde(default)]
    pub(crate) session_token_expiration_unit: Option<String>,
    #[serde(default)]
    pub(crate) stepup_token_expiration: Option<i64>,
    #[serde(default)]
    pub(crate) stepup_token_expiration_unit: Option<String>,
    #[serde(default)]
    pub(crate) enable_inactivity: Option<bool>,
    #[serde(default, alias = "InactivityTime")]
    pub(crate) inactivity_time: Option<i64>,
    #[serde(default, alias = "InactivityTimeUnit")]
    pub(crate) inactivity_time_unit: Option<String>,
    #[serde(default, rename = "JITDisabled")]
    pub(crate) jit_disabled: Option<bool>,
    #[serde(default)]
    pub(crate) sso_setup_suite_settings: Option<SsoSetupSuiteSettings>,
    #[serde(default, rename = "enforceSSO")]
    pub(crate) enforce_sso: Option<bool>,
    #[serde(default, rename = "enforceSSOExclusions")]
    pub(crate) enforce_sso_exclusions: Option<Vec<String>>,
    #[serde(default)]
    pub(crate) federated_app_ids: Option<Vec<String>>,
}
