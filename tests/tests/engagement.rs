//! Working with the community: meetings, public events and suggestions, recorded offline
//! through sync push and online by the same commands, replayed without doubling, scoped,
//! with phone numbers masked, and the first answer to a suggestion standing.

use patrol_tests::device::Device;
use patrol_tests::fixture::OFFICER_C3;
use patrol_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

fn id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn today() -> String {
    // The fixture district counts days in Asia/Shanghai.
    chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string()
}

fn meeting(meeting_id: &str, community: &str, settled: Value) -> Value {
    json!({"meeting_id": meeting_id, "community_code": community, "kind": "deliberation",
           "held_on": today(), "attendee_count": 14, "participants": ["张三", "李四"],
           "topics": ["小区停车难", "楼道堆物"], "settled": settled})
}

async fn list(app: &TestApp, token: &str, path: &str) -> Vec<Value> {
    let res = app.get(path).token(token).send().await;
    assert_eq!(res.status, 200, "{path}: {}", res.text);
    res.body["items"].as_array().unwrap().clone()
}

fn ids(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|v| v[key].as_str().unwrap().to_owned())
        .collect()
}

async fn engagement_recorded_offline_is_applied_once_and_scoped(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let leader = app.login_as("supervisor").await;
    let admin = app.login_as("admin").await;
    let staff = app.login_as("community_staff").await;
    let other = app.login_as_login(OFFICER_C3).await;

    // In a basement: the problem settled at the meeting is reported as a case from the
    // meeting, then the meeting, an event with a photo and a suggestion, in one queue.
    let (case_id, meeting_id, event_id, suggestion_id) = (id(), id(), id(), id());
    let photo = "ab".repeat(32);
    let mut phone = Device::new(&officer);
    phone.queue(
        "case.report",
        json!({"case_id": case_id, "category_code": "garbage_pile", "description": "楼道堆物",
               "lat": 36.605, "lon": 101.805, "source": "community_meeting"}),
    );
    phone.queue(
        "meeting.record",
        meeting(
            &meeting_id,
            "C1",
            json!([{"title": "楼道堆物清理", "case_id": case_id}, {"title": "停车划线"}]),
        ),
    );
    phone.queue(
        "event.record",
        json!({"event_id": event_id, "community_code": "C1", "kind": "legal_publicity",
               "held_on": today(), "place": "社区广场", "attendance": 60, "photos": [photo]}),
    );
    phone.queue(
        "suggestion.record",
        json!({"suggestion_id": suggestion_id, "community_code": "C1", "from": "shop",
               "from_name": "王记面馆", "from_phone": "13912345678", "body": "门前增设非机动车停放点",
               "received_on": today()}),
    );
    let batch =
        json!({"client_id": phone.client_id, "protocol_version": 1, "mutations": phone.queue});
    let first = phone.push(&app).await;
    assert_eq!(first.status, 200, "{}", first.text);
    let outcomes: Vec<&str> = first.body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["applied"; 4], "{}", first.text);
    // The network lost the answer: the same batch again answers the same and adds nothing.
    for _ in 0..2 {
        let again = app
            .post("/api/v1/sync/push")
            .token(&officer)
            .json(batch.clone())
            .send()
            .await;
        assert_eq!(again.body["results"], first.body["results"]);
    }
    let meetings = list(&app, &leader, "/api/v1/meetings").await;
    assert_eq!(ids(&meetings, "meeting_id"), vec![meeting_id.as_str()]);
    assert_eq!(meetings[0]["settled"][0]["case_id"], case_id.as_str());
    assert_eq!(meetings[0]["settled"][1]["title"], "停车划线");
    assert_eq!(meetings[0]["version"], 1);
    let events = list(&app, &leader, "/api/v1/events").await;
    assert_eq!(ids(&events, "event_id"), vec![event_id.as_str()]);
    assert_eq!(events[0]["photos"], json!([photo]));

    // Suggestions: the number is masked for the supervisor, whole for the admin.
    let s = list(&app, &leader, "/api/v1/suggestions").await;
    assert_eq!(s[0]["from_phone"], "139****5678");
    let s = list(&app, &admin, "/api/v1/suggestions").await;
    assert_eq!(s[0]["from_phone"], "13912345678");
    assert_eq!(
        list(&app, &leader, "/api/v1/suggestions?answered=false")
            .await
            .len(),
        1
    );

    // Another community's officer sees none of it, and cannot record for C1.
    for path in ["/api/v1/meetings", "/api/v1/events", "/api/v1/suggestions"] {
        assert!(list(&app, &other, path).await.is_empty(), "{path}");
    }
    let res = app
        .post("/api/v1/meetings")
        .token(&other)
        .json(meeting(&id(), "C1", json!([])))
        .send()
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    // Residents do not read them.
    let resident = app.login_as("resident").await;
    assert_eq!(
        app.get("/api/v1/meetings")
            .token(&resident)
            .send()
            .await
            .status,
        403
    );

    // Staff of the community answer online; the same answer again changes nothing, another
    // is refused; the officer's phone pulls all three records with the number masked.
    let answer = |token: String, text: &'static str| {
        let app = &app;
        let path = format!("/api/v1/suggestions/{suggestion_id}/answer");
        async move {
            app.post(&path)
                .token(&token)
                .json(json!({ "answer": text }))
                .send()
                .await
        }
    };
    let res = answer(staff.clone(), "已与城管中队协调，本周划线").await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.body["answered_at"].is_string());
    let answered_at = res.body["answered_at"].clone();
    let res = answer(staff.clone(), "已与城管中队协调，本周划线").await;
    assert_eq!((res.status, &res.body["answered_at"]), (200, &answered_at));
    let res = answer(leader.clone(), "另一个答复").await;
    assert_eq!(res.status, 409, "{}", res.text);
    let res = answer(other.clone(), "越权答复").await;
    assert_eq!(res.status, 404, "out of scope reads as absent");
    assert!(
        list(&app, &leader, "/api/v1/suggestions?answered=false")
            .await
            .is_empty()
    );
    phone.pull_all(&app).await;
    assert!(phone.get("meeting", &meeting_id).is_some());
    assert_eq!(
        phone.get("public_event", &event_id).unwrap()["place"],
        "社区广场"
    );
    let mine = phone.get("suggestion", &suggestion_id).unwrap();
    assert_eq!(mine["from_phone"], "139****5678");
    assert_eq!(mine["answer"], "已与城管中队协调，本周划线");

    // The month's indicators count each record once, with numerator and denominator.
    let month = &today()[..7];
    let res = app
        .get(&format!(
            "/api/v1/indicators/engagement?period={month}&group=community"
        ))
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let rows = res.body["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{}", res.text);
    assert_eq!(rows[0]["key"], "C1");
    let figure = |code: &str| {
        rows[0]["figures"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["code"] == code)
            .unwrap()
            .clone()
    };
    assert_eq!(figure("meetings_held")["value"], 1.0);
    assert_eq!(figure("problems_settled_at_meetings")["value"], 2.0);
    assert_eq!(figure("events_held")["value"], 1.0);
    assert_eq!(figure("event_attendance")["value"], 60.0);
    assert_eq!(figure("suggestions_received")["value"], 1.0);
    let rate = figure("suggestions_answer_rate");
    assert_eq!(
        (&rate["numerator"], &rate["denominator"], &rate["value"]),
        (&json!(1), &json!(1), &json!(1.0))
    );
    // The meeting's case is still open: not yet solved.
    assert_eq!(figure("solved_before_complaint")["numerator"], 0);
    let defined = res.body["definitions"].as_array().unwrap();
    assert!(
        defined
            .iter()
            .any(|d| d["code"] == "solved_before_complaint" && d["name_zh"] == "未诉先办")
    );
    // Officers read their records, not the bureau's tables.
    let res = app
        .get(&format!("/api/v1/indicators/engagement?period={month}"))
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.status, 403);
    let res = app
        .get("/api/v1/indicators/engagement?period=2026-13")
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
}

async fn the_same_rules_hold_online_and_through_sync(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let admin = app.login_as("admin").await;
    // A settled problem must link the case reported from the meeting, not any case.
    let patrol_case = id();
    let res = app
        .post("/api/v1/cases")
        .token(&officer)
        .json(json!({"case_id": patrol_case, "category_code": "garbage_pile", "description": "巡查发现",
                     "lat": 36.605, "lon": 101.805}))
        .send()
        .await;
    assert!(res.status == 200 || res.status == 201, "{}", res.text);
    let bad = meeting(&id(), "C1", json!([{"title": "x", "case_id": patrol_case}]));
    let res = app
        .post("/api/v1/meetings")
        .token(&officer)
        .json(bad.clone())
        .send()
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert!(res.text.contains("settled[0].case_id"), "{}", res.text);
    let mut phone = Device::new(&officer);
    phone.queue("meeting.record", bad);
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "rejected");
    assert_eq!(
        res.body["results"][0]["rejection"]["field"],
        "settled[0].case_id"
    );
    // More named participants than attendees, a future day: refused on both paths.
    let mut crowded = meeting(&id(), "C1", json!([]));
    crowded["attendee_count"] = json!(1);
    let res = app
        .post("/api/v1/meetings")
        .token(&officer)
        .json(crowded.clone())
        .send()
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    phone.queue("meeting.record", crowded);
    let res = phone.push(&app).await;
    assert_eq!(
        res.body["results"][0]["rejection"]["field"],
        "attendee_count"
    );

    // The author edits a meeting by sending its id again (a new version); the same content
    // again changes nothing; someone else reusing the id is refused.
    let mid = id();
    let res = app
        .post("/api/v1/meetings")
        .token(&officer)
        .json(meeting(&mid, "C1", json!([])))
        .send()
        .await;
    assert_eq!((res.status, &res.body["version"]), (200, &json!(1)));
    let mut edited = meeting(&mid, "C1", json!([{"title": "停车划线"}]));
    edited["attendee_count"] = json!(20);
    phone.queue("meeting.record", edited.clone());
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied");
    let res = app
        .post("/api/v1/meetings")
        .token(&officer)
        .json(edited)
        .send()
        .await;
    assert_eq!(res.body["version"], 2, "the same content is no new version");
    assert_eq!(res.body["attendee_count"], 20);
    let res = app
        .post("/api/v1/meetings")
        .token(&admin)
        .json(meeting(&mid, "C1", json!([])))
        .send()
        .await;
    assert_eq!(res.status, 409, "{}", res.text);
}

on_both_backends!(
    engagement_recorded_offline_is_applied_once_and_scoped,
    the_same_rules_hold_online_and_through_sync,
);
