//! Community whistles (社区吹哨、部门报到): the lead's sign-off, the take deadline and late
//! takes, the overdue flag, ratings, withdrawal, the monthly figures, offline raises
//! reaching officers' pulls, and bad input refused without a trace.

use chrono::{DateTime, Duration, Utc};
use patrol_tests::device::Device;
use patrol_tests::fixture::{self, PASSWORD};
use patrol_tests::{Res, TestApp, on_both_backends};
use serde_json::{Value, json};

/// The fixture plus a community lead for C1 and C1's whistle settings.
struct World {
    admin: String,
    /// staff.c1: raises whistles, is not the lead.
    staff: String,
    lead: String,
    lead_id: String,
    officer: String,
}

async fn id_of(app: &TestApp, token: &str) -> String {
    app.get("/api/v1/me").token(token).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn world(app: &TestApp, sign_off_required: bool, take_minutes: i64) -> World {
    app.seed_fixture().await;
    let admin = app.login_as("admin").await;
    let res = app
        .post("/api/v1/users")
        .token(&admin)
        .json(json!({"login": "lead.c1", "role": "community_staff", "display_name": "社区书记", "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let lead_id = res.body["id"].as_str().unwrap().to_owned();
    let res = app
        .post("/api/v1/assignments")
        .token(&admin)
        .json(json!({"user_id": lead_id, "target_code": "C1"}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let res = settings(app, &admin, "C1", json!({"lead_user_id": lead_id, "sign_off_required": sign_off_required, "take_minutes": take_minutes})).await;
    assert_eq!(res.status, 200, "{}", res.text);
    World {
        staff: app.login_as("community_staff").await,
        lead: app.login_as_login("lead.c1").await,
        officer: app.login_as("officer").await,
        admin,
        lead_id,
    }
}

async fn settings(app: &TestApp, token: &str, code: &str, body: Value) -> Res {
    app.put(&format!("/api/v1/communities/{code}/whistle-settings"))
        .token(token)
        .json(body)
        .send()
        .await
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

async fn raise(app: &TestApp, token: &str, title: &str) -> Value {
    let res = app
        .post("/api/v1/whistles")
        .token(token)
        .json(json!({"whistle_id": new_id(), "community_code": "C1", "title": title, "description": "请城管协助"}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body
}

async fn act(app: &TestApp, token: &str, id: &str, verb: &str, body: Option<Value>) -> Res {
    let mut req = app
        .post(&format!("/api/v1/whistles/{id}/{verb}"))
        .token(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    req.send().await
}

async fn get(app: &TestApp, token: &str, id: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/whistles/{id}"))
        .token(token)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

/// Moves a whistle's clock back: raised `minutes_ago`, due `due_minutes_ago`.
async fn backdate(app: &TestApp, id: &str, minutes_ago: i64, due_minutes_ago: i64) {
    let now = patrol_api::db::ids::now_ms();
    app.sql(format!(
        "UPDATE whistles SET raised_at = {}, take_due_at = {} WHERE id = '{id}'",
        now - minutes_ago * 60_000,
        now - due_minutes_ago * 60_000
    ))
    .await;
}

async fn a_whistle_waits_for_the_leads_sign_off_then_goes_out(app: TestApp) {
    let w = world(&app, true, 30).await;
    let pending = raise(&app, &w.staff, "楼道杂物堵塞").await;
    let id = pending["id"].as_str().unwrap();
    assert_eq!(pending["status"], "pending_sign_off");
    assert_eq!(pending["raised_at"], Value::Null);
    assert_eq!(pending["take_due_at"], Value::Null);
    assert_eq!(pending["overdue"], false);
    // Not out yet: city management cannot take it.
    assert_eq!(
        act(&app, &w.officer, id, "take", Some(json!({})))
            .await
            .status,
        409
    );
    // Only the lead signs off: not the raiser, not an officer, not a supervisor.
    let leader = app.login_as("supervisor").await;
    for token in [&w.staff, &w.officer, &leader] {
        let res = act(&app, token, id, "sign-off", Some(json!({"approve": true}))).await;
        assert_eq!(res.status, 403, "{}", res.text);
    }
    let res = act(
        &app,
        &w.lead,
        id,
        "sign-off",
        Some(json!({"approve": true})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "raised");
    assert_eq!(res.body["signed_off_by"], w.lead_id.as_str());
    let raised_at = time(&res.body["raised_at"]);
    assert_eq!(
        time(&res.body["take_due_at"]) - raised_at,
        Duration::minutes(30)
    );
    // A second sign-off conflicts and names the current status.
    let res = act(
        &app,
        &w.lead,
        id,
        "sign-off",
        Some(json!({"approve": true})),
    )
    .await;
    assert_eq!(res.status, 409);
    assert!(
        res.body["detail"].as_str().unwrap().contains("raised"),
        "{}",
        res.text
    );

    // Decline: a reason is required; a declined whistle goes nowhere.
    let other = raise(&app, &w.staff, "噪音扰民").await;
    let oid = other["id"].as_str().unwrap();
    let res = act(
        &app,
        &w.lead,
        oid,
        "sign-off",
        Some(json!({"approve": false})),
    )
    .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.body["field"], "reason");
    let res = act(
        &app,
        &w.lead,
        oid,
        "sign-off",
        Some(json!({"approve": false, "reason": "由社区自行协调"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "declined");
    assert_eq!(res.body["decline_reason"], "由社区自行协调");
    assert_eq!(res.body["raised_at"], Value::Null);
    assert_eq!(
        act(&app, &w.officer, oid, "take", Some(json!({})))
            .await
            .status,
        409
    );

    // The lead's own whistle needs no second signature.
    let own = raise(&app, &w.lead, "飞线充电").await;
    assert_eq!(own["status"], "raised");
    assert_eq!(own["signed_off_by"], w.lead_id.as_str());
    assert!(own["take_due_at"].is_string());
}

async fn with_sign_off_off_a_whistle_goes_straight_out(app: TestApp) {
    let w = world(&app, false, 45).await;
    let v = raise(&app, &w.staff, "占道经营").await;
    assert_eq!(v["status"], "raised");
    assert_eq!(v["signed_off_by"], Value::Null);
    assert_eq!(
        time(&v["take_due_at"]) - time(&v["raised_at"]),
        Duration::minutes(45)
    );
    let res = act(
        &app,
        &w.lead,
        v["id"].as_str().unwrap(),
        "sign-off",
        Some(json!({"approve": true})),
    )
    .await;
    assert_eq!(res.status, 409, "nothing to sign off: {}", res.text);
}

async fn a_take_after_the_deadline_is_late_and_an_untaken_one_is_overdue(app: TestApp) {
    let w = world(&app, false, 30).await;
    let quick = raise(&app, &w.staff, "垃圾堆放").await;
    let slow = raise(&app, &w.staff, "建筑垃圾乱堆放").await;
    let (qid, sid) = (quick["id"].as_str().unwrap(), slow["id"].as_str().unwrap());

    let res = act(
        &app,
        &w.officer,
        qid,
        "take",
        Some(json!({"note": "十分钟到"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "taken");
    assert_eq!(res.body["taken_late"], false);
    assert_eq!(res.body["response_note"], "十分钟到");
    assert!(res.body["taken_at"].is_string());

    // The slow one went out two hours ago and was due 90 minutes ago.
    backdate(&app, sid, 120, 90).await;
    let v = get(&app, &w.staff, sid).await;
    assert_eq!(
        (v["overdue"].as_bool(), v["taken_late"].clone()),
        (Some(true), Value::Null)
    );
    let list = app
        .get("/api/v1/whistles?status=raised")
        .token(&w.officer)
        .send()
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["id"], sid);
    assert_eq!(items[0]["overdue"], true);
    assert!(items[0]["take_due_at"].is_string());

    // Out of scope (another community's officer) or the wrong role: refused.
    let c3 = app.login_as_login(fixture::OFFICER_C3).await;
    assert_eq!(
        act(&app, &c3, sid, "take", Some(json!({}))).await.status,
        403
    );
    let party = app.login_as("party_member").await;
    assert_eq!(
        act(&app, &party, sid, "take", Some(json!({}))).await.status,
        403
    );
    let res = act(&app, &w.officer, sid, "take", Some(json!({}))).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["taken_late"], true);
    assert_eq!(res.body["overdue"], false);
    // Points for the on-time take only (whistle_answered_on_time, 3 points).
    let res = app
        .get("/api/v1/points/balances")
        .token(&w.officer)
        .send()
        .await;
    assert_eq!(res.body[0]["points"], 3, "{}", res.text);
    // Taken once.
    let res = act(&app, &w.officer, sid, "take", Some(json!({}))).await;
    assert_eq!(res.status, 409);
    assert!(res.body["detail"].as_str().unwrap().contains("taken"));
    // A whistle that is overdue by status is none once taken: the list says so too.
    let list = app
        .get("/api/v1/whistles?community=C1")
        .token(&w.admin)
        .send()
        .await;
    assert!(
        list.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["overdue"] == false)
    );
}

async fn the_community_rates_a_taken_whistle_once_from_one_to_five(app: TestApp) {
    let w = world(&app, false, 30).await;
    let v = raise(&app, &w.staff, "公共设施损坏").await;
    let id = v["id"].as_str().unwrap();
    let res = act(&app, &w.staff, id, "rate", Some(json!({"rating": 5}))).await;
    assert_eq!(res.status, 409, "not taken yet: {}", res.text);
    assert!(res.body["detail"].as_str().unwrap().contains("raised"));
    assert_eq!(
        act(&app, &w.officer, id, "take", Some(json!({})))
            .await
            .status,
        200
    );
    // City management does not rate itself.
    assert_eq!(
        act(&app, &w.officer, id, "rate", Some(json!({"rating": 5})))
            .await
            .status,
        403
    );
    for bad in [6, 0, -3] {
        let res = act(&app, &w.staff, id, "rate", Some(json!({"rating": bad}))).await;
        assert_eq!(res.status, 422, "{bad}: {}", res.text);
        assert_eq!(res.body["field"], "rating");
    }
    let res = act(
        &app,
        &w.staff,
        id,
        "rate",
        Some(json!({"rating": 4, "comment": "响应及时"})),
    )
    .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "rated");
    assert_eq!(res.body["rating"], 4);
    assert_eq!(res.body["rating_comment"], "响应及时");
    // Once.
    let res = act(&app, &w.lead, id, "rate", Some(json!({"rating": 1}))).await;
    assert_eq!(res.status, 409);
    assert_eq!(get(&app, &w.staff, id).await["rating"], 4);
    // The lead may rate a whistle someone else raised.
    let other = raise(&app, &w.staff, "非机动车乱停").await;
    let oid = other["id"].as_str().unwrap();
    act(&app, &w.officer, oid, "take", Some(json!({}))).await;
    let res = act(&app, &w.lead, oid, "rate", Some(json!({"rating": 2}))).await;
    assert_eq!(res.status, 200, "{}", res.text);
}

async fn the_raiser_withdraws_before_the_take(app: TestApp) {
    let w = world(&app, true, 30).await;
    let v = raise(&app, &w.staff, "高空线缆隐患").await;
    let id = v["id"].as_str().unwrap();
    assert_eq!(act(&app, &w.lead, id, "withdraw", None).await.status, 403);
    let res = act(&app, &w.staff, id, "withdraw", None).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["status"], "withdrawn");
    let res = act(
        &app,
        &w.lead,
        id,
        "sign-off",
        Some(json!({"approve": true})),
    )
    .await;
    assert_eq!(res.status, 409);
    assert!(res.body["detail"].as_str().unwrap().contains("withdrawn"));
    // After the take it is too late to withdraw.
    let other = raise(&app, &w.lead, "餐饮油烟").await;
    let oid = other["id"].as_str().unwrap();
    act(&app, &w.officer, oid, "take", Some(json!({}))).await;
    assert_eq!(act(&app, &w.lead, oid, "withdraw", None).await.status, 409);
}

async fn the_report_gives_response_on_time_and_rating_figures(app: TestApp) {
    let w = world(&app, false, 30).await;
    let mut ids = Vec::new();
    for title in ["一", "二", "三", "四", "五", "六"] {
        ids.push(
            raise(&app, &w.staff, title).await["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // 1: taken on time, rated 5. 2: taken late, rated 2. 3: taken on time, unrated.
    // 4: untaken. 5: withdrawn (not counted). 6: raised forty days ago (another month).
    act(&app, &w.officer, &ids[0], "take", Some(json!({}))).await;
    act(&app, &w.staff, &ids[0], "rate", Some(json!({"rating": 5}))).await;
    let now = patrol_api::db::ids::now_ms();
    app.sql(format!(
        "UPDATE whistles SET take_due_at = {} WHERE id = '{}'",
        now - 60_000,
        ids[1]
    ))
    .await;
    let res = act(&app, &w.officer, &ids[1], "take", Some(json!({}))).await;
    assert_eq!(res.body["taken_late"], true);
    act(&app, &w.staff, &ids[1], "rate", Some(json!({"rating": 2}))).await;
    act(&app, &w.officer, &ids[2], "take", Some(json!({}))).await;
    act(&app, &w.staff, &ids[4], "withdraw", None).await;
    backdate(&app, &ids[5], 40 * 24 * 60, 40 * 24 * 60 - 30).await;

    let first = get(&app, &w.staff, &ids[0]).await;
    let tz: chrono_tz::Tz = "Asia/Shanghai".parse().unwrap();
    let month = time(&first["raised_at"])
        .with_timezone(&tz)
        .format("%Y-%m")
        .to_string();
    let leader = app.login_as("supervisor").await;
    let res = app
        .get(&format!("/api/v1/reports/whistles?month={month}"))
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let r = res.body;
    assert_eq!(r["month"], month.as_str());
    let codes: Vec<&str> = r["communities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["community_code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["C1", "C2"], "the supervisor's street only");
    let c1 = &r["communities"][0];
    let figures = |v: &Value| {
        (
            v["raised"].as_i64(),
            v["taken"].as_i64(),
            v["taken_on_time"].as_i64(),
            v["rated"].as_i64(),
            v["response_rate"].as_f64(),
            v["on_time_rate"].as_f64(),
            v["average_rating"].as_f64(),
        )
    };
    let want = (
        Some(4),
        Some(3),
        Some(2),
        Some(2),
        Some(0.75),
        Some(0.5),
        Some(3.5),
    );
    assert_eq!(figures(c1), want);
    assert_eq!(figures(&r["total"]), want);
    let c2 = &r["communities"][1];
    assert_eq!(c2["raised"], 0);
    assert_eq!(
        (c2["response_rate"].clone(), c2["average_rating"].clone()),
        (Value::Null, Value::Null)
    );

    // One community, for the admin; out of a supervisor's streets is refused.
    let res = app
        .get(&format!(
            "/api/v1/reports/whistles?month={month}&community=C1"
        ))
        .token(&w.admin)
        .send()
        .await;
    assert_eq!(res.body["communities"].as_array().unwrap().len(), 1);
    assert_eq!(figures(&res.body["total"]), want);
    let res = app
        .get("/api/v1/reports/whistles?community=C3")
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 403);
    let res = app
        .get("/api/v1/reports/whistles?month=2026-13")
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.body["field"], "month");
}

async fn a_whistle_raised_offline_reaches_an_officers_pull(app: TestApp) {
    let w = world(&app, false, 30).await;
    let case_id = new_id();
    let res = app
        .post("/api/v1/cases")
        .token(&w.officer)
        .json(json!({"case_id": case_id, "category_code": "garbage_pile", "description": "垃圾", "lat": 36.605, "lon": 101.802}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);

    let id = new_id();
    let mut staff_phone = Device::new(&w.staff);
    staff_phone.queue(
        "whistle.raise",
        json!({"whistle_id": id, "community_code": "C1", "title": "地下室堆物", "case_ids": [case_id]}),
    );
    let res = staff_phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);

    let mut officer_phone = Device::new(&w.officer);
    officer_phone.pull_all(&app).await;
    let seen = officer_phone
        .get("whistle", &id)
        .expect("the officer's pull has it");
    assert_eq!(seen["status"], "raised");
    assert_eq!(seen["community_code"], "C1");
    assert_eq!(seen["case_ids"], json!([case_id]));
    assert!(seen["take_due_at"].is_string());
    assert!(seen["observed_at"].is_string());
    // Another community's officer does not get it.
    let mut c3_phone = Device::new(&app.login_as_login(fixture::OFFICER_C3).await);
    c3_phone.pull_all(&app).await;
    assert!(c3_phone.get("whistle", &id).is_none());

    // Taken offline too; the raiser's pull shows it, and a second take is a rejection
    // that carries the current state.
    officer_phone.queue("whistle.take", json!({"whistle_id": id, "note": "已到场"}));
    let res = officer_phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied", "{}", res.text);
    staff_phone.pull_all(&app).await;
    assert_eq!(staff_phone.get("whistle", &id).unwrap()["status"], "taken");
    officer_phone.queue("whistle.take", json!({"whistle_id": id}));
    let res = officer_phone.push(&app).await;
    let r = &res.body["results"][0];
    assert_eq!(r["outcome"], "rejected", "{}", res.text);
    assert_eq!(r["rejection"]["code"], "conflict");
    assert_eq!(r["rejection"]["current"]["status"], "taken");
    assert_eq!(r["conflict"]["entity"], "whistle");
    // A bad rating is rejected with its field; the queue moves on.
    staff_phone.queue("whistle.rate", json!({"whistle_id": id, "rating": 9}));
    let res = staff_phone.push(&app).await;
    assert_eq!(res.body["results"][0]["rejection"]["field"], "rating");
}

async fn bad_input_is_refused_and_nothing_is_written(app: TestApp) {
    let w = world(&app, false, 30).await;
    let c3_officer = app.login_as_login(fixture::OFFICER_C3).await;
    let c3_case = new_id();
    let res = app
        .post("/api/v1/cases")
        .token(&c3_officer)
        .json(json!({"case_id": c3_case, "category_code": "garbage_pile", "description": "垃圾", "lat": 36.605, "lon": 101.825}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let body = |community: &str, title: &str, cases: Value| json!({"whistle_id": new_id(), "community_code": community, "title": title, "case_ids": cases});
    let cases = [
        (body("C9", "x", json!([])), 422, Some("community_code")),
        (body("C1", "x", json!([c3_case])), 422, Some("case_ids[0]")),
        (
            body("C1", "x", json!(["no-such-case"])),
            422,
            Some("case_ids[0]"),
        ),
        (body("C1", "   ", json!([])), 422, Some("title")),
        (body("C3", "x", json!([])), 403, None),
        (
            json!({"whistle_id": "not-a-uuid", "community_code": "C1", "title": "x"}),
            422,
            Some("whistle_id"),
        ),
        (
            json!({"whistle_id": new_id(), "community_code": "C1"}),
            400,
            Some("title"),
        ),
        (
            json!({"whistle_id": new_id(), "community_code": "C1", "title": "x", "status": "taken"}),
            400,
            None,
        ),
    ];
    for (b, status, field) in cases {
        let res = app
            .post("/api/v1/whistles")
            .token(&w.staff)
            .json(b.clone())
            .send()
            .await;
        assert_eq!(res.status, status, "{b}: {}", res.text);
        if let Some(f) = field {
            assert_eq!(res.body["field"], f, "{b}");
        }
    }
    // An officer cannot raise one.
    let res = app
        .post("/api/v1/whistles")
        .token(&w.officer)
        .json(body("C1", "x", json!([])))
        .send()
        .await;
    assert_eq!(res.status, 403);
    let list = app.get("/api/v1/whistles").token(&w.admin).send().await;
    assert_eq!(list.body["items"], json!([]), "nothing was written");
    // Bad filters and settings.
    for q in ["status=open", "community=C9"] {
        let res = app
            .get(&format!("/api/v1/whistles?{q}"))
            .token(&w.staff)
            .send()
            .await;
        assert_eq!(res.status, 400, "{q}");
    }
    let officer_id = id_of(&app, &w.officer).await;
    let res = settings(
        &app,
        &w.admin,
        "C1",
        json!({"lead_user_id": officer_id, "sign_off_required": true, "take_minutes": 30}),
    )
    .await;
    assert_eq!(
        (res.status, res.body["field"].as_str()),
        (422, Some("lead_user_id"))
    );
    let res = settings(
        &app,
        &w.admin,
        "C1",
        json!({"lead_user_id": null, "sign_off_required": true, "take_minutes": 0}),
    )
    .await;
    assert_eq!(
        (res.status, res.body["field"].as_str()),
        (422, Some("take_minutes"))
    );
    let res = settings(
        &app,
        &w.admin,
        "C9",
        json!({"sign_off_required": true, "take_minutes": 30}),
    )
    .await;
    assert_eq!(res.status, 404);
    // The staff of another community is not C1's lead.
    let res = settings(
        &app,
        &w.admin,
        "C3",
        json!({"lead_user_id": w.lead_id, "sign_off_required": true, "take_minutes": 30}),
    )
    .await;
    assert_eq!(res.status, 422);
    // Unknown whistle: 404.
    assert_eq!(
        act(&app, &w.officer, &new_id(), "take", Some(json!({})))
            .await
            .status,
        404
    );
}

on_both_backends!(
    a_whistle_waits_for_the_leads_sign_off_then_goes_out,
    with_sign_off_off_a_whistle_goes_straight_out,
    a_take_after_the_deadline_is_late_and_an_untaken_one_is_overdue,
    the_community_rates_a_taken_whistle_once_from_one_to_five,
    the_raiser_withdraws_before_the_take,
    the_report_gives_response_on_time_and_rating_figures,
    a_whistle_raised_offline_reaches_an_officers_pull,
    bad_input_is_refused_and_nothing_is_written,
);
