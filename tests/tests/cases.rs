//! Cases from report to rating: the workflow graph under random commands, verification,
//! deadlines with pauses, escalation to departments, duplicates, the follow-up window,
//! privacy, quotas and bad input.

use patrol_domain::case::{CaseCommand, CaseStatus, is_allowed};
use patrol_tests::fixture::{DEPARTMENTS, PASSWORD, RESIDENT_PHONE, RESIDENT_PHONE_2};
use patrol_tests::{Res, TestApp, on_both_backends};
use serde_json::{Value, json};

/// A point inside community C1 (lon 101.80–101.81, lat 36.60–36.61).
const AT: (f64, f64) = (36.605, 101.805);
/// About 111 m per 0.001 degree of latitude.
const METRES_PER_DEG_LAT: f64 = 111_000.0;

async fn me(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/me").token(token).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn report_body(category: &str, (lat, lon): (f64, f64), description: &str) -> Value {
    json!({
        "case_id": uuid::Uuid::now_v7().to_string(),
        "category_code": category,
        "description": description,
        "lat": lat,
        "lon": lon,
    })
}

async fn report(app: &TestApp, token: &str, category: &str, at: (f64, f64)) -> Value {
    let res = app
        .post("/api/v1/cases")
        .token(token)
        .json(report_body(category, at, "楼下垃圾堆了三天"))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body
}

fn id_of(detail: &Value) -> String {
    detail["case"]["id"].as_str().unwrap().to_owned()
}

async fn command(app: &TestApp, token: &str, case_id: &str, cmd: Value) -> Res {
    app.post(&format!("/api/v1/cases/{case_id}/transitions"))
        .token(token)
        .json(cmd)
        .send()
        .await
}

async fn ok(app: &TestApp, token: &str, case_id: &str, cmd: Value) -> Value {
    let res = command(app, token, case_id, cmd.clone()).await;
    assert_eq!(res.status, 200, "{cmd}: {}", res.text);
    res.body
}

async fn detail(app: &TestApp, token: &str, case_id: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(token)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

fn transitions(detail: &Value) -> Vec<(String, String)> {
    detail["activities"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["kind"] == "transition")
        .map(|a| {
            (
                a["from_status"].as_str().unwrap().to_owned(),
                a["to_status"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

struct Desk {
    resident: String,
    officer: String,
    officer_id: String,
    staff: String,
    supervisor: String,
}

async fn desk(app: &TestApp) -> Desk {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    Desk {
        resident: app.login_as("resident").await,
        officer_id: me(app, &officer).await,
        officer,
        staff: app.login_as("community_staff").await,
        supervisor: app.login_as("supervisor").await,
    }
}

/// Reported by the resident, accepted, dispatched to the officer and started.
async fn in_progress(app: &TestApp, d: &Desk) -> String {
    let id = id_of(&report(app, &d.resident, "garbage_pile", AT).await);
    ok(app, &d.supervisor, &id, json!({"command": "accept"})).await;
    ok(
        app,
        &d.supervisor,
        &id,
        json!({"command": "dispatch", "to": {"officer": d.officer_id}}),
    )
    .await;
    ok(app, &d.officer, &id, json!({"command": "start"})).await;
    id
}

fn resolve() -> Value {
    json!({"command": "resolve", "evidence": ["清理完毕，已拍照"], "note": ""})
}

fn verify(passed: bool) -> Value {
    json!({"command": "verify", "passed": passed, "outcome": "fixed", "note": if passed { "" } else { "还有残留" }})
}

/// Moves a case's past back by `ms`: it was reported, dispatched and everything after
/// happened that much earlier.
async fn backdate_dispatch(app: &TestApp, case_id: &str, ms: i64) {
    app.sql(format!(
        "UPDATE cases SET created_at = created_at - {ms}, accepted_at = accepted_at - {ms}, \
         dispatched_at = dispatched_at - {ms} WHERE id = '{case_id}'; \
         UPDATE case_activities SET recorded_at = recorded_at - {ms} WHERE case_id = '{case_id}';"
    ))
    .await;
}

const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

// ---- the workflow graph under random commands ------------------------------------------

/// A small deterministic generator, so a failing run can be replayed from its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[usize::try_from(self.next() % items.len() as u64).unwrap()]
    }
}

async fn random_commands_by_random_roles_only_ever_walk_the_graph(app: TestApp) {
    let d = desk(&app).await;
    let admin = app.login_as("admin").await;
    let c3 = app.login_as_login("officer.c3").await;
    let department = app.login_as("department").await;
    let actors = [
        &d.resident,
        &d.officer,
        &d.staff,
        &d.supervisor,
        &admin,
        &c3,
        &department,
    ];
    let mut ids = Vec::new();
    for _ in 0..4 {
        ids.push(id_of(&report(&app, &d.resident, "garbage_pile", AT).await));
    }
    let commands = [
        json!({"command": "accept"}),
        json!({"command": "void", "reason": "不是问题"}),
        json!({"command": "dispatch", "to": {"officer": d.officer_id}}),
        json!({"command": "start"}),
        resolve(),
        verify(true),
        verify(false),
        json!({"command": "defer", "reason": "等待材料", "resume_on": "2099-01-01"}),
        json!({"command": "resume"}),
        json!({"command": "evaluate", "rating": 4}),
        json!({"command": "not_fixed", "comment": "又堆上了"}),
        json!({"command": "withdraw"}),
        json!({"command": "mark_duplicate", "original_id": "no-such-case"}),
    ];
    let seed: u64 = std::env::var("PATROL_CASE_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_cafe);
    let steps: usize = std::env::var("PATROL_CASE_STEPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let mut rng = Rng(seed);
    let mut applied = 0;
    let mut live: Vec<(String, CaseStatus)> = ids
        .iter()
        .map(|id| (id.clone(), CaseStatus::Reported))
        .collect();
    for step in 0..steps {
        let slot = usize::try_from(rng.next() % live.len() as u64).unwrap();
        let (id, status) = live[slot].clone();
        // Mostly commands valid from the current status, so walks go deep; the rest are
        // anything, mostly refused.
        let valid: Vec<&Value> = commands
            .iter()
            .filter(|c| {
                serde_json::from_value::<CaseCommand>((*c).clone())
                    .unwrap()
                    .valid_from()
                    .contains(&status)
            })
            .collect();
        let cmd = if !rng.next().is_multiple_of(4) && !valid.is_empty() {
            (*rng.pick(&valid)).clone()
        } else {
            rng.pick(&commands).clone()
        };
        let token = *rng.pick(&actors);
        let before = transitions(&detail(&app, &admin, &id).await).len();
        let res = command(&app, token, &id, cmd.clone()).await;
        let after = detail(&app, &admin, &id).await;
        let added = transitions(&after).len() - before;
        assert!(
            res.status < 500,
            "seed {seed} step {step}: {cmd} answered {}: {}",
            res.status,
            res.text
        );
        if res.status >= 400 {
            assert_eq!(
                added, 0,
                "seed {seed} step {step}: a refused {cmd} wrote a transition"
            );
        } else {
            assert!(
                added <= 1,
                "seed {seed} step {step}: {cmd} wrote {added} transitions"
            );
            applied += added;
        }
        let now: CaseStatus = after["case"]["status"].as_str().unwrap().parse().unwrap();
        live[slot].1 = now;
        // A case no command leaves makes way for a new one.
        if now.is_final() || now == CaseStatus::Evaluated {
            let fresh = id_of(&report(&app, &d.officer, "garbage_pile", AT).await);
            ids.push(fresh.clone());
            live[slot] = (fresh, CaseStatus::Reported);
        }
    }
    assert!(
        applied >= steps / 10,
        "seed {seed}: only {applied} transitions applied; the walk is too short"
    );
    let mut edges = std::collections::BTreeSet::new();
    for id in &ids {
        let d = detail(&app, &admin, id).await;
        let path = transitions(&d);
        edges.extend(path.iter().cloned());
        let mut at = "reported".to_owned();
        for (from, to) in &path {
            assert_eq!(*from, at, "case {id}: history is not a path: {path:?}");
            let (f, t): (CaseStatus, CaseStatus) = (from.parse().unwrap(), to.parse().unwrap());
            assert!(is_allowed(f, t), "case {id}: illegal edge {from} → {to}");
            at = to.clone();
        }
        assert_eq!(
            d["case"]["status"],
            at.as_str(),
            "case {id}: status is the path's end"
        );
    }
    assert!(
        edges.len() >= 8,
        "seed {seed}: the walk took only {} distinct edges: {edges:?}",
        edges.len()
    );
}

// ---- verification -----------------------------------------------------------------------

async fn the_handler_cannot_verify_and_a_failed_check_counts_rework(app: TestApp) {
    let d = desk(&app).await;
    let id = in_progress(&app, &d).await;
    ok(&app, &d.officer, &id, resolve()).await;
    let res = command(&app, &d.officer, &id, verify(true)).await;
    assert_eq!(res.status, 403, "{}", res.text);
    assert_eq!(
        detail(&app, &d.staff, &id).await["case"]["status"],
        "resolved"
    );

    let back = ok(&app, &d.staff, &id, verify(false)).await;
    assert_eq!(back["case"]["status"], "dispatched");
    assert_eq!(back["case"]["rework_count"], 1);
    ok(&app, &d.officer, &id, json!({"command": "start"})).await;
    ok(&app, &d.officer, &id, resolve()).await;
    let closed = ok(&app, &d.staff, &id, verify(true)).await;
    assert_eq!(closed["case"]["status"], "closed");
    assert_eq!(closed["case"]["close_outcome"], "fixed");
    assert_eq!(
        closed["case"]["rework_count"], 1,
        "the rework stays counted"
    );
    // Points to the handling officer: -2 for the rework, +3 for closing on time, +2 for
    // the reporter's good rating.
    assert_eq!(balance(&app, &d.officer).await, 1);
    ok(
        &app,
        &d.resident,
        &id,
        json!({"command": "evaluate", "rating": 5}),
    )
    .await;
    assert_eq!(balance(&app, &d.officer).await, 3);
}

async fn balance(app: &TestApp, token: &str) -> i64 {
    let res = app.get("/api/v1/points/balances").token(token).send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
        .as_array()
        .unwrap()
        .first()
        .map_or(0, |b| b["points"].as_i64().unwrap())
}

async fn an_officer_fixing_on_the_spot_still_needs_someone_else_to_verify(app: TestApp) {
    let d = desk(&app).await;
    let mut body = report_body("garbage_pile", AT, "楼道杂物已当场清理");
    body["resolved_on_spot"] = json!(["当场清理完毕"]);
    let res = app
        .post("/api/v1/cases")
        .token(&d.officer)
        .json(body.clone())
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["case"]["status"], "resolved");
    assert_eq!(res.body["case"]["self_handled"], true);
    assert_eq!(res.body["case"]["handler_id"], d.officer_id.as_str());
    let id = id_of(&res.body);
    let own = command(&app, &d.officer, &id, verify(true)).await;
    assert_eq!(own.status, 403, "{}", own.text);
    let closed = ok(&app, &d.staff, &id, verify(true)).await;
    assert_eq!(closed["case"]["status"], "closed");
    // Only officers fix on the spot; blank evidence is refused.
    body["case_id"] = json!(uuid::Uuid::now_v7().to_string());
    let res = app
        .post("/api/v1/cases")
        .token(&d.resident)
        .json(body.clone())
        .send()
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    body["resolved_on_spot"] = json!(["  "]);
    let res = app
        .post("/api/v1/cases")
        .token(&d.officer)
        .json(body)
        .send()
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
}

// ---- deadlines --------------------------------------------------------------------------

async fn finishing_one_minute_late_is_overdue_and_deferral_pauses_the_clock(app: TestApp) {
    let d = desk(&app).await;
    // garbage_pile: 48 h to handle from dispatch.
    let late = in_progress(&app, &d).await;
    let on_time = in_progress(&app, &d).await;
    let first = detail(&app, &d.supervisor, &late).await;
    let due =
        chrono::DateTime::parse_from_rfc3339(first["case"]["handle_due_at"].as_str().unwrap())
            .unwrap();
    let dispatched =
        chrono::DateTime::parse_from_rfc3339(first["case"]["dispatched_at"].as_str().unwrap())
            .unwrap();
    assert_eq!(
        due - dispatched,
        chrono::TimeDelta::hours(48),
        "due 48 h after dispatch"
    );
    assert_eq!(first["clock"]["handle_overdue"], false);

    backdate_dispatch(&app, &late, 48 * HOUR_MS + MINUTE_MS).await;
    backdate_dispatch(&app, &on_time, 48 * HOUR_MS - MINUTE_MS).await;
    let late_done = ok(&app, &d.officer, &late, resolve()).await;
    let on_time_done = ok(&app, &d.officer, &on_time, resolve()).await;
    assert_eq!(
        late_done["clock"]["handle_overdue"], true,
        "{}",
        late_done["case"]
    );
    assert_eq!(late_done["clock"]["overdue"], true);
    assert_eq!(
        on_time_done["clock"]["handle_overdue"], false,
        "{}",
        on_time_done["case"]
    );

    // The overdue filter of the list finds the late one and not the other.
    let res = app
        .get("/api/v1/cases?overdue=true")
        .token(&d.supervisor)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let overdue: Vec<&str> = res.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case"]["id"].as_str().unwrap())
        .collect();
    assert!(overdue.contains(&late.as_str()) && !overdue.contains(&on_time.as_str()));

    // Deferred 30 minutes after dispatch for 48.5 h: the clock stops, so resolving 49 h
    // after dispatch is on time.
    let paused = in_progress(&app, &d).await;
    let deferred = ok(
        &app,
        &d.supervisor,
        &paused,
        json!({"command": "defer", "reason": "等待产权单位", "resume_on": "2099-01-01"}),
    )
    .await;
    assert_eq!(deferred["clock"]["paused"], true);
    assert!(
        deferred["case"]["handle_due_at"].is_null(),
        "no due time while stopped"
    );
    backdate_dispatch(&app, &paused, 49 * HOUR_MS).await;
    app.sql(format!(
        "UPDATE case_activities SET recorded_at = recorded_at + {} \
         WHERE case_id = '{paused}' AND to_status = 'deferred'",
        30 * MINUTE_MS
    ))
    .await;
    let resumed = ok(&app, &d.supervisor, &paused, json!({"command": "resume"})).await;
    assert_eq!(resumed["clock"]["paused"], false);
    let done = ok(&app, &d.officer, &paused, resolve()).await;
    assert_eq!(
        done["clock"]["handle_overdue"], false,
        "the deferral paused the clock: {}",
        done["case"]
    );
}

// ---- first contact ----------------------------------------------------------------------

async fn the_first_contact_owner_hands_over_formally_with_from_to_and_reason(app: TestApp) {
    let d = desk(&app).await;
    let id = in_progress(&app, &d).await;
    let supervisor_id = me(&app, &d.supervisor).await;
    let staff_id = me(&app, &d.staff).await;
    let before = detail(&app, &d.staff, &id).await;
    assert_eq!(
        before["case"]["first_contact_id"],
        supervisor_id.as_str(),
        "the first to act owns it"
    );
    let hand = |to: &str, reason: &str| json!({"to_user_id": to, "reason": reason});
    // Not the owner: refused; to a resident or without a reason: refused; nothing changes.
    let res = app
        .post(&format!("/api/v1/cases/{id}/handover"))
        .token(&d.staff)
        .json(hand(&staff_id, "接手"))
        .send()
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    let resident_id = me(&app, &d.resident).await;
    let res = app
        .post(&format!("/api/v1/cases/{id}/handover"))
        .token(&d.supervisor)
        .json(hand(&resident_id, "x"))
        .send()
        .await;
    assert_eq!(
        (res.status, res.body["field"].as_str()),
        (422, Some("to_user_id")),
        "{}",
        res.text
    );
    let elsewhere = me(&app, &app.login_as_login("officer.c3").await).await;
    let res = app
        .post(&format!("/api/v1/cases/{id}/handover"))
        .token(&d.supervisor)
        .json(hand(&elsewhere, "调岗"))
        .send()
        .await;
    assert_eq!(
        (res.status, res.body["field"].as_str()),
        (422, Some("to_user_id")),
        "{}",
        res.text
    );
    let res = app
        .post(&format!("/api/v1/cases/{id}/handover"))
        .token(&d.supervisor)
        .json(hand(&d.officer_id, " "))
        .send()
        .await;
    assert_eq!(
        (res.status, res.body["field"].as_str()),
        (422, Some("reason")),
        "{}",
        res.text
    );

    let res = app
        .post(&format!("/api/v1/cases/{id}/handover"))
        .token(&d.supervisor)
        .json(hand(&d.officer_id, "由网格内队员负责"))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["case"]["first_contact_id"], d.officer_id.as_str());
    let entry = res.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "handover")
        .unwrap()
        .clone();
    assert_eq!(entry["evidence"]["from"], supervisor_id.as_str());
    assert_eq!(entry["evidence"]["to"], d.officer_id.as_str());
    assert_eq!(entry["note"], "由网格内队员负责");
    // The new owner may hand it on.
    let res = app
        .post(&format!("/api/v1/cases/{id}/handover"))
        .token(&d.officer)
        .json(hand(&staff_id, "社区跟进"))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

// ---- escalation -------------------------------------------------------------------------

async fn an_escalation_to_three_departments_closes_only_after_all_three_and_a_verification(
    app: TestApp,
) {
    let d = desk(&app).await;
    let office = app.login_as("department").await;
    let id = in_progress(&app, &d).await;
    let res = app
        .post(&format!("/api/v1/cases/{id}/escalate"))
        .token(&d.officer)
        .json(json!({"reason": "地下管网破裂，需水电住建联合处置"}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let escalation = res.body["id"].as_str().unwrap().to_owned();
    // Once is enough.
    let again = app
        .post(&format!("/api/v1/cases/{id}/escalate"))
        .token(&d.officer)
        .json(json!({"reason": "again"}))
        .send()
        .await;
    assert_eq!(again.status, 409, "{}", again.text);
    // Resolved meanwhile, it cannot close while the office has not decided.
    ok(&app, &d.officer, &id, resolve()).await;
    let res = command(&app, &d.staff, &id, verify(true)).await;
    assert_eq!(res.status, 409, "{}", res.text);
    assert!(res.text.contains("joint-meeting office"), "{}", res.text);
    // Only the office decides.
    let logins: Vec<&str> = DEPARTMENTS.iter().map(|(l, _)| *l).collect();
    let decide = json!({"departments": logins, "instructions": "各自抢修并回复", "due_hours": 24});
    let res = app
        .post(&format!("/api/v1/escalations/{escalation}/decide"))
        .token(&d.supervisor)
        .json(decide.clone())
        .send()
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    let queue = app
        .get("/api/v1/escalations?status=pending")
        .token(&office)
        .send()
        .await;
    assert_eq!(queue.body.as_array().unwrap().len(), 1, "{}", queue.text);
    let res = app
        .post(&format!("/api/v1/escalations/{escalation}/decide"))
        .token(&office)
        .json(decide)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["tasks"].as_array().unwrap().len(), 3);
    assert_eq!(res.body["escalation"]["status"], "tasked");

    let mut departments = Vec::new();
    for (login, _) in DEPARTMENTS {
        departments.push(app.login(login, PASSWORD).await);
    }
    for (i, token) in departments.iter().enumerate() {
        let res = command(&app, &d.staff, &id, verify(true)).await;
        assert_eq!(
            res.status,
            409,
            "closing with {} open task(s): {}",
            3 - i,
            res.text
        );
        let mine = app
            .get("/api/v1/department-tasks?status=open")
            .token(token)
            .send()
            .await;
        let tasks = mine.body.as_array().unwrap();
        assert_eq!(
            tasks.len(),
            1,
            "each department sees its own task: {}",
            mine.text
        );
        let task = tasks[0]["id"].as_str().unwrap();
        // Another department cannot answer for it.
        let other = &departments[(i + 1) % departments.len()];
        let res = app
            .post(&format!("/api/v1/department-tasks/{task}/complete"))
            .token(other)
            .json(json!({"response": "不是我们的"}))
            .send()
            .await;
        assert_eq!(res.status, 404, "{}", res.text);
        let res = app
            .post(&format!("/api/v1/department-tasks/{task}/complete"))
            .token(token)
            .json(json!({"response": "已修复", "evidence": ["管道已更换"]}))
            .send()
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
        assert_eq!(res.body["status"], "done");
    }
    let closed = ok(&app, &d.staff, &id, verify(true)).await;
    assert_eq!(closed["case"]["status"], "closed");
    assert_eq!(closed["escalations"][0]["status"], "done");

    let report = app
        .get("/api/v1/reports/departments")
        .token(&d.supervisor)
        .send()
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    let rows = report.body.as_array().unwrap();
    assert_eq!(rows.len(), 3, "each department reported separately");
    for r in rows {
        assert_eq!(
            (r["assigned"].as_u64(), r["done"].as_u64()),
            (Some(1), Some(1)),
            "{r}"
        );
        assert_eq!(r["done_on_time"], 1);
    }
}

async fn an_officer_escalates_offline_through_sync(app: TestApp) {
    let d = desk(&app).await;
    let id = in_progress(&app, &d).await;
    let res = app
        .post("/api/v1/sync/push")
        .token(&d.officer)
        .json(json!({
            "client_id": "0190a5e2-0000-7000-8000-765462802180",
            "protocol_version": 1,
            "mutations": [{"id": 1, "name": "case.escalate", "args": {"case_id": id, "reason": "需要供电公司"}}],
        }))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);
    let case = detail(&app, &d.supervisor, &id).await;
    assert_eq!(case["escalations"][0]["status"], "pending");
    assert_eq!(case["escalations"][0]["reason"], "需要供电公司");
}

// ---- duplicates -------------------------------------------------------------------------

async fn duplicates_are_suggested_within_each_categorys_radius_and_merged(app: TestApp) {
    let d = desk(&app).await;
    let north = |m: f64| (AT.0 + m / METRES_PER_DEG_LAT, AT.1);
    // garbage_pile: 250 m; illegal_parking: 50 m.
    let garbage = id_of(&report(&app, &d.resident, "garbage_pile", AT).await);
    let parking = id_of(&report(&app, &d.resident, "illegal_parking", AT).await);

    let near_garbage = report(&app, &d.officer, "garbage_pile", north(200.0)).await;
    let suggested: Vec<&str> = near_garbage["possible_duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        suggested,
        [garbage.as_str()],
        "200 m is within 250 m; other categories are not offered"
    );
    let far_garbage = report(&app, &d.officer, "garbage_pile", north(300.0)).await;
    assert!(
        far_garbage["possible_duplicates"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s["case_id"] != garbage.as_str())
    );

    let parking_100 = report(&app, &d.officer, "illegal_parking", north(100.0)).await;
    assert!(
        parking_100["possible_duplicates"]
            .as_array()
            .unwrap()
            .is_empty(),
        "100 m is outside parking's 50 m"
    );
    // A resident's report gets no suggestions (they would show other people's reports).
    let resident2 = app.login(RESIDENT_PHONE_2, PASSWORD).await;
    let dup = report(&app, &resident2, "illegal_parking", north(30.0)).await;
    assert!(dup.get("possible_duplicates").is_none());
    let dup = id_of(&dup);
    let res = app
        .get(&format!("/api/v1/cases/{dup}/duplicates"))
        .token(&d.supervisor)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body[0]["case_id"], parking.as_str());
    assert!(res.body[0]["distance_m"].as_f64().unwrap() < 50.0);

    // Before the merge the second resident cannot see the first one's case.
    assert_eq!(
        app.get(&format!("/api/v1/cases/{parking}"))
            .token(&resident2)
            .send()
            .await
            .status,
        404
    );
    let merged = ok(
        &app,
        &d.supervisor,
        &dup,
        json!({"command": "mark_duplicate", "original_id": parking}),
    )
    .await;
    assert_eq!(merged["case"]["status"], "duplicate");
    assert_eq!(merged["case"]["duplicate_of"], parking.as_str());
    // The merge is on the original's history too.
    let original = detail(&app, &d.supervisor, &parking).await;
    let entry = original["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "duplicate_merged")
        .unwrap_or_else(|| panic!("no merge entry: {}", original["activities"]))
        .clone();
    assert_eq!(entry["evidence"]["duplicate_id"], dup.as_str());
    // A case is not a duplicate of itself, and the answer says so.
    let res = app
        .post(&format!("/api/v1/cases/{parking}/transitions"))
        .token(&d.supervisor)
        .json(json!({"command": "mark_duplicate", "original_id": parking}))
        .send()
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert_eq!(res.body["field"], "command.original_id");
    assert!(
        res.body["detail"].as_str().unwrap().contains("itself"),
        "{}",
        res.text
    );
    // The duplicate's reporter now follows the original, without seeing who reported it.
    let followed = detail(&app, &resident2, &parking).await;
    assert!(followed["reporter"].is_null(), "{}", followed["reporter"]);
    assert!(
        followed["activities"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["actor_role"] != "resident" || a["actor_id"].is_null()),
        "another resident's id shows: {}",
        followed["activities"]
    );
    // Following is reading: the follower cannot rewrite the original's description.
    let res = app
        .post("/api/v1/sync/push")
        .token(&resident2)
        .json(json!({
            "client_id": "0190a5e2-0000-7000-8000-086346825064",
            "protocol_version": 1,
            "mutations": [{"id": 1, "name": "case.update_fields",
                "args": {"case_id": parking, "description": {"value": "改掉", "base_rev": 1}}}],
        }))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.body["results"][0]["outcome"], "rejected",
        "{}",
        res.text
    );
    assert_ne!(
        detail(&app, &d.supervisor, &parking).await["case"]["description"],
        "改掉"
    );
    let mine = app.get("/api/v1/cases").token(&resident2).send().await;
    let ids: Vec<&str> = mine.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["case"]["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&parking.as_str())
            && ids.contains(&dup.as_str())
            && !ids.contains(&garbage.as_str())
    );
}

// ---- follow-up and rating ---------------------------------------------------------------

async fn closed_and_verified(app: &TestApp, d: &Desk) -> String {
    let id = in_progress(app, d).await;
    ok(app, &d.officer, &id, resolve()).await;
    ok(app, &d.staff, &id, verify(true)).await;
    id
}

async fn not_fixed_reopens_inside_the_window_and_files_a_linked_case_after_it(app: TestApp) {
    let d = desk(&app).await;
    let inside = closed_and_verified(&app, &d).await;
    let rating = command(
        &app,
        &d.resident,
        &inside,
        json!({"command": "evaluate", "rating": 6}),
    )
    .await;
    assert_eq!(rating.status, 422, "{}", rating.text);
    let reopened = ok(
        &app,
        &d.resident,
        &inside,
        json!({"command": "not_fixed", "comment": "又堆上了"}),
    )
    .await;
    assert_eq!(reopened["case"]["status"], "dispatched");
    assert_eq!(reopened["case"]["rework_count"], 1);
    assert!(reopened["case"]["closed_at"].is_null());

    let outside = closed_and_verified(&app, &d).await;
    // Closed eight days ago: the seven-day window has passed.
    app.sql(format!(
        "UPDATE cases SET closed_at = closed_at - {} WHERE id = '{outside}'",
        8 * 24 * HOUR_MS
    ))
    .await;
    let late_rating = command(
        &app,
        &d.resident,
        &outside,
        json!({"command": "evaluate", "rating": 5}),
    )
    .await;
    assert_eq!(late_rating.status, 409, "{}", late_rating.text);
    let res = command(
        &app,
        &d.resident,
        &outside,
        json!({"command": "not_fixed", "comment": "一周后又出现了"}),
    )
    .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["case"]["follow_up_of"], outside.as_str());
    assert_eq!(res.body["case"]["status"], "reported");
    assert_eq!(res.body["case"]["description"], "一周后又出现了");
    let old = detail(&app, &d.resident, &outside).await;
    assert_eq!(
        old["case"]["status"], "closed",
        "the old case keeps its outcome"
    );

    // Rated inside the window; the rating counts in the month's figures.
    let rated = closed_and_verified(&app, &d).await;
    let res = ok(
        &app,
        &d.resident,
        &rated,
        json!({"command": "evaluate", "rating": 4, "comment": "及时"}),
    )
    .await;
    assert_eq!(res["case"]["rating"], 4);
    let figures = app
        .get("/api/v1/reports/cases")
        .token(&d.supervisor)
        .send()
        .await;
    assert_eq!(figures.status, 200, "{}", figures.text);
    let s = &figures.body["stats"];
    assert_eq!(s["reported"], 4, "{s}");
    assert_eq!(s["closed"], 2, "{s}"); // `outside` and `rated`; `inside` was reopened
    assert_eq!(s["fixed"], 2, "{s}");
    assert_eq!(
        (s["rated"].as_u64(), s["mean_rating"].as_f64()),
        (Some(1), Some(4.0)),
        "{s}"
    );
    assert_eq!(s["rework_total"], 1, "{s}");
}

async fn outcomes_other_than_fixed_are_not_counted_as_fixed(app: TestApp) {
    let d = desk(&app).await;
    for outcome in ["not_our_responsibility", "cannot_be_fixed", "fixed"] {
        let id = in_progress(&app, &d).await;
        ok(&app, &d.officer, &id, resolve()).await;
        ok(
            &app,
            &d.staff,
            &id,
            json!({"command": "verify", "passed": true, "outcome": outcome, "note": ""}),
        )
        .await;
    }
    let figures = app
        .get("/api/v1/reports/cases")
        .token(&d.supervisor)
        .send()
        .await;
    let s = &figures.body["stats"];
    assert_eq!(
        (
            s["closed"].as_u64(),
            s["fixed"].as_u64(),
            s["not_our_responsibility"].as_u64(),
            s["cannot_be_fixed"].as_u64()
        ),
        (Some(3), Some(1), Some(1), Some(1)),
        "{s}"
    );
}

// ---- privacy ----------------------------------------------------------------------------

async fn names_and_phones_are_shown_only_to_those_who_may_see_them(app: TestApp) {
    let d = desk(&app).await;
    let mut body = report_body("garbage_pile", AT, "楼道堆物");
    body["anonymous"] = json!(true);
    let res = app
        .post("/api/v1/cases")
        .token(&d.resident)
        .json(body)
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let id = id_of(&res.body);
    // The reporter sees themself in full.
    assert_eq!(res.body["reporter"]["phone"], RESIDENT_PHONE);
    // Staff see the name even of an anonymous report, and the phone masked.
    let staff_view = detail(&app, &d.staff, &id).await;
    assert_eq!(staff_view["reporter"]["display_name"], "居民甲");
    assert_eq!(staff_view["reporter"]["anonymous"], true);
    let masked = staff_view["reporter"]["phone"].as_str().unwrap();
    assert_ne!(masked, RESIDENT_PHONE);
    assert!(
        masked.contains('*') && masked.starts_with("139"),
        "{masked}"
    );
    // Admins hold the permission to see numbers.
    let admin = app.login_as("admin").await;
    assert_eq!(
        detail(&app, &admin, &id).await["reporter"]["phone"],
        RESIDENT_PHONE
    );
    // Another resident cannot see the case at all, nor find it in their list.
    let resident2 = app.login(RESIDENT_PHONE_2, PASSWORD).await;
    assert_eq!(
        app.get(&format!("/api/v1/cases/{id}"))
            .token(&resident2)
            .send()
            .await
            .status,
        404
    );
    let theirs = app.get("/api/v1/cases").token(&resident2).send().await;
    assert!(
        theirs.body["items"].as_array().unwrap().is_empty(),
        "{}",
        theirs.text
    );
    // The case as devices replicate it carries no reporter identity.
    assert!(staff_view["case"].get("reporter_id").is_none());
    assert!(!staff_view["case"].to_string().contains(RESIDENT_PHONE));
}

// ---- quotas and bad input ---------------------------------------------------------------

async fn a_resident_is_limited_per_day_with_retry_after(app: TestApp) {
    let d = desk(&app).await;
    for _ in 0..10 {
        report(&app, &d.resident, "garbage_pile", AT).await;
    }
    let res = app
        .post("/api/v1/cases")
        .token(&d.resident)
        .json(report_body("garbage_pile", AT, "第十一条"))
        .send()
        .await;
    assert_eq!(res.status, 429, "{}", res.text);
    let retry: u64 = res.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=86_400).contains(&retry), "{retry}");
    // Staff are not limited, and the other resident has their own quota.
    report(&app, &d.officer, "garbage_pile", AT).await;
    let resident2 = app.login(RESIDENT_PHONE_2, PASSWORD).await;
    report(&app, &resident2, "garbage_pile", AT).await;
}

/// The daily quota is one, however the reports arrive: online and through sync push
/// together, and a push past it is a per-mutation rejection with the quota's reason.
async fn a_residents_daily_quota_holds_through_sync_push_too(app: TestApp) {
    let d = desk(&app).await;
    for _ in 0..8 {
        report(&app, &d.resident, "garbage_pile", AT).await;
    }
    let mutations: Vec<Value> = (1..=5)
        .map(|i| {
            json!({"id": i, "name": "case.report",
                   "args": report_body("garbage_pile", AT, &format!("同步第{i}条")),
                   "observed_at": "2026-12-04T09:00:00Z"})
        })
        .collect();
    let res = app
        .post("/api/v1/sync/push")
        .token(&d.resident)
        .json(json!({
            "client_id": uuid::Uuid::now_v7().to_string(),
            "protocol_version": 1,
            "mutations": mutations,
        }))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let outcomes: Vec<(&str, &str)> = res.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["outcome"].as_str().unwrap(),
                r["rejection"]["code"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("applied", ""),
            ("applied", ""),
            ("rejected", "limited"),
            ("rejected", "limited"),
            ("rejected", "limited"),
        ],
        "{}",
        res.text
    );
    assert!(
        res.body["results"][2]["rejection"]["message"]
            .as_str()
            .unwrap()
            .contains("daily limit")
    );
    let mine = app
        .get("/api/v1/cases?limit=50")
        .token(&d.resident)
        .send()
        .await;
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 10);
    let res = app
        .post("/api/v1/cases")
        .token(&d.resident)
        .json(report_body("garbage_pile", AT, "又一条"))
        .send()
        .await;
    assert_eq!(res.status, 429, "{}", res.text);
}

async fn case_count(app: &TestApp, admin: &str) -> usize {
    app.get("/api/v1/cases?limit=200")
        .token(admin)
        .send()
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .len()
}

async fn bad_input_gets_a_clear_4xx_and_changes_nothing(app: TestApp) {
    let d = desk(&app).await;
    let admin = app.login_as("admin").await;
    let id = id_of(&report(&app, &d.resident, "garbage_pile", AT).await);
    let before = case_count(&app, &admin).await;
    let bad = [
        (report_body("no_such_category", AT, "x"), "category_code"),
        (report_body("garbage_pile", (30.0, 100.0), "x"), "lat"),
        (
            report_body("garbage_pile", AT, &"长".repeat(2001)),
            "description",
        ),
        (report_body("garbage_pile", AT, "   "), "description"),
    ];
    for (body, field) in bad {
        let res = app
            .post("/api/v1/cases")
            .token(&d.resident)
            .json(body)
            .send()
            .await;
        assert_eq!(res.status, 422, "{field}: {}", res.text);
        assert_eq!(res.body["field"], field, "{}", res.text);
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
    }
    assert_eq!(
        case_count(&app, &admin).await,
        before,
        "nothing was written"
    );

    let history = detail(&app, &admin, &id).await["activities"]
        .as_array()
        .unwrap()
        .len();
    let res = command(&app, &d.supervisor, &id, json!({"command": "start"})).await;
    assert_eq!(res.status, 409, "{}", res.text);
    assert!(
        res.body["detail"]
            .as_str()
            .unwrap()
            .contains("current status: reported"),
        "{}",
        res.text
    );
    let res = command(&app, &d.supervisor, &id, json!({"command": "fly"})).await;
    assert_eq!(res.status, 400, "{}", res.text);
    let after = detail(&app, &admin, &id).await;
    assert_eq!(after["case"]["status"], "reported");
    assert_eq!(
        after["activities"].as_array().unwrap().len(),
        history,
        "nothing was written"
    );
}

on_both_backends!(
    random_commands_by_random_roles_only_ever_walk_the_graph,
    the_handler_cannot_verify_and_a_failed_check_counts_rework,
    an_officer_fixing_on_the_spot_still_needs_someone_else_to_verify,
    the_first_contact_owner_hands_over_formally_with_from_to_and_reason,
    finishing_one_minute_late_is_overdue_and_deferral_pauses_the_clock,
    an_escalation_to_three_departments_closes_only_after_all_three_and_a_verification,
    an_officer_escalates_offline_through_sync,
    duplicates_are_suggested_within_each_categorys_radius_and_merged,
    not_fixed_reopens_inside_the_window_and_files_a_linked_case_after_it,
    outcomes_other_than_fixed_are_not_counted_as_fixed,
    names_and_phones_are_shown_only_to_those_who_may_see_them,
    a_resident_is_limited_per_day_with_retry_after,
    a_residents_daily_quota_holds_through_sync_push_too,
    bad_input_gets_a_clear_4xx_and_changes_nothing,
);
