//! Crash points between every step of applying a push: after the failure (the
//! transaction rolls back, as it would if the process died there), each mutation is either
//! fully applied and acknowledged or fully absent, and a replay applies it exactly once.

use patrol_tests::device::Device;
use patrol_tests::{TestApp, on_both_backends};
use serde_json::json;

const POINTS: [&str; 4] = [
    "sync.push.after_lock",
    "sync.push.after_effects",
    "sync.push.after_outcome",
    "sync.push.before_commit",
];

async fn activity_kinds(app: &TestApp, token: &str, case_id: &str) -> Vec<String> {
    let res = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(token)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["activities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["kind"].as_str().unwrap().to_owned())
        .collect()
}

async fn a_crash_at_any_step_leaves_each_mutation_all_or_nothing(app: TestApp) {
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    let leader = app.login_as("supervisor").await;
    for point in POINTS {
        let mut phone = Device::new(&officer);
        let case_id = uuid::Uuid::now_v7().to_string();
        phone.queue("case.report", json!({"case_id": case_id, "category_code": "garbage_pile", "description": "垃圾", "lat": 36.605, "lon": 101.802}));
        assert_eq!(phone.push(&app).await.status, 200);
        phone.queue(
            "case.comment",
            json!({"case_id": case_id, "text": "第一次"}),
        );
        phone.queue(
            "case.comment",
            json!({"case_id": case_id, "text": "第二次"}),
        );
        let queued = phone.queue.clone();
        fail::cfg(point, &format!("return({})", phone.client_id)).unwrap();
        let res = phone.push(&app).await;
        fail::remove(point);
        assert_eq!(res.status, 503, "{point}: {}", res.text);
        assert!(res.header("retry-after").is_some());
        // Nothing of the failed mutation is there: no comment, no acknowledgement.
        let kinds = activity_kinds(&app, &leader, &case_id).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "comment").count(),
            0,
            "{point}: {kinds:?}"
        );
        let pull = app
            .post("/api/v1/sync/pull")
            .token(&officer)
            .json(json!({"client_id": phone.client_id, "protocol_version": 1}))
            .send()
            .await;
        assert_eq!(
            pull.body["last_mutation_id"], 1,
            "{point}: not acknowledged"
        );
        // The device retries the same ids: each applies exactly once.
        phone.queue = queued;
        let res = phone.push(&app).await;
        assert_eq!(res.status, 200, "{point}: {}", res.text);
        assert_eq!(res.body["last_mutation_id"], 3);
        let kinds = activity_kinds(&app, &leader, &case_id).await;
        assert_eq!(
            kinds.iter().filter(|k| *k == "comment").count(),
            2,
            "{point}: {kinds:?}"
        );
        assert_eq!(
            kinds.iter().filter(|k| *k == "reported").count(),
            1,
            "{point}"
        );
    }
}

on_both_backends!(a_crash_at_any_step_leaves_each_mutation_all_or_nothing);
