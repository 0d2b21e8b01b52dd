//! What the plan and apply benches share: seed calls to the in-process emulator, the seeded
//! tenants, the bench environment read as the product reads it, and its flows and theme imported
//! through dmgmt's own client.

use std::path::Path;

use dmgmt::api::Client;
use dmgmt::emulator::{EmulatorHandle, LOCAL_MANAGEMENT_KEY, LOCAL_PROJECT_ID};
use dmgmt::model::DesiredState;
use serde_json::{Value, json};

/// The `plan` custom attribute of tenant `i` is `PLANS[i % 3]`.
pub const PLANS: [&str; 3] = ["free", "pro", "enterprise"];

/// One management call to the emulator, which must succeed.
pub async fn post(emulator: &EmulatorHandle, http: &reqwest::Client, path: &str, body: Value) {
    let resp = http
        .post(format!("{}{path}", emulator.base_url()))
        .header(
            "Authorization",
            format!("Bearer {LOCAL_PROJECT_ID}:{LOCAL_MANAGEMENT_KEY}"),
        )
        .json(&body)
        .send()
        .await
        .expect("seed call");
    assert!(
        resp.status().is_success(),
        "{path}: {}",
        resp.text().await.unwrap_or_default()
    );
}

/// `count` tenants put into the emulator at once (a create and a default-roles call each would be
/// 200,000 calls at 100k), as those calls would leave them: tenant `i` is `id(i)`, "Tenant i",
/// with a domain, two custom attributes and `default_role(i)`.
pub fn seed_tenants(
    emulator: &EmulatorHandle,
    count: usize,
    id: impl Fn(usize) -> String,
    default_role: impl Fn(usize) -> String,
) {
    let tenants = (0..count)
        .map(|i| {
            serde_json::from_value(json!({
                "id": id(i), "name": format!("Tenant {i}"), "selfProvisioningDomains": [format!("t{i}.example.com")],
                "customAttributes": {"plan": PLANS[i % 3], "seats": (i % 50) * 10},
                "defaultRoles": [default_role(i)]
            }))
            .expect("tenant")
        })
        .collect();
    emulator.insert_tenants(tenants).expect("seed tenants");
}

/// The `bench` environment of the project at `root`, its variables from `env`.
pub fn bench_desired(root: &Path, env: &dyn Fn(&str) -> Option<String>) -> DesiredState {
    let project = dmgmt::config::Project::discover(Some(root), Path::new("/")).expect("project");
    let loaded = dmgmt::config::load(&project, "bench", env);
    loaded
        .desired
        .unwrap_or_else(|| panic!("bench config invalid: {:?}", loaded.diagnostics.first()))
}

/// The flows and the theme as `desired` fills them, imported through dmgmt's client.
pub async fn import_documents(client: &Client, desired: &DesiredState) {
    for f in &desired.flows {
        let doc: dmgmt::api::wire::FlowDocument =
            serde_json::from_value(f.document.clone()).expect("flow doc");
        dmgmt::api::Provider::import_flow(client, &f.id, &doc)
            .await
            .expect("import flow");
    }
    let theme: dmgmt::api::wire::ThemeDocument =
        serde_json::from_value(desired.theme.as_ref().expect("theme").document.clone())
            .expect("theme doc");
    dmgmt::api::Provider::import_theme(client, &theme)
        .await
        .expect("import theme");
}
