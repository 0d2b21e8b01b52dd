use proptest::prelude::*;

use super::*;

fn parse(text: &str) -> ResourceAddr {
    text.parse()
        .unwrap_or_else(|e| panic!("`{text}` should parse: {e}"))
}

#[test]
fn addresses_round_trip_through_display() {
    for text in [
        "permission.billing.read",
        "role.Billing Admin",
        "role.acme/Auditor",
        "role.acme/a/b",
        "role.\"acme/Admin\"",
        "role.\"\\\"quoted\\\" \\\\ role\"",
        "tenant.acme",
        "flow.sign-up-or-in",
        "permission.\"\"",
        "theme",
    ] {
        assert_eq!(parse(text).to_string(), text);
    }
}

#[test]
fn a_project_role_with_a_slash_is_not_the_tenant_role() {
    let project = ResourceAddr::role(None, "acme/Admin");
    let tenant = ResourceAddr::role(Some("acme"), "Admin");
    assert_eq!(project.to_string(), "role.\"acme/Admin\"");
    assert_eq!(tenant.to_string(), "role.acme/Admin");
    assert_eq!(parse("role.\"acme/Admin\""), project);
    assert_eq!(parse("role.acme/Admin"), tenant);
}

#[test]
fn quoted_components_may_be_written_where_they_are_not_needed() {
    assert_eq!(
        parse("tenant.\"acme\""),
        ResourceAddr::Tenant("acme".into())
    );
    assert_eq!(
        parse("role.\"acme\"/\"Admin\""),
        ResourceAddr::role(Some("acme"), "Admin")
    );
    assert_eq!(
        parse("role.\"a/b\"/\"c\\\\d\""),
        ResourceAddr::role(Some("a/b"), "c\\d")
    );
}

#[test]
fn permission_names_keep_their_dots() {
    assert_eq!(
        parse("permission.a.b.c"),
        ResourceAddr::Permission("a.b.c".into())
    );
}

#[test]
fn malformed_addresses_are_rejected_with_a_reason() {
    for text in [
        "tenant",
        "tenant.",
        "user.bob",
        "role./x",
        "role.acme/",
        "role.\"acme",
        "role.\"acme\"x",
        "role.\"acme\"/",
        "tenant.\"a\\x\"",
        "tenant.\"a\"b",
    ] {
        let err = text.parse::<ResourceAddr>().unwrap_err();
        assert!(err.to_string().contains(text), "{err}");
    }
}

#[test]
fn addresses_serialise_as_text() {
    let addr = ResourceAddr::role(Some("acme"), "Auditor");
    assert_eq!(
        serde_json::to_string(&addr).unwrap(),
        "\"role.acme/Auditor\""
    );
    assert_eq!(
        serde_json::from_str::<ResourceAddr>("\"role.acme/Auditor\"").unwrap(),
        addr
    );
    let project = ResourceAddr::role(None, "acme/Auditor");
    let text = serde_json::to_string(&project).unwrap();
    assert_eq!(text, r#""role.\"acme/Auditor\"""#);
    assert_eq!(
        serde_json::from_str::<ResourceAddr>(&text).unwrap(),
        project
    );
    assert!(serde_json::from_str::<ResourceAddr>("\"nope\"").is_err());
}

#[test]
fn kinds_sort_in_dependency_order() {
    let mut kinds = vec![
        ResourceKind::Flow,
        ResourceKind::Tenant,
        ResourceKind::Permission,
    ];
    kinds.sort();
    assert_eq!(
        kinds,
        [
            ResourceKind::Permission,
            ResourceKind::Tenant,
            ResourceKind::Flow
        ]
    );
}

/// Any name at all, with the characters that matter to the syntax made likely.
fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 ._-]{0,12}",
        "[\"\\\\/a. ]{0,8}",
        any::<String>(),
    ]
}

fn address() -> impl Strategy<Value = ResourceAddr> {
    prop_oneof![
        name().prop_map(ResourceAddr::Permission),
        (proptest::option::of(name()), name())
            .prop_map(|(tenant, name)| ResourceAddr::Role { tenant, name }),
        name().prop_map(ResourceAddr::Tenant),
        name().prop_map(ResourceAddr::Flow),
        Just(ResourceAddr::Theme),
    ]
}

/// How addresses were written before names were ever quoted: a state file of that time has only
/// names that need no quoting, and must read back the same.
fn unquoted(addr: &ResourceAddr) -> String {
    match addr {
        ResourceAddr::Permission(name) => format!("permission.{name}"),
        ResourceAddr::Role { tenant: None, name } => format!("role.{name}"),
        ResourceAddr::Role {
            tenant: Some(tenant),
            name,
        } => format!("role.{tenant}/{name}"),
        ResourceAddr::Tenant(id) => format!("tenant.{id}"),
        ResourceAddr::Theme => "theme".to_owned(),
        ResourceAddr::Flow(id) => format!("flow.{id}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(512),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Display then parse gives the same address back, whatever the names hold: two objects
    /// never share an address text.
    #[test]
    fn display_then_parse_round_trips(addr in address()) {
        let text = addr.to_string();
        let back: ResourceAddr = text.parse().map_err(|e| TestCaseError::fail(format!("{e}")))?;
        prop_assert_eq!(back, addr);
    }

    /// Names that never needed quoting (no `/` in a role's tenant or project role name, not
    /// empty, not starting with `"`) are written as they always were.
    #[test]
    fn plain_names_are_written_as_before(addr in address()) {
        let plain = |s: &str| !s.is_empty() && !s.starts_with('"');
        let needs_quotes = match &addr {
            ResourceAddr::Permission(n) | ResourceAddr::Tenant(n) | ResourceAddr::Flow(n) => !plain(n),
            ResourceAddr::Role { tenant: None, name } => !plain(name) || name.contains('/'),
            ResourceAddr::Role { tenant: Some(t), name } => {
                !plain(t) || t.contains('/') || !plain(name)
            }
            ResourceAddr::Theme => false,
        };
        prop_assume!(!needs_quotes);
        prop_assert_eq!(addr.to_string(), unquoted(&addr));
    }
}
