//! Hotline intake (12345): a ticket transferred twice (or sent twice at once) is one case,
//! the answer that goes back is recorded, and the hotline's account does nothing else.

use patrol_tests::device::Device;
use patrol_tests::fixture::OFFICER_C3;
use patrol_tests::{TestApp, on_both_backends};
use serde_json::{Value, json};

fn ticket(no: &str, received_at: &str) -> Value {
    json!({"ticket_no": no, "category_code": "garbage_pile", "hotline_category": "市容环境-垃圾堆放",
           "description": "市民来电反映小区门口垃圾堆放三天未清运", "lat": 36.605, "lon": 101.805,
           "due_at": "2030-01-10T10:00:00Z", "received_at": received_at})
}

async fn a_ticket_transferred_twice_is_one_case_and_its_answer_is_recorded(app: TestApp) {
    app.seed_fixture().await;
    let admin = app.login_as("admin").await;
    let res = app
        .post("/api/v1/users")
        .token(&admin)
        .json(
            json!({"login": "hotline12345", "role": "department", "display_name": "12345热线",
                     "password": "hotline-password", "hotline_intake": true}),
        )
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["hotline_intake"], true);
    // Only a department account can be it.
    let res = app
        .post("/api/v1/users")
        .token(&admin)
        .json(
            json!({"login": "hotline2", "role": "officer", "display_name": "x",
                     "password": "hotline-password", "hotline_intake": true}),
        )
        .send()
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    let hotline = app.login("hotline12345", "hotline-password").await;

    let first = app
        .post("/api/v1/hotline/tickets")
        .token(&hotline)
        .json(ticket("GD20261207-0001", "2030-01-07T08:00:00Z"))
        .send()
        .await;
    assert_eq!(first.status, 201, "{}", first.text);
    let case_id = first.body["case_id"].as_str().unwrap().to_owned();
    assert_eq!(first.body["transfers"], 1);
    // The same transfer retried: nothing changes.
    let again = app
        .post("/api/v1/hotline/tickets")
        .token(&hotline)
        .json(ticket("GD20261207-0001", "2030-01-07T08:00:00Z"))
        .send()
        .await;
    assert_eq!(
        (
            again.status,
            &again.body["case_id"],
            &again.body["transfers"]
        ),
        (200, &json!(case_id), &json!(1))
    );
    // The hotline transfers it again a day later: recognised, counted, not doubled.
    let second = app
        .post("/api/v1/hotline/tickets")
        .token(&hotline)
        .json(ticket("GD20261207-0001", "2030-01-08T08:00:00Z"))
        .send()
        .await;
    assert_eq!(
        (
            second.status,
            &second.body["case_id"],
            &second.body["transfers"]
        ),
        (200, &json!(case_id), &json!(2))
    );
    let case = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&admin)
        .send()
        .await;
    assert_eq!(case.status, 200, "{}", case.text);
    assert_eq!(case.body["case"]["source"], "hotline");
    let hotline_cases = app
        .with_conn(|c| {
            use diesel::prelude::*;
            use patrol_api::db::schema::cases;
            cases::table
                .filter(cases::source.eq("hotline"))
                .count()
                .get_result::<i64>(c)
                .unwrap()
        })
        .await;
    assert_eq!(hotline_cases, 1);

    // Four transfers of a new ticket at once still make one case.
    let sends = (0..4).map(|_| {
        app.post("/api/v1/hotline/tickets")
            .token(&hotline)
            .json(ticket("GD20261207-0002", "2030-01-07T09:00:00Z"))
            .send()
    });
    let answers = futures_util::future::join_all(sends).await;
    let mut statuses: Vec<u16> = answers.iter().map(|r| r.status).collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 200, 200, 201],
        "{:?}",
        answers.iter().map(|r| &r.text).collect::<Vec<_>>()
    );
    let ids: std::collections::BTreeSet<&str> = answers
        .iter()
        .map(|r| r.body["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 1);

    // Bad tickets are refused with the field named.
    let mut bad = ticket("GD-3", "2030-01-07T09:00:00Z");
    bad["due_at"] = json!("2030-01-06T00:00:00Z");
    let res = app
        .post("/api/v1/hotline/tickets")
        .token(&hotline)
        .json(bad)
        .send()
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
    assert!(res.text.contains("due_at"), "{}", res.text);

    // The hotline's account files nothing else, online or through sync.
    let res = app
        .post("/api/v1/cases")
        .token(&hotline)
        .json(
            json!({"case_id": uuid::Uuid::now_v7().to_string(), "category_code": "garbage_pile",
                     "description": "x", "lat": 36.605, "lon": 101.805, "source": "hotline"}),
        )
        .send()
        .await;
    assert_eq!(res.status, 403, "{}", res.text);
    let mut phone = Device::new(&hotline);
    phone.queue(
        "case.report",
        json!({"case_id": uuid::Uuid::now_v7().to_string(), "category_code": "garbage_pile",
               "description": "x", "lat": 36.605, "lon": 101.805, "source": "hotline"}),
    );
    let res = phone.push(&app).await;
    assert_eq!(res.body["results"][0]["rejection"]["code"], "forbidden");
    let officer = app.login_as("officer").await;
    let res = app
        .post("/api/v1/hotline/tickets")
        .token(&officer)
        .json(ticket("GD-4", "2030-01-07T09:00:00Z"))
        .send()
        .await;
    assert_eq!(res.status, 403);

    // The community's officer records the answer; the hotline reads it; another
    // community's officer cannot see the ticket.
    let path = "/api/v1/hotline/tickets/GD20261207-0001";
    let res = app
        .post(&format!("{path}/answer"))
        .token(&officer)
        .json(json!({"answer": "已清运，并在门口增设垃圾桶两个"}))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    let res = app.get(path).token(&hotline).send().await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["answer"], "已清运，并在门口增设垃圾桶两个");
    assert!(res.body["answered_at"].is_string());
    let other = app.login_as_login(OFFICER_C3).await;
    assert_eq!(app.get(path).token(&other).send().await.status, 404);
    let res = app
        .post(&format!("{path}/answer"))
        .token(&other)
        .json(json!({"answer": "x"}))
        .send()
        .await;
    assert_eq!(res.status, 404);
    // The answer is in the case's history.
    let case = app
        .get(&format!("/api/v1/cases/{case_id}"))
        .token(&admin)
        .send()
        .await;
    assert!(case.text.contains("hotline_answered"), "{}", case.text);
}

on_both_backends!(a_ticket_transferred_twice_is_one_case_and_its_answer_is_recorded);
