//! `patrol demo` seeds the demo district once, and the seeded district is what the
//! document describes: 35 communities, each with one officer and one party member.

use std::process::Command;

use chrono::Datelike;
use patrol_tests::{Backend, TestApp, TestDb};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_patrol-test-server");

fn demo(url: &str) -> String {
    let out = Command::new(BIN)
        .arg("demo")
        .env("DATABASE_URL", url)
        .env("PATROL_JWT_SECRET", patrol_tests::TEST_SECRET)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run patrol demo");
    assert!(
        out.status.success(),
        "patrol demo failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

async fn seeded(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    let first = demo(db.url());
    let password_of = |login: &str| -> String {
        first
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(login))
            .and_then(|l| l.split_whitespace().nth(2))
            .unwrap_or_else(|| panic!("{login} not printed:\n{first}"))
            .to_owned()
    };
    let officers = first.lines().filter(|l| l.starts_with("officer ")).count();
    let party = first
        .lines()
        .filter(|l| l.starts_with("party_member "))
        .count();
    assert_eq!((officers, party), (35, 35), "{first}");
    let admin_password = password_of("admin");
    let officer_password = password_of("officer07");

    let again = demo(db.url());
    assert!(again.contains("not seeded again"), "{again}");
    assert!(!again.contains(&admin_password), "passwords are shown once");

    let db = std::sync::Arc::new(db);
    let app = TestApp::start_on(db.clone(), patrol_tests::test_config(&db), backend).await;
    let admin = app.login("admin", &admin_password).await;
    let personnel = app
        .get("/api/v1/personnel?limit=200")
        .token(&admin)
        .send()
        .await;
    let items = personnel.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 35);
    for c in items {
        assert_eq!(c["officers"].as_array().unwrap().len(), 1, "{c}");
        assert_eq!(c["party_members"].as_array().unwrap().len(), 1, "{c}");
    }
    let district = app.get("/api/v1/district").token(&admin).send().await;
    assert_eq!(district.body["streets"].as_array().unwrap().len(), 7);
    let categories = app
        .get("/api/v1/categories")
        .token(&admin)
        .send()
        .await
        .body;
    let key_groups: std::collections::BTreeSet<&str> = categories
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "key_item")
        .map(|c| c["group_code"].as_str().unwrap())
        .collect();
    assert_eq!(key_groups.len(), 6);
    assert_eq!(
        app.get("/api/v1/duties")
            .token(&admin)
            .send()
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        13
    );
    assert_eq!(
        app.get("/api/v1/public/stations")
            .send()
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );
    // Each bureau leader covers two streets; every point of the district lies in a community.
    let leader = app.login("leader1", &password_of("leader1")).await;
    let me = app.get("/api/v1/me").token(&leader).send().await;
    assert_eq!(
        me.body["communities"].as_array().unwrap().len(),
        10,
        "{}",
        me.text
    );
    let officer = app.login("officer07", &officer_password).await;
    let me = app.get("/api/v1/me").token(&officer).send().await;
    let code = me.body["communities"][0].as_str().unwrap().to_owned();
    let community = app
        .get(&format!("/api/v1/communities/{code}"))
        .token(&officer)
        .send()
        .await;
    let ring = &community.body["boundary"]["coordinates"][0][0];
    let (mut lat, mut lon, mut n) = (0.0, 0.0, 0.0);
    for p in ring.as_array().unwrap().iter().skip(1) {
        lon += p[0].as_f64().unwrap();
        lat += p[1].as_f64().unwrap();
        n += 1.0;
    }
    let res = app
        .get(&format!("/api/v1/locate?lat={}&lon={}", lat / n, lon / n))
        .token(&officer)
        .send()
        .await;
    assert_eq!(res.body["community"]["code"], Value::String(code));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeds_the_district_once_on_sqlite() {
    seeded(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeds_the_district_once_on_postgres() {
    seeded(Backend::Postgres).await;
}

/// The password `patrol demo` printed for `login`.
fn password_in(printed: &str, login: &str) -> String {
    printed
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(login))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("{login} not printed:\n{printed}"))
        .to_owned()
}

/// A point inside the community an officer covers: the mean of its boundary's corners.
async fn inside_community_of(app: &TestApp, token: &str) -> (f64, f64) {
    let me = app.get("/api/v1/me").token(token).send().await;
    let code = me.body["communities"][0].as_str().unwrap().to_owned();
    let community = app
        .get(&format!("/api/v1/communities/{code}"))
        .token(token)
        .send()
        .await;
    let ring = &community.body["boundary"]["coordinates"][0][0];
    let (mut lat, mut lon, mut n) = (0.0, 0.0, 0.0);
    for p in ring.as_array().unwrap().iter().skip(1) {
        lon += p[0].as_f64().unwrap();
        lat += p[1].as_f64().unwrap();
        n += 1.0;
    }
    (lat / n, lon / n)
}

async fn office(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    let printed = demo(db.url());
    let db = std::sync::Arc::new(db);
    let app = TestApp::start_on(db.clone(), patrol_tests::test_config(&db), backend).await;
    let login = |l: &'static str| {
        let password = password_in(&printed, l);
        let app = &app;
        async move { app.login(l, &password).await }
    };
    let officer = login("officer01").await;
    let leader = login("leader1").await;
    let staff = login("staff01").await;
    let office = login("lianxiban").await;
    let water = login("dept.water").await;
    let power = login("dept.power").await;
    let officer_id = app.get("/api/v1/me").token(&officer).send().await.body["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A community's problem, reported, dispatched to its officer and started.
    let (lat, lon) = inside_community_of(&app, &officer).await;
    let res = app
        .post("/api/v1/cases")
        .token(&officer)
        .json(json!({
            "case_id": uuid::Uuid::now_v7().to_string(),
            "category_code": "garbage_piles",
            "description": "小区门口地下管网破裂，污水外溢",
            "lat": lat,
            "lon": lon,
        }))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let case = res.body["case"]["id"].as_str().unwrap().to_owned();
    let step = |token: &str, body: Value| {
        let (app, case, token) = (&app, case.clone(), token.to_owned());
        async move {
            let res = app
                .post(&format!("/api/v1/cases/{case}/transitions"))
                .token(&token)
                .json(body.clone())
                .send()
                .await;
            assert_eq!(res.status, 200, "{body}: {}", res.text);
            res.body
        }
    };
    if res.body["case"]["status"] == "reported" {
        step(&leader, json!({"command": "accept"})).await;
    }
    if res.body["case"]["handler_id"] != officer_id.as_str() {
        step(
            &leader,
            json!({"command": "dispatch", "to": {"officer": officer_id}}),
        )
        .await;
    }
    step(&officer, json!({"command": "start"})).await;
    let res = app
        .post(&format!("/api/v1/cases/{case}/escalate"))
        .token(&officer)
        .json(json!({"reason": "需要自来水公司和供电公司联合处置"}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let escalation = res.body["id"].as_str().unwrap().to_owned();

    // The office sees its queue and tasks two departments.
    let queue = app
        .get("/api/v1/escalations?status=pending")
        .token(&office)
        .send()
        .await;
    assert_eq!(
        queue.status, 200,
        "the office reads its queue: {}",
        queue.text
    );
    assert_eq!(queue.body.as_array().unwrap().len(), 1, "{}", queue.text);
    let res = app
        .post(&format!("/api/v1/escalations/{escalation}/decide"))
        .token(&office)
        .json(json!({
            "departments": ["dept.water", "dept.power"],
            "instructions": "各自抢修并回复",
            "due_hours": 24,
        }))
        .send()
        .await;
    assert_eq!(res.status, 200, "the office decides: {}", res.text);
    assert_eq!(res.body["tasks"].as_array().unwrap().len(), 2);
    // The office is not a department that can be tasked.
    let people = app
        .get("/api/v1/users?role=department&limit=100")
        .token(&login("admin").await)
        .send()
        .await;
    let offices: Vec<&Value> = people.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["joint_office"] == true)
        .collect();
    assert_eq!(offices.len(), 1, "{}", people.text);
    assert_eq!(offices[0]["login"], "lianxiban");
    assert!(
        people.body["items"].as_array().unwrap().len() >= 4,
        "the demo seeds departments: {}",
        people.text
    );

    // Each department does its part.
    for token in [&water, &power] {
        let mine = app
            .get("/api/v1/department-tasks?status=open")
            .token(token)
            .send()
            .await;
        let tasks = mine.body.as_array().unwrap();
        assert_eq!(tasks.len(), 1, "{}", mine.text);
        let task = tasks[0]["id"].as_str().unwrap();
        let res = app
            .post(&format!("/api/v1/department-tasks/{task}/complete"))
            .token(token)
            .json(json!({"response": "已抢修完毕", "evidence": ["管道已更换"]}))
            .send()
            .await;
        assert_eq!(res.status, 200, "{}", res.text);
    }

    // And back: the officer resolves, the community verifies, the case closes.
    step(
        &officer,
        json!({"command": "resolve", "evidence": ["管网修复，路面清理完毕"], "note": ""}),
    )
    .await;
    let closed = step(
        &staff,
        json!({"command": "verify", "passed": true, "outcome": "fixed", "note": ""}),
    )
    .await;
    assert_eq!(closed["case"]["status"], "closed", "{closed}");
    assert_eq!(closed["escalations"][0]["status"], "done", "{closed}");
    let report = app
        .get("/api/v1/reports/departments")
        .token(&office)
        .send()
        .await;
    assert_eq!(report.status, 200, "{}", report.text);
    assert_eq!(report.body.as_array().unwrap().len(), 2, "{}", report.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_joint_office_tasks_two_departments_and_the_case_comes_back_on_sqlite() {
    office(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_joint_office_tasks_two_departments_and_the_case_comes_back_on_postgres() {
    office(Backend::Postgres).await;
}

/// The demo has something for every view: pairings begun long enough ago that
/// yesterday's visit counts towards this or last week's compliance, staff with phone
/// numbers in the personnel list, and departments beside the office.
async fn lived_in(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    let printed = demo(db.url());
    let db = std::sync::Arc::new(db);
    let app = TestApp::start_on(db.clone(), patrol_tests::test_config(&db), backend).await;
    let officer = app
        .login("officer01", &password_in(&printed, "officer01"))
        .await;
    let leader = app
        .login("leader1", &password_in(&printed, "leader1"))
        .await;
    let me = app.get("/api/v1/me").token(&officer).send().await;
    let community = me.body["communities"][0].as_str().unwrap().to_owned();
    let (lat, lon) = inside_community_of(&app, &officer).await;
    let yesterday = chrono::Utc::now() - chrono::Duration::hours(26);
    let res = app
        .post("/api/v1/visits")
        .token(&officer)
        .json(json!({
            "visit_id": uuid::Uuid::now_v7().to_string(),
            "community_code": community,
            "started_at": yesterday.to_rfc3339(),
            "ended_at": (yesterday + chrono::Duration::minutes(25)).to_rfc3339(),
            "fixes": [{"at": yesterday.to_rfc3339(), "lat": lat, "lon": lon, "accuracy_m": 8.0}],
            "photos": [format!("{:064x}", 7)],
            "met": ["resident"],
            "purpose": "入户走访",
            "class_721": "service",
        }))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert!(
        !res.body["flags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f == "NOT_ASSIGNED"),
        "yesterday lies inside the demo's pairing: {}",
        res.text
    );
    assert_eq!(res.body["status"], "verified", "{}", res.text);
    let iso = yesterday
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .iso_week();
    let week = format!("{}-W{:02}", iso.year(), iso.week());
    let rows = app
        .get(&format!(
            "/api/v1/compliance?week={week}&community_code={community}"
        ))
        .token(&leader)
        .send()
        .await;
    assert_eq!(rows.status, 200, "{}", rows.text);
    let counted: usize = rows
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["counted"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(counted, 1, "yesterday's visit counts: {}", rows.text);

    let personnel = app
        .get("/api/v1/personnel?limit=200")
        .token(&leader)
        .send()
        .await;
    assert_eq!(personnel.status, 200, "{}", personnel.text);
    for c in personnel.body["items"].as_array().unwrap() {
        for o in c["officers"].as_array().unwrap() {
            assert!(o["phone"].is_string(), "officers have phones: {o}");
        }
    }
    let squads = app.get("/api/v1/squads").token(&leader).send().await;
    assert_eq!(squads.status, 200, "{}", squads.text);
    assert_eq!(squads.body.as_array().unwrap().len(), 7, "{}", squads.text);
    let in_squads = app
        .with_conn(|conn| {
            use diesel::prelude::*;
            use patrol_api::db::schema::users;
            users::table
                .filter(users::role.eq("officer"))
                .filter(users::squad_id.is_not_null())
                .count()
                .get_result::<i64>(conn)
                .unwrap()
        })
        .await;
    assert_eq!(
        in_squads, 35,
        "every demo officer is in their street's squad"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_counts_yesterdays_visit_and_has_phones_squads_and_departments_on_sqlite() {
    lived_in(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_counts_yesterdays_visit_and_has_phones_squads_and_departments_on_postgres() {
    lived_in(Backend::Postgres).await;
}

/// `patrol user list` shows the accounts and `patrol user reset-password` prints a new
/// password once: the old one stops working, the new one signs in.
async fn user_commands(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    let printed = demo(db.url());
    let patrol = |args: &[&str]| {
        let out = Command::new(BIN)
            .args(args)
            .env("DATABASE_URL", db.url())
            .env("PATROL_JWT_SECRET", patrol_tests::TEST_SECRET)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run patrol");
        assert!(
            out.status.success(),
            "patrol {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let list = patrol(&["user", "list", "--role", "department"]);
    let office = list
        .lines()
        .find(|l| l.starts_with("lianxiban "))
        .unwrap_or_else(|| panic!("{list}"));
    assert!(office.contains("joint"), "{list}");
    assert!(list.lines().any(|l| l.starts_with("dept.water ")), "{list}");
    assert!(!list.contains("officer01"), "only the role asked: {list}");
    let reset = patrol(&["user", "reset-password", "--login", "officer01"]);
    let new_password = reset
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_else(|| panic!("{reset}"))
        .to_owned();
    let old_password = password_in(&printed, "officer01");
    assert_ne!(new_password, old_password);

    let db = std::sync::Arc::new(db);
    let app = TestApp::start_on(db.clone(), patrol_tests::test_config(&db), backend).await;
    let old = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "officer01", "password": old_password}))
        .send()
        .await;
    assert_eq!(old.status, 401, "{}", old.text);
    app.login("officer01", &new_password).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patrol_user_lists_accounts_and_resets_a_password_on_sqlite() {
    user_commands(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn patrol_user_lists_accounts_and_resets_a_password_on_postgres() {
    user_commands(Backend::Postgres).await;
}
