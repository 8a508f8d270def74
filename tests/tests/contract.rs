//! The contract: the routes the server registers are exactly the operations of
//! `openapi.yaml`, and the served document is the one in the repository.

use std::collections::BTreeSet;

use patrol_api::console::all_routes;
use patrol_tests::{Contract, TestApp, on_both_backends};

#[test]
fn registered_routes_equal_the_documented_operations() {
    let registered: BTreeSet<(String, String)> = all_routes()
        .map(|(m, p)| (m.to_uppercase(), (*p).to_owned()))
        .collect();
    assert_eq!(
        registered.len(),
        all_routes().count(),
        "a route is registered twice"
    );
    let documented = Contract::shared().operations();
    let missing: Vec<_> = registered.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&registered).collect();
    assert!(
        missing.is_empty(),
        "routes missing from openapi.yaml: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "operations in openapi.yaml the server does not have: {extra:?}"
    );
}

#[test]
fn every_operation_id_names_its_handler_and_is_unique() {
    let contract = Contract::shared();
    let mut seen = BTreeSet::new();
    for (method, path) in contract.operations() {
        let op = &contract.doc()["paths"][&path][method.to_lowercase()];
        let id = op["operationId"]
            .as_str()
            .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        assert!(seen.insert(id.to_owned()), "operationId {id} used twice");
    }
}

async fn the_served_contract_is_the_repository_copy_and_health_answers(app: TestApp) {
    let res = app.get("/openapi.yaml").send().await;
    assert_eq!(res.status, 200);
    assert_eq!(res.text, patrol_tests::contract::OPENAPI_YAML);
    assert_eq!(app.get("/healthz").send().await.status, 200);
    assert_eq!(app.get("/readyz").send().await.status, 200);
    let res = app
        .get("/healthz")
        .header("x-request-id", "abc-123")
        .send()
        .await;
    assert_eq!(res.header("x-request-id"), Some("abc-123"));
    let generated = app.get("/healthz").send().await;
    assert!(
        generated
            .header("x-request-id")
            .is_some_and(|v| v.len() >= 32)
    );
    let metrics = app
        .get("/metrics")
        .token(patrol_tests::TEST_METRICS_TOKEN)
        .send()
        .await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.text.contains(
            "patrol_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"
        ),
        "{}",
        metrics.text
    );
    let missing = app.get("/api/v1/nothing-here").send().await;
    assert_eq!(missing.status, 404);
}

on_both_backends!(the_served_contract_is_the_repository_copy_and_health_answers);
