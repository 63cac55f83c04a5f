use super::support::spawn_api;
use crate::http::{openapi_json, openapi_yaml, SPEC_SERVER_URL};
use poem::http::Method;
use serde_json::Value;

/// The media type of every body the API answers with.
const JSON: &str = "application/json; charset=utf-8";

fn operations(spec: &Value) -> Vec<(String, String, Value)> {
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("path item") {
            ops.push((path.clone(), method.clone(), op.clone()));
        }
    }
    ops
}

#[tokio::test]
async fn healthz_answers_without_a_token() {
    let api = spawn_api().await;
    api.create_session(&api.alpha).await;
    let body = api.health().await.ok();
    assert_eq!(
        body,
        serde_json::json!({"ok": true, "version": "9.9.9-test", "live_sessions": 1, "max_live_sessions": 64})
    );
}

#[tokio::test]
async fn the_spec_and_the_docs_are_served_without_a_token() {
    let api = spawn_api().await;
    let yaml = api.send(Method::GET, "/openapi.yaml", None, None).await;
    assert_eq!(yaml.status.as_u16(), 200);
    assert_eq!(yaml.raw, openapi_yaml());
    let json = api.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(json.status.as_u16(), 200);
    assert_eq!(json.body["info"]["title"], "clawdforge");
    let docs = api.send(Method::GET, "/docs", None, None).await;
    assert_eq!(docs.status.as_u16(), 200);
    assert!(docs.raw.contains("swagger"), "not the Swagger UI");
}

#[test]
fn the_spec_is_deterministic_and_names_the_default_server() {
    assert_eq!(openapi_yaml(), openapi_yaml());
    assert_eq!(openapi_json(), openapi_json());
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    assert_eq!(spec["servers"][0]["url"], SPEC_SERVER_URL);
}

#[test]
fn every_operation_has_an_id_a_tag_and_its_documented_errors() {
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    let mut ids: Vec<String> = Vec::new();
    for (path, method, op) in operations(&spec) {
        let id = op["operationId"].as_str().unwrap_or_else(|| panic!("{method} {path} has no operationId"));
        ids.push(id.to_owned());
        assert!(op["tags"].as_array().is_some_and(|t| t.len() == 1), "{id} has no tag");
        let responses = op["responses"].as_object().expect("responses");
        for (status, resp) in responses {
            let schema = &resp["content"][JSON]["schema"]["$ref"];
            assert!(schema.is_string(), "{id} {status} has no named schema");
        }
        if id == "health" {
            assert!(op.get("security").is_none(), "health needs no token");
        } else {
            assert_eq!(op["security"][0]["bearerAuth"], serde_json::json!([]), "{id} is not secured");
            let e401 = &responses["401"];
            assert_eq!(e401["content"][JSON]["schema"]["$ref"], "#/components/schemas/Error");
            assert!(e401["headers"]["WWW-Authenticate"].is_object(), "{id}: 401 without WWW-Authenticate");
        }
    }
    ids.sort();
    assert_eq!(
        ids,
        [
            "closeSession",
            "createSession",
            "getSession",
            "getUsage",
            "health",
            "listSessionEvents",
            "listSessions",
            "listTurns",
            "runOneShot",
            "runTurn"
        ]
    );
}

#[test]
fn each_operation_lists_the_errors_it_can_return() {
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    let statuses = |path: &str, method: &str| -> Vec<String> {
        spec["paths"][path][method]["responses"].as_object().expect("responses").keys().cloned().collect()
    };
    assert_eq!(statuses("/sessions", "post"), ["200", "400", "401", "413", "422", "429", "500", "502", "503", "504"]);
    assert_eq!(
        statuses("/sessions/{session_id}/turn", "post"),
        ["200", "400", "401", "404", "409", "410", "413", "422", "500", "502", "504"]
    );
    assert_eq!(statuses("/sessions/{session_id}", "get"), ["200", "401", "404", "500"]);
    assert_eq!(statuses("/sessions", "get"), ["200", "401", "422", "500"]);
    assert_eq!(statuses("/run", "post"), ["200", "400", "401", "413", "422", "500", "502", "504"]);
    assert_eq!(statuses("/usage", "get"), ["200", "401", "422", "500"]);
    let pool_full = &spec["paths"]["/sessions"]["post"]["responses"]["503"];
    assert!(pool_full["headers"]["Retry-After"].is_object());
    let run_failed = &spec["paths"]["/run"]["post"]["responses"]["502"];
    assert_eq!(run_failed["content"][JSON]["schema"]["$ref"], "#/components/schemas/RunFailure");
}

#[test]
fn the_spec_has_no_schema_combinators_that_sdk_generators_mishandle() {
    // openapi-python-client turns an allOf of an enum $ref and a description into a broken model.
    let spec = openapi_json();
    for combinator in ["allOf", "anyOf", "oneOf"] {
        assert!(!spec.contains(combinator), "the spec uses {combinator}");
    }
}
