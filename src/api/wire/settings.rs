//! Tenant settings on the wire (`GET`/`POST /v1/mgmt/tenant/settings`, `descope-api.md` §3).
//!
//! Data only. The GET answer always carries every key (the session flag is `enabled`); the POST body
//! names the tenant with `tenantId` and may carry any subset of the keys, each of them nullable.

use serde::{Deserialize, Serialize};

use super::nullable;

/// Features of the SSO setup suite that are switched off.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SsoSetupSuiteDisabledFeatures {
    #[serde(default, deserialize_with = "nullable")]
    pub saml: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub oidc: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub scim: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub sso_domains: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub group_mapping: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SsoSetupSuiteSettings {
    #[serde(default, deserialize_with = "nullable")]
    pub enabled: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub style_id: String,
    #[serde(default, deserialize_with = "nullable")]
    pub disabled_features: SsoSetupSuiteDisabledFeatures,
}

/// The GET answer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantSettings {
    #[serde(default, deserialize_with = "nullable")]
    pub domains: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub self_provisioning_domains: Vec<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub auth_type: String,
    /// Session settings enabled.
    #[serde(default, deserialize_with = "nullable")]
    pub enabled: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub refresh_token_expiration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub refresh_token_expiration_unit: String,
    #[serde(default, deserialize_with = "nullable")]
    pub session_token_expiration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub session_token_expiration_unit: String,
    #[serde(default, deserialize_with = "nullable")]
    pub stepup_token_expiration: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub stepup_token_expiration_unit: String,
    #[serde(default, deserialize_with = "nullable")]
    pub enable_inactivity: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub inactivity_time: i64,
    #[serde(default, deserialize_with = "nullable")]
    pub inactivity_time_unit: String,
    #[serde(default, rename = "JITDisabled", deserialize_with = "nullable")]
    pub jit_disabled: bool,
    #[serde(default, deserialize_with = "nullable")]
    pub sso_setup_suite_settings: SsoSetupSuiteSettings,
}

/// The POST body.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSettingsRequest {
    #[serde(default)]
    pub tenant_id: Option<String>,
    #[serde(default)]
    pub domains: Option<Vec<String>>,
    #[serde(default)]
    pub self_provisioning_domains: Option<Vec<String>>,
    #[serde(default)]
    pub auth_type: Option<String>,
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub refresh_token_expiration: Option<i64>,
    #[serde(default)]
    pub refresh_token_expiration_unit: Option<String>,
    #[serde(default)]
    pub session_token_expiration: Option<i64>,
    #[serde(default)]
    pub session_token_expiration_unit: Option<String>,
    #[serde(default)]
    pub stepup_token_expiration: Option<i64>,
    #[serde(default)]
    pub stepup_token_expiration_unit: Option<String>,
    #[serde(default)]
    pub enable_inactivity: Option<bool>,
    #[serde(default)]
    pub inactivity_time: Option<i64>,
    #[serde(default)]
    pub inactivity_time_unit: Option<String>,
    #[serde(default, rename = "JITDisabled")]
    pub jit_disabled: Option<bool>,
    #[serde(default)]
    pub sso_setup_suite_settings: Option<SsoSetupSuiteSettings>,
    #[serde(default, rename = "enforceSSO")]
    pub enforce_sso: Option<bool>,
    #[serde(default, rename = "enforceSSOExclusions")]
    pub enforce_sso_exclusions: Option<Vec<String>>,
    #[serde(default)]
    pub federated_app_ids: Option<Vec<String>>,
}
