//! The contract is as strict as the server about what it accepts (issue 16, item 13):
//! every input the server checks (ids, codes, enums, coordinates, months, lengths,
//! ranges) is declared so in `openapi.yaml`, and every rule declared there is one the
//! server enforces. A client generated from the contract, or a fuzzer reading it, then
//! learns the rules from the document instead of from refusals.

use std::collections::BTreeSet;

use patrol_tests::{Contract, TestApp, on_both_backends};
use serde_json::{Map, Value, json};

/// The keywords that restrict a value (as opposed to describing it).
const RULES: [&str; 10] = [
    "enum",
    "const",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
];

/// Formats a validator can check and the server parses strictly.
const CHECKED_FORMATS: [&str; 3] = ["uuid", "date", "date-time"];

/// Where an input sits in a request.
#[derive(Debug, Clone, PartialEq)]
enum Loc {
    Path(String),
    Query(String),
    Body(Vec<Seg>),
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    Item,
}

/// One input of an operation, with its (resolved) schema.
#[derive(Debug, Clone)]
struct Input {
    loc: Loc,
    /// The property or parameter name (`photos[]` for the items of `photos`).
    name: String,
    schema: Value,
    /// Inside a `oneOf`/`anyOf` branch: one of several shapes, so no single base body
    /// reaches it.
    in_variant: bool,
}

impl Input {
    fn rules(&self) -> Vec<&'static str> {
        RULES
            .into_iter()
            .filter(|k| match self.schema.get(*k) {
                Some(Value::String(f)) if *k == "format" => CHECKED_FORMATS.contains(&f.as_str()),
                Some(_) => true,
                None => false,
            })
            .collect()
    }

    fn has(&self, rule: &str) -> bool {
        self.rules().contains(&rule)
    }

    fn where_(&self, op: &str) -> String {
        match &self.loc {
            Loc::Path(n) => format!("{op}: path parameter {n}"),
            Loc::Query(n) => format!("{op}: query parameter {n}"),
            Loc::Body(segs) => format!("{op}: body {}", dotted(segs)),
        }
    }
}

fn dotted(segs: &[Seg]) -> String {
    let mut s = String::new();
    for seg in segs {
        match seg {
            Seg::Key(k) if s.is_empty() => s.push_str(k),
            Seg::Key(k) => {
                s.push('.');
                s.push_str(k);
            }
            Seg::Item => s.push_str("[]"),
        }
    }
    s
}

fn resolve(doc: &Value, v: &Value) -> Value {
    let mut v = v.clone();
    while let Some(r) = v.get("$ref").and_then(Value::as_str) {
        v = doc
            .pointer(r.trim_start_matches('#'))
            .cloned()
            .unwrap_or(Value::Null);
    }
    v
}

fn types(schema: &Value) -> Vec<String> {
    match &schema["type"] {
        Value::String(t) => vec![t.clone()],
        Value::Array(ts) => ts
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        _ => Vec::new(),
    }
}

fn walk_body(doc: &Value, schema: &Value, at: &[Seg], variant: bool, out: &mut Vec<Input>) {
    let schema = resolve(doc, schema);
    for branch_key in ["oneOf", "anyOf", "allOf"] {
        for branch in schema[branch_key].as_array().into_iter().flatten() {
            walk_body(doc, branch, at, variant || branch_key != "allOf", out);
        }
    }
    if let Some(props) = schema["properties"].as_object() {
        for (name, prop) in props {
            let mut here = at.to_vec();
            here.push(Seg::Key(name.clone()));
            let resolved = resolve(doc, prop);
            out.push(Input {
                loc: Loc::Body(here.clone()),
                name: name.clone(),
                schema: resolved.clone(),
                in_variant: variant,
            });
            walk_body(doc, &resolved, &here, variant, out);
        }
    }
    if let Some(items) = schema.get("items") {
        let mut here = at.to_vec();
        here.push(Seg::Item);
        let parent = match at.last() {
            Some(Seg::Key(k)) => k.clone(),
            _ => String::new(),
        };
        let resolved = resolve(doc, items);
        out.push(Input {
            loc: Loc::Body(here.clone()),
            name: format!("{parent}[]"),
            schema: resolved.clone(),
            in_variant: variant,
        });
        walk_body(doc, &resolved, &here, variant, out);
    }
}

/// An operation of the contract and its inputs.
struct Operation {
    method: String,
    path: String,
    id: String,
    inputs: Vec<Input>,
    /// The JSON request body schema, resolved.
    body: Option<Value>,
}

fn operations(contract: &Contract) -> Vec<Operation> {
    let doc = contract.doc();
    let mut ops = Vec::new();
    for (method, path) in contract.operations() {
        let item = &doc["paths"][&path];
        let op = &item[method.to_lowercase()];
        let mut inputs = Vec::new();
        let params = item["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .chain(op["parameters"].as_array().into_iter().flatten());
        for p in params {
            let p = resolve(doc, p);
            let name = p["name"].as_str().unwrap_or_default().to_owned();
            let loc = match p["in"].as_str() {
                Some("path") => Loc::Path(name.clone()),
                Some("query") => Loc::Query(name.clone()),
                _ => continue,
            };
            inputs.push(Input {
                loc,
                name,
                schema: resolve(doc, &p["schema"]),
                in_variant: false,
            });
        }
        let body = op["requestBody"]["content"]
            .get("application/json")
            .map(|c| resolve(doc, &c["schema"]));
        if let Some(b) = &body {
            walk_body(doc, b, &[], false, &mut inputs);
        }
        ops.push(Operation {
            method,
            path,
            id: op["operationId"].as_str().unwrap_or_default().to_owned(),
            inputs,
            body,
        });
    }
    ops
}

/// Inputs the server takes as they come, with the reason; everything else named like an
/// id, a code, an enum, a coordinate, a name or a count must declare its rule.
const TAKEN_AS_GIVEN: [(&str, &str, &str); 9] = [
    // Filters: an unknown person or rule answers an empty page, not a refusal.
    ("list_visits", "officer_id", "a filter"),
    ("list_points_claims", "officer_id", "a filter"),
    ("list_points_entries", "officer_id", "a filter"),
    ("list_points_entries", "rule_code", "a filter"),
    ("list_diary_entries", "author_id", "a filter"),
    ("list_conflicts", "user_id", "a filter"),
    ("list_conflicts", "kind", "a filter over recorded kinds"),
    ("get_compliance", "officer_id", "a filter"),
    // What the claim is for: any reference of up to 100 characters, not only our ids.
    (
        "create_points_claim",
        "source_id",
        "free text, only its length is checked",
    ),
];

fn taken_as_given(op: &str, name: &str) -> bool {
    TAKEN_AS_GIVEN.iter().any(|(o, n, _)| *o == op && *n == name)
        // Assignments are listed by user id as a filter too.
        || (op == "list_assignments" && name == "user_id")
        // The one-time code is compared, not parsed; the password at sign-in is hashed,
        // never checked for its length (a policy change must not lock anyone out).
        || (op == "verify_registration" && name == "code")
        || (op == "login" && name == "password")
        // An unknown mutation is one rejection in the push answer, not a refused batch.
        || (op == "push_mutations" && name == "name")
}

/// The rule an input must declare, by its name and type; `None` when its name says nothing.
fn expected_rule(input: &Input) -> Option<(&'static str, &'static [&'static str])> {
    let name = input.name.trim_end_matches("[]");
    let strings = types(&input.schema).iter().any(|t| t == "string");
    let numbers = types(&input.schema)
        .iter()
        .any(|t| t == "integer" || t == "number");
    let is_body = matches!(input.loc, Loc::Body(_));
    let enumish = [
        "status",
        "kind",
        "role",
        "source",
        "source_kind",
        "shift",
        "applies_to",
        "group_by",
        "by",
        "class_721",
        "default_class_721",
        "outcome",
        "command",
        "met",
    ];
    let named = [
        "name",
        "display_name",
        "department_name",
        "title",
        "title_zh",
        "title_en",
        "name_zh",
        "name_en",
        "group_zh",
        "group_en",
        "address",
        "opening_hours",
        "hotline",
        "purpose",
        "note",
        "body",
        "text",
        "description",
    ];
    if strings && enumish.contains(&name) {
        return Some(("an enum", &["enum", "const"]));
    }
    if strings
        && (name == "id"
            || name == "entry_id"
            || (is_body && (name.ends_with("_id") || name.ends_with("_ids"))))
    {
        return Some(("a UUID or a pattern", &["format", "pattern"]));
    }
    if strings
        && (name == "code"
            || name.ends_with("_code")
            || (matches!(input.loc, Loc::Query(_)) && matches!(name, "community" | "category")))
    {
        return Some(("a code pattern", &["pattern"]));
    }
    if strings && matches!(name, "month" | "crs" | "phone" | "photos") {
        return Some(("a pattern", &["pattern", "enum"]));
    }
    if strings && name == "password" {
        return Some(("length bounds", &["minLength"]));
    }
    // Workflow commands (a `oneOf`) take their notes and reasons at any length.
    if strings && is_body && !input.in_variant && named.contains(&name) {
        return Some(("a length bound", &["maxLength"]));
    }
    if numbers && matches!(name, "lat" | "lon") {
        return Some(("a range", &["minimum"]));
    }
    if numbers
        && (name.ends_with("_hours")
            || name.ends_with("_minutes")
            || name.ends_with("_m")
            || matches!(name, "points" | "rating" | "limit"))
    {
        return Some(("a range", &["minimum", "maximum"]));
    }
    None
}

fn undeclared(contract: &Contract) -> (Vec<String>, BTreeSet<String>, usize) {
    let mut missing = Vec::new();
    let mut constrained_ops = BTreeSet::new();
    let mut rules = 0;
    for op in operations(contract) {
        for input in &op.inputs {
            let n = input.rules().len();
            if n > 0 {
                constrained_ops.insert(op.id.clone());
                rules += n;
            }
            if taken_as_given(&op.id, input.name.trim_end_matches("[]")) {
                continue;
            }
            if let Some((what, any_of)) = expected_rule(input)
                && !any_of.iter().any(|r| input.has(r))
            {
                missing.push(format!("{} declares no {what}", input.where_(&op.id)));
            }
        }
        // The server refuses unknown fields in every JSON body it parses (serde
        // `deny_unknown_fields`); only a GeoJSON boundary is passed through as given.
        if let Some(body) = &op.body {
            let mut objects = vec![(String::from("body"), body.clone())];
            for input in &op.inputs {
                if let Loc::Body(segs) = &input.loc
                    && input.schema.get("properties").is_some()
                    && !input.in_variant
                {
                    objects.push((dotted(segs), input.schema.clone()));
                }
            }
            for (at, schema) in objects {
                let geojson = schema["properties"].get("coordinates").is_some();
                if schema.get("properties").is_some()
                    && !geojson
                    && schema["additionalProperties"] != Value::Bool(false)
                {
                    missing.push(format!(
                        "{}: {at} does not say additionalProperties: false",
                        op.id
                    ));
                }
            }
        }
    }
    (missing, constrained_ops, rules)
}

#[test]
fn every_input_the_server_checks_declares_its_rule() {
    let contract = Contract::shared();
    let (missing, ops, rules) = undeclared(&contract);
    assert!(
        missing.is_empty(),
        "{} inputs are looser in openapi.yaml than in the server:\n{}",
        missing.len(),
        missing.join("\n")
    );
    // The walk itself must see the document: a broken walk would find nothing to miss.
    assert!(
        ops.len() >= 60 && rules >= 200,
        "only {} operations with {rules} declared input rules",
        ops.len()
    );
    eprintln!(
        "{} operations declare {rules} input rules: {ops:?}",
        ops.len()
    );
}

// ---- the server enforces every declared rule ----------------------------------------

/// A value that breaks exactly `rule` of `schema`, checked against the schema itself.
fn violation(doc: &Value, schema: &Value, rule: &str) -> Option<Value> {
    let long = |n: u64| Value::String("x".repeat(usize::try_from(n).unwrap_or(0)));
    let num = |v: &Value, d: f64| -> Value {
        if types(schema).iter().any(|t| t == "integer") {
            json!(v.as_i64().unwrap() + d as i64)
        } else {
            json!(v.as_f64().unwrap() + d * 0.5)
        }
    };
    let candidates: Vec<Value> = match rule {
        "enum" | "const" => vec![json!("no-such-value"), json!("x y")],
        "format" => match schema["format"].as_str()? {
            "uuid" => vec![json!("not-a-uuid"), json!("123")],
            "date" => vec![json!("2026-02-30"), json!("tomorrow")],
            "date-time" => vec![json!("2026-11-30 25:00"), json!("yesterday")],
            _ => return None,
        },
        "pattern" => vec![
            json!("has space!"),
            json!("!"),
            json!("x".repeat(65)),
            json!("13"),
        ],
        "minimum" => vec![num(&schema["minimum"], -1.0)],
        "maximum" => vec![num(&schema["maximum"], 1.0)],
        "minLength" => vec![json!("")],
        "maxLength" => vec![long(schema["maxLength"].as_u64()? + 1)],
        "maxItems" => {
            let item = schema["items"].clone();
            let one = if item["pattern"].as_str() == Some("^[0-9a-f]{64}$") {
                json!("a".repeat(64))
            } else if item["format"].as_str() == Some("uuid") {
                json!(uuid::Uuid::now_v7().to_string())
            } else if let Some(e) = item["enum"].as_array() {
                e[0].clone()
            } else {
                json!("x")
            };
            let n = usize::try_from(schema["maxItems"].as_u64()? + 1).unwrap();
            vec![Value::Array(vec![one; n])]
        }
        _ => return None,
    };
    let root = json!({"components": doc["components"], "allOf": [schema]});
    let validator = jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
        .expect("property schema compiles");
    candidates.into_iter().find(|v| !validator.is_valid(v))
}

fn set(body: &mut Value, segs: &[Seg], v: Value) {
    match segs.split_first() {
        None => *body = v,
        Some((Seg::Key(k), rest)) => {
            if !body.is_object() {
                *body = Value::Object(Map::new());
            }
            let slot = body
                .as_object_mut()
                .unwrap()
                .entry(k.clone())
                .or_insert(Value::Null);
            set(slot, rest, v);
        }
        Some((Seg::Item, rest)) => {
            if body.as_array().is_none_or(|a| a.is_empty()) {
                *body = json!([Value::Null]);
            }
            set(&mut body.as_array_mut().unwrap()[0], rest, v);
        }
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn as_param(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// Who calls an operation and a request it answers with 2xx; each violation changes one
/// input of it. Operations not listed here have their parameters checked with made-up
/// ids, and their bodies not at all (they act on records the scenario does not make).
struct Base {
    role: &'static str,
    path: Option<String>,
    body: Value,
    /// The base itself must succeed (else only its violations are checked: a resident's
    /// registration needs an SMS gateway the test server does not have).
    must_succeed: bool,
}

fn bases(op: &str, officer_id: &str) -> Option<Base> {
    let today = chrono::Utc::now().date_naive().to_string();
    let now = chrono::Utc::now();
    let at = |mins: i64| (now - chrono::Duration::minutes(mins)).to_rfc3339();
    let base = |role, body| {
        Some(Base {
            role,
            path: None,
            body,
            must_succeed: true,
        })
    };
    match op {
        "register_resident" => Some(Base {
            role: "",
            path: None,
            body: json!({"phone": "13900000099", "password": "a-long-password", "display_name": "居民"}),
            must_succeed: false,
        }),
        "create_street" => base(
            "admin",
            json!({"code": "T09", "name": "新街道", "kind": "town"}),
        ),
        "create_community" => base(
            "admin",
            json!({"code": "C9", "name": "九号社区", "street_code": "S1", "boundary": patrol_tests::fixture::square(101.90), "crs": "wgs84"}),
        ),
        "create_squad" => base(
            "admin",
            json!({"code": "SQ9", "name": "一中队", "street_code": "S1"}),
        ),
        "create_user" => base(
            "admin",
            json!({"login": "new.officer", "role": "officer", "display_name": "新队员", "password": "a-long-password", "phone": "13912345678"}),
        ),
        "create_assignment" => base(
            "admin",
            json!({"user_id": officer_id, "target_code": "C2", "reason": "支援"}),
        ),
        "create_duty" => base(
            "admin",
            json!({"code": "duty_x", "title_zh": "巡查", "title_en": "Patrol", "applies_to": "officer"}),
        ),
        "update_duty" => Some(Base {
            role: "admin",
            path: Some("/api/v1/duties/twice_weekly_visits".into()),
            body: json!({"title_zh": "走访", "title_en": "Visits", "applies_to": "both"}),
            must_succeed: true,
        }),
        "create_category" => base(
            "admin",
            json!({"code": "cat_x", "kind": "key_item", "group_code": "environment", "group_zh": "环境", "group_en": "Environment",
                   "name_zh": "垃圾", "name_en": "Litter", "sla_hours": 24, "accept_hours": 12, "close_hours": 72,
                   "default_class_721": "management", "duplicate_radius_m": 100}),
        ),
        "update_category" => Some(Base {
            role: "admin",
            path: Some("/api/v1/categories/garbage_pile".into()),
            body: json!({"kind": "key_item", "group_code": "environment", "group_zh": "环境", "group_en": "Environment",
                         "name_zh": "垃圾堆放", "name_en": "Garbage", "sla_hours": 24, "default_class_721": "management"}),
            must_succeed: true,
        }),
        "create_station" => base(
            "admin",
            json!({"code": "st_x", "name": "服务站", "address": "某路1号", "lat": 36.605, "lon": 101.805,
                   "opening_hours": "9:00-17:00", "community_code": "C1", "crs": "wgs84"}),
        ),
        "create_case" => base(
            "officer",
            json!({"case_id": id(), "category_code": "garbage_pile", "description": "楼道口堆放垃圾",
                   "lat": 36.605, "lon": 101.805, "crs": "wgs84", "source": "patrol_find",
                   "resolved_on_spot": []}),
        ),
        "create_visit" => base(
            "officer",
            json!({"visit_id": id(), "community_code": "C1", "started_at": at(40), "ended_at": at(10),
                   "fixes": [
                       {"at": at(39), "lat": 36.605, "lon": 101.805, "accuracy_m": 10.0},
                       {"at": at(25), "lat": 36.606, "lon": 101.806, "accuracy_m": 12.0},
                       {"at": at(11), "lat": 36.605, "lon": 101.804, "accuracy_m": 8.0}],
                   "met": ["resident"], "purpose": "走访居民", "notes": "无", "class_721": "service", "crs": "wgs84"}),
        ),
        "create_points_rule" => base(
            "admin",
            json!({"code": "rule_x", "points": 2, "description": "协助社区"}),
        ),
        // A supervisor's adjustment names the officer (an officer's own claim may not).
        "create_points_claim" => base(
            "supervisor",
            json!({"claim_id": id(), "officer_id": officer_id, "points": -2, "note": "日志未按时填写", "source_kind": "other", "source_id": "会议-1"}),
        ),
        "write_diary" => base(
            "officer",
            json!({"entry_id": id(), "entry_date": today, "shift": "day", "body": "巡查C1社区"}),
        ),
        "update_whistle_settings" => Some(Base {
            role: "admin",
            path: Some("/api/v1/communities/C1/whistle-settings".into()),
            body: json!({"sign_off_required": true, "take_minutes": 30}),
            must_succeed: true,
        }),
        "create_whistle" => base(
            "community_staff",
            json!({"whistle_id": id(), "community_code": "C1", "title": "请城管协助", "description": "楼道飞线充电"}),
        ),
        "pull_changes" => base(
            "officer",
            json!({"client_id": id(), "protocol_version": patrol_sync::protocol::PROTOCOL_VERSION, "limit": 10}),
        ),
        _ => None,
    }
}

/// A concrete path for a template: made-up ids, the fixture's first community.
fn concrete(template: &str) -> String {
    template
        .replace("{id}", &id())
        .replace("{entry_id}", &id())
        .replace("{code}", "C1")
}

async fn every_declared_input_rule_is_refused_by_the_server(app: TestApp) {
    app.seed_fixture().await;
    let mut tokens = std::collections::HashMap::new();
    for role in ["admin", "officer", "community_staff", "supervisor"] {
        tokens.insert(role, app.login_as(role).await);
    }
    let officer_id = app
        .get("/api/v1/me")
        .token(&tokens["officer"])
        .send()
        .await
        .body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The console's pages take a session cookie, not a bearer token.
    let console = app
        .console_sign_in(
            patrol_tests::fixture::login_for("admin"),
            patrol_tests::fixture::PASSWORD,
        )
        .await;
    let contract = Contract::shared();
    let mut refused = 0;
    let mut failures = Vec::new();
    for op in operations(&contract) {
        // Photo bytes are not JSON; their rules are the blob tests' business.
        if op.path.starts_with("/api/v1/blobs") {
            continue;
        }
        let base = bases(&op.id, &officer_id);
        let role = base.as_ref().map_or("admin", |b| b.role);
        let path = base
            .as_ref()
            .and_then(|b| b.path.clone())
            .unwrap_or_else(|| concrete(&op.path));
        let required_query: Vec<(String, String)> = op
            .inputs
            .iter()
            .filter_map(|i| match &i.loc {
                Loc::Query(n) if n == "lat" => Some((n.clone(), "36.605".to_owned())),
                Loc::Query(n) if n == "lon" => Some((n.clone(), "101.805".to_owned())),
                _ => None,
            })
            .collect();
        for input in &op.inputs {
            if input.in_variant {
                continue;
            }
            let body_input = matches!(input.loc, Loc::Body(_));
            if body_input && base.is_none() {
                continue;
            }
            for rule in input.rules() {
                let Some(bad) = violation(contract.doc(), &input.schema, rule) else {
                    continue;
                };
                let mut query = required_query.clone();
                let mut url_path = path.clone();
                let mut body = base.as_ref().map(|b| b.body.clone());
                match &input.loc {
                    Loc::Path(name) => {
                        let segs: Vec<&str> = op.path.split('/').collect();
                        let mut real: Vec<String> =
                            url_path.split('/').map(str::to_owned).collect();
                        for (i, s) in segs.iter().enumerate() {
                            if *s == format!("{{{name}}}") {
                                real[i] = encode(&as_param(&bad));
                            }
                        }
                        url_path = real.join("/");
                    }
                    Loc::Query(name) => {
                        query.retain(|(n, _)| n != name);
                        query.push((name.clone(), as_param(&bad)));
                    }
                    Loc::Body(segs) => set(body.as_mut().unwrap(), segs, bad.clone()),
                }
                if !query.is_empty() {
                    let q: Vec<String> = query
                        .iter()
                        .map(|(n, v)| format!("{n}={}", encode(v)))
                        .collect();
                    url_path = format!("{url_path}?{}", q.join("&"));
                }
                let method = reqwest::Method::from_bytes(op.method.as_bytes()).unwrap();
                let mut req = app.req(method, &url_path);
                if op.path.starts_with("/console/") {
                    // A form that is whole but for the input under test.
                    req = req.header("cookie", &console.cookie);
                    if op.method == "POST" {
                        let mut form = form_urlencoded::Serializer::new(String::new());
                        form.append_pair("csrf", &console.csrf);
                        match op.id.as_str() {
                            "console_transition_case" => form.append_pair("command", "accept"),
                            "console_decide_points_claim" => {
                                form.append_pair("decision", "approve")
                            }
                            _ => &mut form,
                        };
                        let form = form.finish();
                        req = req.raw("application/x-www-form-urlencoded", form);
                    }
                } else {
                    if !role.is_empty() {
                        req = req.token(&tokens[role]);
                    }
                    if let Some(b) = body.or_else(|| op.body.as_ref().map(|_| json!({}))) {
                        req = req.json(b);
                    }
                }
                let res = req.send().await;
                let what = format!("{} ({rule} broken with {bad})", input.where_(&op.id));
                // Refused for the input, not for who asked: a base body is sent by a
                // role that may call the operation.
                let for_the_input = if body_input {
                    matches!(res.status, 400 | 409 | 413 | 422)
                } else {
                    (400..500).contains(&res.status) && res.status != 401
                };
                if for_the_input {
                    refused += 1;
                } else {
                    failures.push(format!("{what}: answered {} {}", res.status, res.text));
                }
            }
        }
        if let Some(b) = base.filter(|b| b.must_succeed) {
            let method = reqwest::Method::from_bytes(op.method.as_bytes()).unwrap();
            let res = app
                .req(method, &path)
                .token(&tokens[b.role])
                .json(b.body.clone())
                .send()
                .await;
            if !(200..300).contains(&res.status) {
                failures.push(format!(
                    "{}: the base request itself answered {} {} (so its violations prove nothing)",
                    op.id, res.status, res.text
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} declared rules are not what the server does:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(refused >= 150, "only {refused} violations were sent");
}

on_both_backends!(every_declared_input_rule_is_refused_by_the_server);

// ---- enums list every value the server knows ----------------------------------------

fn enums(v: &Value, at: &str, out: &mut Vec<(String, Vec<String>)>) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Array(members)) = map.get("enum") {
                let names = members
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                out.push((at.to_owned(), names));
            }
            for (k, child) in map {
                enums(child, &format!("{at}/{k}"), out);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                enums(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// An enum that names most of a domain set's values must name them all: a status
/// filter without `reported` would tell clients they cannot ask for new cases.
#[test]
fn every_enum_of_a_domain_set_lists_the_whole_set() {
    use patrol_domain::case::{CaseSource, CaseStatus, CloseOutcome};
    use patrol_domain::escalation::EscalationStatus;
    use patrol_domain::role::Role;
    use patrol_domain::whistle::WhistleStatus;
    let sets: Vec<(&str, Vec<&str>)> = vec![
        (
            "case status",
            CaseStatus::ALL.map(CaseStatus::as_str).to_vec(),
        ),
        (
            "case source",
            CaseSource::ALL.map(CaseSource::as_str).to_vec(),
        ),
        (
            "close outcome",
            CloseOutcome::ALL.map(CloseOutcome::as_str).to_vec(),
        ),
        ("role", Role::ALL.map(Role::as_str).to_vec()),
        (
            "escalation status",
            EscalationStatus::ALL.map(EscalationStatus::as_str).to_vec(),
        ),
        (
            "whistle status",
            WhistleStatus::ALL.map(WhistleStatus::as_str).to_vec(),
        ),
        ("shift", patrol_domain::diary::SHIFTS.to_vec()),
    ];
    // Staff accounts are made by admins; residents register themselves.
    let subsets = [(
        "/components/schemas/CreateUserRequest/properties/role",
        "resident",
    )];
    let mut found = Vec::new();
    enums(Contract::shared().doc(), "", &mut found);
    let mut short = Vec::new();
    for (at, members) in &found {
        for (set, values) in &sets {
            // An enum drawn only from the set and naming most of it is that set; a few
            // values of it are a deliberate subset (the roles that earn points).
            let within = members.iter().all(|m| values.contains(&m.as_str()));
            if !within || members.len() * 2 <= values.len() {
                continue;
            }
            let missing: Vec<&&str> = values
                .iter()
                .filter(|v| !members.iter().any(|m| m == *v))
                .filter(|v| {
                    !subsets
                        .iter()
                        .any(|(p, left_out)| at.ends_with(p) && left_out == *v)
                })
                .collect();
            if !missing.is_empty() {
                short.push(format!("{at} (a {set}) lacks {missing:?}"));
            }
        }
    }
    assert!(short.is_empty(), "{}", short.join("\n"));
}
