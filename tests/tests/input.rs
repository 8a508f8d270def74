//! Bad input gets an answer a person can act on (issue 15, item 8): a body cut short names
//! no field, and control characters in free text are refused where they are, online and
//! through sync push alike (one mutation's refusal, not the batch's).

use patrol_tests::device::Device;
use patrol_tests::{TestApp, on_both_backends};
use serde_json::json;

fn report(case_id: &str, description: &str) -> serde_json::Value {
    json!({"case_id": case_id, "category_code": "garbage_pile", "description": description, "lat": 36.605, "lon": 101.805})
}

async fn a_body_cut_short_names_no_field(app: TestApp) {
    app.seed_fixture().await;
    let resident = app.login_as("resident").await;
    let whole = report(&uuid::Uuid::now_v7().to_string(), "楼道口堆放垃圾").to_string();
    let cut = &whole[..whole.len() - 12];
    let res = app
        .post("/api/v1/cases")
        .token(&resident)
        .raw("application/json", cut.as_bytes().to_vec())
        .send()
        .await;
    assert_eq!(res.status, 400, "{}", res.text);
    assert_eq!(res.header("content-type"), Some("application/problem+json"));
    assert!(
        res.body.get("field").is_none_or(|f| f.is_null()),
        "{}",
        res.text
    );
    assert!(
        res.body["detail"]
            .as_str()
            .unwrap()
            .contains("ends too soon"),
        "{}",
        res.text
    );
}

on_both_backends!(a_body_cut_short_names_no_field);

async fn control_characters_in_free_text_are_refused_on_both_paths(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    for bad in ["垃圾\u{0}堆放", "\u{1b}[31m红字", "退格\u{8}"] {
        let res = app
            .post("/api/v1/cases")
            .token(&officer)
            .json(report(&uuid::Uuid::now_v7().to_string(), bad))
            .send()
            .await;
        assert_eq!(res.status, 422, "{bad:?}: {}", res.text);
        assert_eq!(res.body["field"], "description", "{}", res.text);
    }
    let res = app
        .post("/api/v1/diary")
        .token(&officer)
        .json(json!({"entry_id": uuid::Uuid::now_v7().to_string(), "entry_date": chrono::Utc::now().date_naive().to_string(), "shift": "day", "body": "a\u{0}b"}))
        .send()
        .await;
    assert_eq!(
        (res.status, res.body["field"].as_str()),
        (422, Some("body")),
        "{}",
        res.text
    );
    // Line breaks and tabs are text.
    let fine = uuid::Uuid::now_v7().to_string();
    let res = app
        .post("/api/v1/cases")
        .token(&officer)
        .json(report(&fine, "第一行\n第二行\t缩进"))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);

    // Through sync: the bad mutation alone is refused, naming the field; the next applies.
    let mut phone = Device::new(&officer);
    let bad = uuid::Uuid::now_v7().to_string();
    let good = uuid::Uuid::now_v7().to_string();
    phone.queue("case.report", report(&bad, "垃圾\u{0}堆放"));
    phone.queue("case.report", report(&good, "垃圾堆放"));
    let res = phone.push(&app).await;
    assert_eq!(res.status, 200, "{}", res.text);
    let results = res.body["results"].as_array().unwrap();
    assert_eq!(results[0]["outcome"], "rejected", "{}", res.text);
    assert_eq!(
        results[0]["rejection"]["field"], "description",
        "{}",
        res.text
    );
    assert_eq!(results[1]["outcome"], "applied", "{}", res.text);
    let stored = app
        .get(&format!("/api/v1/cases/{bad}"))
        .token(&officer)
        .send()
        .await;
    assert_eq!(
        stored.status, 404,
        "nothing was written for it: {}",
        stored.text
    );
}

on_both_backends!(control_characters_in_free_text_are_refused_on_both_paths);
