//! A refusal tells the sender no more than they may read (issue 16, item 3): a report
//! that reuses another person's case id is rejected without that case's content, in the
//! answer and in the conflict the sender pulls later; an officer whose assignment ended
//! learns nothing new of the community's cases through refusals.

use patrol_tests::device::Device;
use patrol_tests::fixture::RESIDENT_PHONE_2;
use patrol_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

const SECRET: &str = "三单元门口 张先生家漏水 电话13911112222";

fn report(case_id: &str, description: &str) -> Value {
    json!({"case_id": case_id, "category_code": "garbage_pile", "description": description, "lat": 36.6051, "lon": 101.8052})
}

async fn a_rejection_carries_nothing_of_a_case_the_sender_may_not_read(app: TestApp) {
    app.seed_fixture().await;
    let first = app.login_as("resident").await;
    let second = app.login_as_login(RESIDENT_PHONE_2).await;
    let officer = app.login_as("officer").await;
    let case_id = uuid::Uuid::now_v7().to_string();
    let res = app
        .post("/api/v1/cases")
        .token(&first)
        .json(report(&case_id, SECRET))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);

    let mut phone = Device::new(&second);
    phone.queue("case.report", report(&case_id, "我的报告"));
    let res = phone.push(&app).await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(
        res.body["results"][0]["outcome"], "rejected",
        "{}",
        res.text
    );
    assert!(
        !res.text.contains(SECRET),
        "the answer leaks the case: {}",
        res.text
    );
    assert!(
        res.body["results"][0]["rejection"]["current"].is_null(),
        "{}",
        res.text
    );
    let pulled = phone.pull_all(&app).await;
    let text = serde_json::to_string(&pulled).unwrap();
    assert!(!text.contains(SECRET), "the pull leaks the case: {text}");
    assert!(phone.get("case", &case_id).is_none());

    // An officer who may read it gets the state with a rejection about state.
    let mut officer_phone = Device::new(&officer);
    officer_phone.queue("case.report", report(&case_id, "重复"));
    let res = officer_phone.push(&app).await;
    assert_eq!(
        res.body["results"][0]["outcome"], "rejected",
        "{}",
        res.text
    );
    assert_eq!(
        res.body["results"][0]["rejection"]["current"]["id"],
        case_id.as_str(),
        "{}",
        res.text
    );

    // Once the officer's assignment ends, a refusal shows them nothing of it either.
    let officer_id = app.get("/api/v1/me").token(&officer).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.sql(format!(
        "UPDATE assignments SET ended_at = 1 WHERE user_id = '{officer_id}'"
    ))
    .await;
    officer_phone.queue("case.report", report(&case_id, "再次"));
    let res = officer_phone.push(&app).await;
    assert_eq!(
        res.body["results"][0]["outcome"], "rejected",
        "{}",
        res.text
    );
    assert!(!res.text.contains(SECRET), "{}", res.text);
    assert!(
        res.body["results"][0]["rejection"]["current"].is_null(),
        "{}",
        res.text
    );
}

on_both_backends!(a_rejection_carries_nothing_of_a_case_the_sender_may_not_read);
