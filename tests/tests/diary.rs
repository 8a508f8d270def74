//! The duty diary: edits in place before sign-off, a new version after it, the whole
//! history visible to supervisors, and the same command offline through sync.

use patrol_tests::device::Device;
use patrol_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

fn entry(id: &str, body: &str) -> Value {
    json!({"entry_id": id, "entry_date": chrono::Utc::now().date_naive().to_string(), "shift": "day", "body": body})
}

async fn history(app: &TestApp, token: &str, id: &str) -> Value {
    let res = app
        .get(&format!("/api/v1/diary/{id}"))
        .token(token)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body
}

async fn a_diary_entry_is_edited_in_place_until_sign_off_then_versioned(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let leader = app.login_as("supervisor").await;
    let id = uuid::Uuid::now_v7().to_string();
    let res = app
        .post("/api/v1/diary")
        .token(&officer)
        .json(entry(&id, "上午巡查东关大街"))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["version"], 1);
    // Before sign-off: in place.
    let res = app
        .post("/api/v1/diary")
        .token(&officer)
        .json(entry(&id, "上午巡查东关大街，清理楼道杂物两处"))
        .send()
        .await;
    assert_eq!(res.body["version"], 1);
    assert_eq!(
        history(&app, &leader, &id).await["versions"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // The officer cannot sign off their own; the supervisor can, and comments.
    assert_eq!(
        app.post(&format!("/api/v1/diary/{id}/sign-off"))
            .token(&officer)
            .send()
            .await
            .status,
        403
    );
    let res = app
        .post(&format!("/api/v1/diary/{id}/sign-off"))
        .token(&leader)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert!(res.body["signed_off_at"].is_string());
    let res = app
        .post(&format!("/api/v1/diary/{id}/comments"))
        .token(&leader)
        .json(json!({"text": "记录清楚"}))
        .send()
        .await;
    assert_eq!(res.status, 201);
    // After sign-off: a new version; the signed one stays.
    let res = app
        .post("/api/v1/diary")
        .token(&officer)
        .json(entry(&id, "补充：下午处理飞线充电一起"))
        .send()
        .await;
    assert_eq!(res.body["version"], 2);
    assert_eq!(res.body["signed_off_by"], Value::Null);
    let h = history(&app, &leader, &id).await;
    let versions = h["versions"].as_array().unwrap();
    assert_eq!(versions.len(), 2);
    assert_eq!(versions[0]["body"], "上午巡查东关大街，清理楼道杂物两处");
    assert!(versions[0]["signed_off_by"].is_string());
    assert_eq!(
        (
            versions[0]["current"].as_bool(),
            versions[1]["current"].as_bool()
        ),
        (Some(false), Some(true))
    );
    assert_eq!(h["comments"][0]["text"], "记录清楚");
    // Someone else's diary is not there for them.
    let other = app.login_as_login(patrol_tests::fixture::OFFICER_C3).await;
    assert_eq!(
        app.get(&format!("/api/v1/diary/{id}"))
            .token(&other)
            .send()
            .await
            .status,
        404
    );
    let res = app
        .post("/api/v1/diary")
        .token(&other)
        .json(entry(&id, "覆盖"))
        .send()
        .await;
    assert_eq!(res.status, 403, "only the author edits");
}

async fn an_entry_past_the_edit_window_gets_a_new_version_and_sync_carries_it(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let leader = app.login_as("supervisor").await;
    let id = uuid::Uuid::now_v7().to_string();
    let mut phone = Device::new(&officer);
    phone.queue("diary.write", entry(&id, "夜班巡查"));
    assert_eq!(
        phone.push(&app).await.body["results"][0]["outcome"],
        "applied"
    );
    // Three days pass.
    let three_days_ago = patrol_api::db::ids::now_ms() - 3 * 24 * 3_600_000;
    app.sql(format!(
        "UPDATE diary_entries SET created_at = {three_days_ago}"
    ))
    .await;
    phone.queue("diary.write", entry(&id, "夜班巡查，补记噪音投诉一起"));
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["outcome"], "applied");
    assert_eq!(
        history(&app, &leader, &id).await["versions"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    phone.pull_all(&app).await;
    let mine = phone.get("diary_entry", &id).unwrap();
    assert_eq!(mine["version"], 2);
    // A bad entry is rejected and the queue moves on.
    phone.queue("diary.write", json!({"entry_id": uuid::Uuid::now_v7().to_string(), "entry_date": "2030-01-01", "shift": "day", "body": "未来"}));
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["rejection"]["field"], "entry_date");
}

on_both_backends!(
    a_diary_entry_is_edited_in_place_until_sign_off_then_versioned,
    an_entry_past_the_edit_window_gets_a_new_version_and_sync_carries_it,
);
