use super::support::{spawn_api, ApiBuilder};
use crate::http::{openapi_json, openapi_yaml, SPEC_SERVER_URL};
use poem::http::Method;
use serde_json::Value;
use std::time::Duration;

/// The media key of every body in the spec (the server may add `; charset=utf-8`).
const JSON: &str = "application/json";

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
            let json = &resp["content"][JSON]["schema"]["$ref"];
            // An event stream's items are the named schema of its events' data.
            let events = &resp["content"]["text/event-stream"]["schema"]["items"]["$ref"];
            assert!(json.is_string() || events.is_string(), "{id} {status} has no named schema");
        }
        if id == "health" {
            assert!(op.get("security").is_none(), "health needs no token");
        } else {
            assert_eq!(op["security"][0]["bearerAuth"], serde_json::json!([]), "{id} is not secured");
            let e401 = &responses["401"];
            assert_eq!(e401["content"][JSON]["schema"]["$ref"], "#/components/schemas/ApiError");
            assert!(e401["headers"]["WWW-Authenticate"].is_object(), "{id}: 401 without WWW-Authenticate");
        }
    }
    ids.sort();
    assert_eq!(
        ids,
        [
            "answerPermission",
            "cancelTurn",
            "closeSession",
            "createSession",
            "getSession",
            "getUsage",
            "health",
            "listSessionEvents",
            "listSessions",
            "listTurns",
            "runOneShot",
            "runTurn",
            "streamSession"
        ]
    );
}

#[test]
fn each_operation_lists_the_errors_it_can_return() {
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    let statuses = |path: &str, method: &str| -> Vec<String> {
        // Sorted: serde_json keeps insertion order (agent-client-protocol turns on `preserve_order`).
        let mut keys: Vec<String> =
            spec["paths"][path][method]["responses"].as_object().expect("responses").keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(statuses("/sessions", "post"), ["200", "400", "401", "413", "422", "429", "500", "502", "503", "504"]);
    assert_eq!(
        statuses("/sessions/{session_id}/turn", "post"),
        ["200", "202", "400", "401", "404", "409", "410", "413", "422", "500", "502", "503", "504"]
    );
    let turn = &spec["paths"]["/sessions/{session_id}/turn"]["post"]["responses"]["200"]["content"];
    assert_eq!(turn[JSON]["schema"]["$ref"], "#/components/schemas/TurnResult");
    assert_eq!(turn["text/event-stream"]["schema"]["items"]["$ref"], "#/components/schemas/TurnStreamEvent");
    assert_eq!(statuses("/sessions/{session_id}/stream", "get"), ["200", "401", "404", "422", "500", "503"]);
    assert_eq!(
        statuses("/sessions/{session_id}/permissions/{request_id}", "post"),
        ["200", "400", "401", "404", "413", "422", "500", "503"]
    );
    // 503 everywhere: the ledger's database may be unreachable (`unavailable`).
    assert_eq!(statuses("/sessions/{session_id}", "get"), ["200", "401", "404", "500", "503"]);
    assert_eq!(statuses("/sessions", "get"), ["200", "401", "422", "500", "503"]);
    assert_eq!(statuses("/run", "post"), ["200", "400", "401", "413", "422", "429", "500", "502", "503", "504"]);
    assert_eq!(statuses("/usage", "get"), ["200", "401", "422", "500", "503"]);
    let pool_full = &spec["paths"]["/sessions"]["post"]["responses"]["503"];
    assert!(pool_full["headers"]["Retry-After"].is_object());
    let run_failed = &spec["paths"]["/run"]["post"]["responses"]["502"];
    assert_eq!(run_failed["content"][JSON]["schema"]["$ref"], "#/components/schemas/RunFailure");
}

#[test]
fn the_spec_has_no_schema_combinators_that_sdk_generators_mishandle() {
    // openapi-python-client turns an allOf of an enum $ref and a description into a broken model.
    // The one union allowed is what an event stream's events may carry (generators skip streams).
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    for (name, schema) in spec["components"]["schemas"].as_object().expect("schemas") {
        let text = schema.to_string();
        let stream_union = name.ends_with("StreamEvent") && schema.get("anyOf").is_some();
        for combinator in ["allOf", "anyOf", "oneOf"] {
            assert!(stream_union || !text.contains(combinator), "{name} uses {combinator}");
        }
    }
    assert!(!spec["paths"].to_string().contains("allOf"), "an operation uses allOf");
}

fn schema(spec: &Value, name: &str) -> Value {
    spec["components"]["schemas"][name].clone()
}

#[test]
fn every_body_in_the_spec_is_keyed_plain_application_json() {
    let spec = openapi_json();
    assert!(!spec.contains("charset"), "a media key carries a charset");
}

#[test]
fn the_spec_states_the_bounds_the_server_enforces() {
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    let limit = spec["paths"]["/sessions"]["get"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "limit")
        .expect("limit")
        .clone();
    assert_eq!((limit["schema"]["minimum"].as_f64(), limit["schema"]["maximum"].as_f64()), (Some(1.0), Some(200.0)));
    let run = schema(&spec, "RunRequest");
    assert_eq!(run["properties"]["max_turns"]["minimum"].as_f64(), Some(1.0));
    assert_eq!(run["properties"]["timeout_secs"]["minimum"].as_f64(), Some(1.0));
    assert_eq!(run["properties"]["timeout_secs"]["maximum"].as_f64(), Some(1800.0));
    for body in ["RunRequest", "TurnRequest"] {
        let prompt = &schema(&spec, body)["properties"]["prompt"];
        assert_eq!((prompt["minLength"].as_u64(), prompt["pattern"].as_str()), (Some(1), Some("\\S")), "{body}");
    }
    assert_eq!(schema(&spec, "CreateSessionRequest")["properties"]["meta"]["type"], "object");
}

#[test]
fn optional_request_fields_that_take_null_say_so() {
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    for (body, field) in [
        ("RunRequest", "model"),
        ("RunRequest", "system_prompt"),
        ("RunRequest", "max_turns"),
        ("RunRequest", "timeout_secs"),
        ("TurnRequest", "files"),
        ("CreateSessionRequest", "meta"),
    ] {
        assert_eq!(schema(&spec, body)["properties"][field]["nullable"], true, "{body}.{field}");
    }
}

#[test]
fn response_fields_the_server_always_sends_are_required_even_when_null() {
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    for (body, field) in [
        ("SessionView", "last_turn_at"),
        ("SessionView", "closed_at"),
        ("SessionView", "close_reason"),
        ("SessionList", "next_cursor"),
        ("TurnList", "next_cursor"),
        ("RunResult", "stop_reason"),
    ] {
        let s = schema(&spec, body);
        assert_eq!(s["properties"][field]["nullable"], true, "{body}.{field}");
        assert!(s["required"].as_array().is_some_and(|r| r.contains(&Value::from(field))), "{body}.{field}");
    }
}

#[test]
fn the_error_schema_is_api_error_with_an_enum_of_codes() {
    let spec: Value = serde_json::from_str(&openapi_json()).expect("json");
    assert!(schema(&spec, "Error").is_null(), "a schema named Error shadows built-ins in generated SDKs");
    assert_eq!(schema(&spec, "ApiError")["properties"]["code"]["$ref"], "#/components/schemas/ErrorCode");
    let codes = schema(&spec, "ErrorCode")["enum"].clone();
    for code in ["unauthorized", "not_found", "gone", "conflict", "invalid_request", "pool_full", "internal"] {
        assert!(codes.as_array().is_some_and(|c| c.contains(&Value::from(code))), "{code}");
    }
}

#[tokio::test]
async fn the_served_spec_states_the_servers_own_run_timeout_maximum() {
    let api = ApiBuilder::default().run_policy(|p| p.max_timeout = Duration::from_secs(600)).build().await;
    let json = api.send(Method::GET, "/openapi.json", None, None).await;
    let max = &json.body["components"]["schemas"]["RunRequest"]["properties"]["timeout_secs"]["maximum"];
    assert_eq!(max.as_u64(), Some(600));
    let yaml = api.send(Method::GET, "/openapi.yaml", None, None).await;
    assert!(yaml.raw.contains("maximum: 600"), "{}", yaml.raw.len());
}
