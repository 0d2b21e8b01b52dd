//! Descope's preconfigured objects (docs/descope-api.md §4; Descope docs, "Role-Based Access
//! Control → Preconfigured Roles and Permissions"): what every new project already holds before
//! anyone configures it.
//!
//! The system-default permissions may be referenced by roles without being declared, and may never
//! be changed, renamed or deleted; the `Tenant Admin` role is editable and is adopted when declared.
//! Live objects also say so themselves (`systemDefault: true`); these names let the offline
//! validation know them without a call.

/// The permissions Descope creates in every project, marked `systemDefault: true`.
pub const SYSTEM_DEFAULT_PERMISSIONS: [&str; 3] = ["User Admin", "SSO Admin", "Impersonate"];

/// The project role Descope creates in every project; the tenant-admin widgets rely on its
/// system-default permissions.
pub const TENANT_ADMIN_ROLE: &str = "Tenant Admin";

/// Whether `name` is one of Descope's system-default permissions.
pub(crate) fn is_system_default_permission(name: &str) -> bool {
    SYSTEM_DEFAULT_PERMISSIONS.contains(&name)
}
