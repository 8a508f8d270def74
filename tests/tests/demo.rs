//! `patrol demo` seeds the demo district once, and the seeded district is what the
//! document describes: 35 communities, each with one officer and one party member.

use std::process::Command;

use patrol_tests::{Backend, TestApp, TestDb};
use serde_json::Value;

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
