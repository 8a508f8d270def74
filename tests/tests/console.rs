//! The supervisor console in a real headless Chromium, on the demo district: a street
//! leader signs in, approves a points claim and reads it in the officer's ledger,
//! accepts, dispatches and verifies a case that the API then shows closed, is refused a
//! case of another street and a form without its CSRF token, and sees every community of
//! their streets on the map (an admin all 35). Every page is screenshotted under
//! `target/screenshots/` and checked with axe-core for serious violations.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use patrol_api::cli::demo::{DemoLogin, seed_demo};
use patrol_tests::browser::{self, Browser};
use patrol_tests::{Backend, TestApp};
use serde_json::{Value, json};

/// Waits until `condition` (a JavaScript expression) is true in the page.
async fn until(c: &Client, condition: &str) {
    let deadline = Instant::now() + browser::WAIT;
    let script = format!("return !!({condition});");
    loop {
        if c.execute(&script, vec![])
            .await
            .ok()
            .and_then(|v| v.as_bool())
            == Some(true)
        {
            return;
        }
        let url = c
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "timed out waiting for `{condition}` on {url}:\n{}",
            c.source().await.unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Screenshots the page and fails on any serious accessibility violation.
async fn check_page(c: &Client, name: &str, seen: &mut Vec<String>) {
    browser::screenshot(c, name).await;
    for v in browser::axe_violations(c).await {
        seen.push(format!("{name}: {v}"));
    }
}

async fn sign_in(c: &Client, base: &str, login: &str, password: &str) {
    c.goto(&format!("{base}/console/sign-in")).await.unwrap();
    c.find(Locator::Css("input[name=login]"))
        .await
        .unwrap()
        .send_keys(login)
        .await
        .unwrap();
    c.find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys(password)
        .await
        .unwrap();
    c.find(Locator::Css(".signin button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(c, "location.pathname === '/console/today'").await;
}

fn password<'a>(logins: &'a [DemoLogin], login: &str) -> &'a str {
    &logins
        .iter()
        .find(|l| l.login == login)
        .unwrap_or_else(|| panic!("no demo login {login}"))
        .password
}

/// A point inside a community: the mean of its boundary's vertices (the demo's
/// communities are convex enough).
async fn inside(app: &TestApp, token: &str, code: &str) -> (f64, f64) {
    let c = app
        .get(&format!("/api/v1/communities/{code}"))
        .token(token)
        .send()
        .await;
    assert_eq!(c.status, 200, "{}", c.text);
    let ring = &c.body["boundary"]["coordinates"][0][0];
    let pts: Vec<(f64, f64)> = ring
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[1].as_f64().unwrap(), p[0].as_f64().unwrap()))
        .collect();
    let n = pts.len() as f64;
    (
        pts.iter().map(|p| p.0).sum::<f64>() / n,
        pts.iter().map(|p| p.1).sum::<f64>() / n,
    )
}

/// When this ISO week began in the demo district's zone.
fn week_start(now: chrono::DateTime<chrono::Utc>) -> chrono::DateTime<chrono::Utc> {
    let tz = chrono_tz::Asia::Shanghai;
    patrol_domain::visit::week_of(now, tz).start_utc(tz)
}

async fn report_case(app: &TestApp, token: &str, at: (f64, f64), what: &str) -> String {
    let res = app
        .post("/api/v1/cases")
        .token(token)
        .json(json!({
            "case_id": uuid::Uuid::now_v7().to_string(),
            "category_code": "street_occupation",
            "description": what,
            "lat": at.0,
            "lon": at.1,
        }))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["case"]["id"].as_str().unwrap().to_owned()
}

async fn claim(app: &TestApp, token: &str, note: &str) -> String {
    let res = app
        .post("/api/v1/points/claims")
        .token(token)
        .json(json!({"claim_id": uuid::Uuid::now_v7().to_string(), "points": 3, "note": note}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    res.body["id"].as_str().unwrap().to_owned()
}

async fn case_status(app: &TestApp, token: &str, id: &str) -> String {
    let res = app
        .get(&format!("/api/v1/cases/{id}"))
        .token(token)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    res.body["case"]["status"].as_str().unwrap().to_owned()
}

async fn transition(app: &TestApp, token: &str, id: &str, cmd: Value) {
    let res = app
        .post(&format!("/api/v1/cases/{id}/transitions"))
        .token(token)
        .json(cmd)
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
}

/// Submits the form of a workflow step on the case page and waits for the new status.
async fn step(c: &Client, command: &str, status: &str) {
    c.find(Locator::Css(&format!(
        "form[data-command={command}] button[type=submit]"
    )))
    .await
    .unwrap_or_else(|e| panic!("no {command} form: {e}"))
    .click()
    .await
    .unwrap();
    until(
        c,
        &format!("document.querySelector('#case-status')?.dataset.status === '{status}'"),
    )
    .await;
}

async fn walk(backend: Backend) {
    let Some(browser) = Browser::start().await else {
        return;
    };
    let Some(app) = TestApp::spawn(backend).await else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    let logins = app
        .with_conn(|conn| {
            seed_demo(conn)
                .expect("demo seeds")
                .expect("empty database")
        })
        .await;
    let base = app.base.clone();
    let officer = app.login("officer01", password(&logins, "officer01")).await;
    let other_street = app.login("officer11", password(&logins, "officer11")).await;
    let leader = app.login("leader1", password(&logins, "leader1")).await;
    let me = app.get("/api/v1/me").token(&officer).send().await;
    let officer_id = me.body["user"]["id"].as_str().unwrap().to_owned();
    let officer_name = me.body["user"]["display_name"].as_str().unwrap().to_owned();
    let here = inside(&app, &officer, "630102-01-01").await;
    let case_id = report_case(&app, &officer, here, "人行道上堆放建材，行人绕行").await;
    let there = inside(&app, &other_street, "630102-03-01").await;
    let foreign = report_case(&app, &other_street, there, "另一街道的占道经营").await;
    let approved = claim(&app, &officer, "协助社区处理飞线充电").await;
    let forged = claim(&app, &officer, "清理小广告").await;
    let mut violations = Vec::new();
    let backend_name = format!("{backend:?}").to_lowercase();
    let name = |page: &str| format!("console-{backend_name}-{page}");

    let c = browser.page().await;
    c.goto(&format!("{base}/console/today")).await.unwrap();
    until(&c, "location.pathname === '/console/sign-in'").await;
    check_page(&c, &name("sign-in"), &mut violations).await;
    sign_in(&c, &base, "leader1", password(&logins, "leader1")).await;
    check_page(&c, &name("today"), &mut violations).await;

    // Points: the leader approves one claim; the ledger shows the API's entry for it.
    c.goto(&format!("{base}/console/points")).await.unwrap();
    until(
        &c,
        &format!("document.querySelector(\"tr[data-claim-id='{approved}']\")"),
    )
    .await;
    check_page(&c, &name("points"), &mut violations).await;
    c.find(Locator::Css(&format!(
        "tr[data-claim-id='{approved}'] input[name=reason]"
    )))
    .await
    .unwrap()
    .send_keys("已核实")
    .await
    .unwrap();
    c.find(Locator::Css(&format!(
        "tr[data-claim-id='{approved}'] button[value=approve]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    until(
        &c,
        &format!("!document.querySelector(\"tr[data-claim-id='{approved}']\") && location.pathname === '/console/points'"),
    )
    .await;
    let claims = app
        .get(&format!("/api/v1/points/claims?officer_id={officer_id}"))
        .token(&leader)
        .send()
        .await;
    let status_of = |id: &str| {
        claims.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].as_str().unwrap().to_owned())
    };
    assert_eq!(status_of(&approved).as_deref(), Some("approved"));
    let entries = app
        .get(&format!("/api/v1/points/entries?officer_id={officer_id}"))
        .token(&leader)
        .send()
        .await;
    let entry = entries.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["note"].as_str().is_some_and(|n| n.contains("飞线充电")))
        .unwrap_or_else(|| panic!("no ledger entry for the claim: {}", entries.text))
        .clone();
    c.goto(&format!("{base}/console/points/officers/{officer_id}"))
        .await
        .unwrap();
    let row = format!(
        "table.ledger tr[data-source='{}']",
        entry["source_id"].as_str().unwrap()
    );
    until(&c, &format!("document.querySelector(\"{row}\")")).await;
    assert_eq!(
        browser::text_of(&c, &format!("{row} td.total")).await,
        browser::text_of(&c, "table.ledger tbody tr:first-child td.total").await,
        "the newest entry carries the balance"
    );
    assert!(browser::text_of(&c, "#chain-valid").await.contains("完整"));
    check_page(&c, &name("ledger"), &mut violations).await;

    // A form without its CSRF token is refused, and nothing is decided.
    c.goto(&format!("{base}/console/points")).await.unwrap();
    until(
        &c,
        &format!("document.querySelector(\"tr[data-claim-id='{forged}']\")"),
    )
    .await;
    c.execute(
        &format!(
            "document.querySelector(\"tr[data-claim-id='{forged}'] input[name=csrf]\").remove();"
        ),
        vec![],
    )
    .await
    .unwrap();
    c.find(Locator::Css(&format!(
        "tr[data-claim-id='{forged}'] input[name=reason]"
    )))
    .await
    .unwrap()
    .send_keys("已核实")
    .await
    .unwrap();
    c.find(Locator::Css(&format!(
        "tr[data-claim-id='{forged}'] button[value=approve]"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    until(
        &c,
        "document.body.innerText.includes('表单已过期或来源不明')",
    )
    .await;
    check_page(&c, &name("csrf-refused"), &mut violations).await;
    let pending = app
        .get(&format!(
            "/api/v1/points/claims?status=pending&officer_id={officer_id}"
        ))
        .token(&leader)
        .send()
        .await;
    assert!(
        pending.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == forged),
        "the forged decision changed nothing: {}",
        pending.text
    );

    // A case: accepted and dispatched from the console, resolved by the officer's phone,
    // verified from the console; the API shows it closed.
    c.goto(&format!("{base}/console/cases?open=true"))
        .await
        .unwrap();
    until(
        &c,
        &format!("document.querySelector(\"tr[data-case-id='{case_id}']\")"),
    )
    .await;
    assert!(
        c.find_all(Locator::Css(&format!("tr[data-case-id='{foreign}']")))
            .await
            .unwrap()
            .is_empty(),
        "another street's case is not on the board"
    );
    check_page(&c, &name("cases"), &mut violations).await;
    c.goto(&format!("{base}/console/cases/{case_id}"))
        .await
        .unwrap();
    until(
        &c,
        "document.querySelector('#case-status')?.dataset.status === 'reported'",
    )
    .await;
    check_page(&c, &name("case-reported"), &mut violations).await;
    step(&c, "accept", "accepted").await;
    c.find(Locator::Css(&format!(
        "form[data-command=dispatch] option[value='officer:{officer_id}']"
    )))
    .await
    .unwrap()
    .click()
    .await
    .unwrap();
    step(&c, "dispatch", "dispatched").await;
    assert_eq!(case_status(&app, &leader, &case_id).await, "dispatched");
    transition(&app, &officer, &case_id, json!({"command": "start"})).await;
    transition(
        &app,
        &officer,
        &case_id,
        json!({"command": "resolve", "evidence": ["建材已清走"], "note": "已清理"}),
    )
    .await;
    c.refresh().await.unwrap();
    until(
        &c,
        "document.querySelector('#case-status')?.dataset.status === 'resolved'",
    )
    .await;
    step(&c, "verify", "closed").await;
    check_page(&c, &name("case-closed"), &mut violations).await;
    assert_eq!(case_status(&app, &leader, &case_id).await, "closed");

    // Another street's case: a 403 page, in the browser and over plain HTTP.
    c.goto(&format!("{base}/console/cases/{foreign}"))
        .await
        .unwrap();
    until(&c, "document.querySelector('h1')?.innerText === '无权访问'").await;
    check_page(&c, &name("forbidden"), &mut violations).await;
    let cookie = c.get_named_cookie("patrol_console").await.unwrap();
    let res = app
        .get(&format!("/console/cases/{foreign}"))
        .header("cookie", &format!("patrol_console={}", cookie.value()))
        .send()
        .await;
    assert_eq!(res.status, 403, "{}", res.text);

    // The map: every community of the leader's streets.
    let theirs = app.get("/api/v1/me").token(&leader).send().await;
    let codes: Vec<&str> = theirs.body["communities"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", theirs.text))
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 10, "leader1 covers two streets of five");
    c.goto(&format!("{base}/console/map")).await.unwrap();
    until(&c, "document.querySelector('svg.map path.community')").await;
    let drawn: Vec<String> = c
        .execute(
            "return [...document.querySelectorAll('svg.map path.community')].map(p => p.dataset.code);",
            vec![],
        )
        .await
        .unwrap()
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    let mut expected: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    let mut drawn_sorted = drawn.clone();
    expected.sort();
    drawn_sorted.sort();
    assert_eq!(drawn_sorted, expected);
    check_page(&c, &name("map"), &mut violations).await;
    c.goto(&format!("{base}/console/report?month=2026-11"))
        .await
        .unwrap();
    until(&c, "document.querySelector('h1')").await;
    browser::screenshot(&c, &name("report")).await;
    assert!(
        c.execute(
            "return getComputedStyle(document.querySelector('h2')).borderBottomStyle;",
            vec![]
        )
        .await
        .unwrap()
        .as_str()
            == Some("solid"),
        "the report's stylesheet applies under its CSP"
    );

    // Whistles: one raised by community staff is on the board.
    let staff = app.login("staff01", password(&logins, "staff01")).await;
    let raised = app
        .post("/api/v1/whistles")
        .token(&staff)
        .json(json!({
            "whistle_id": uuid::Uuid::now_v7().to_string(),
            "community_code": "630102-01-01",
            "title": "楼道堆物需要清理",
            "description": "请城管协助",
        }))
        .send()
        .await;
    assert_eq!(raised.status, 201, "{}", raised.text);
    let whistle = raised.body["id"].as_str().unwrap().to_owned();
    c.goto(&format!("{base}/console/whistles")).await.unwrap();
    until(
        &c,
        &format!("document.querySelector(\"tr[data-whistle-id='{whistle}']\")"),
    )
    .await;
    check_page(&c, &name("whistles"), &mut violations).await;

    // Compliance: this week's column holds exactly the API's rows for the leader.
    let rows = app.get("/api/v1/compliance").token(&leader).send().await;
    let rows = rows.body.as_array().unwrap().clone();
    assert!(!rows.is_empty(), "the demo's pairings owe visits this week");
    let week = rows[0]["week"].as_str().unwrap().to_owned();
    c.goto(&format!("{base}/console/visits")).await.unwrap();
    until(&c, "document.querySelector('table.grid')").await;
    let cells = c
        .execute(
            &format!(
                "return document.querySelectorAll(\"table.grid td[data-week='{week}']\").length;"
            ),
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(cells.as_u64(), Some(rows.len() as u64), "week {week}");
    check_page(&c, &name("visits"), &mut violations).await;

    // A visit whose only fix lies far outside the community: flagged, drawn on the
    // community's page and shown outside the boundary on its own page.
    let now = chrono::Utc::now();
    let start = (now - chrono::Duration::minutes(30)).max(week_start(now));
    let end = start + chrono::Duration::minutes(10);
    let res = app
        .post("/api/v1/visits")
        .token(&officer)
        .json(json!({
            "visit_id": uuid::Uuid::now_v7().to_string(),
            "community_code": "630102-01-01",
            "started_at": start.to_rfc3339(),
            "ended_at": end.to_rfc3339(),
            "fixes": [{"at": start.to_rfc3339(), "lat": here.0 + 0.2, "lon": here.1, "accuracy_m": 8.0}],
            "photos": [format!("{:064x}", 7)],
            "met": ["resident"],
            "purpose": "入户走访",
            "class_721": "service",
        }))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    assert_eq!(res.body["status"], "flagged", "{}", res.text);
    let visit = res.body["id"].as_str().unwrap().to_owned();
    // The map's community is a link to the community's page.
    c.goto(&format!("{base}/console/map")).await.unwrap();
    c.find(Locator::Css("table.areas tr[data-code='630102-01-01'] a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &c,
        "location.pathname === '/console/communities/630102-01-01'",
    )
    .await;
    until(
        &c,
        &format!("document.querySelector(\"tr[data-visit-id='{visit}'] td.fix-flagged\")"),
    )
    .await;
    let dots = c
        .execute(
            "return document.querySelectorAll('figure.small-map circle.fix-flagged').length;",
            vec![],
        )
        .await
        .unwrap();
    assert!(dots.as_u64().unwrap_or(0) >= 1, "the flagged fix is drawn");
    let studio = c
        .find(Locator::Css("#studio + dl"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        studio.contains(&officer_name),
        "the paired officer is named: {studio}"
    );
    check_page(&c, &name("community"), &mut violations).await;
    c.find(Locator::Css(&format!("tr[data-visit-id='{visit}'] a")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(
        &c,
        &format!("location.pathname === '/console/visits/{visit}'"),
    )
    .await;
    let facts = c
        .find(Locator::Css("main"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(facts.contains("定位在社区边界外"), "{facts}");
    assert!(facts.contains("OUTSIDE_GEOFENCE"), "{facts}");
    check_page(&c, &name("visit"), &mut violations).await;
    // The diary: an entry the officer edits after the leader signed it off shows the
    // edit as a diff, marked as made after sign-off.
    let entry = uuid::Uuid::now_v7().to_string();
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Asia::Shanghai)
        .date_naive()
        .to_string();
    let write = |text: &'static str| json!({"entry_id": entry, "entry_date": today, "shift": "day", "body": text});
    let res = app
        .post("/api/v1/diary")
        .token(&officer)
        .json(write("巡查东关大街社区，发现占道经营"))
        .send()
        .await;
    assert!(res.status < 300, "{}", res.text);
    c.goto(&format!("{base}/console/diary/{entry}"))
        .await
        .unwrap();
    c.find(Locator::Css("form[action$='/sign-off'] button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&c, "document.querySelector('section.version p.ok')").await;
    let res = app
        .post("/api/v1/diary")
        .token(&officer)
        .json(write("巡查东关大街社区，未发现问题"))
        .send()
        .await;
    assert!(res.status < 300, "{}", res.text);
    c.goto(&format!("{base}/console/diary/{entry}"))
        .await
        .unwrap();
    until(
        &c,
        "document.querySelector('section.version[data-version=\"2\"] .after-sign-off')",
    )
    .await;
    until(
        &c,
        "document.querySelector('p.diff ins') && document.querySelector('p.diff del')",
    )
    .await;
    check_page(&c, &name("diary-entry"), &mut violations).await;
    c.goto(&format!("{base}/console/diary")).await.unwrap();
    until(
        &c,
        &format!("document.querySelector(\"tr[data-entry-id='{entry}']\")"),
    )
    .await;
    check_page(&c, &name("diary"), &mut violations).await;
    // Another street's community is not the leader's to open.
    let res = app
        .get("/console/communities/630102-03-01")
        .header(
            "cookie",
            &format!(
                "patrol_console={}",
                c.get_named_cookie("patrol_console").await.unwrap().value()
            ),
        )
        .send()
        .await;
    assert_eq!(res.status, 404, "{}", res.text);

    // Signing out ends the session on the server: the old cookie no longer opens pages.
    c.goto(&format!("{base}/console/today")).await.unwrap();
    c.find(Locator::Css("form.signout button"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    until(&c, "location.pathname === '/console/sign-in'").await;
    let res = app
        .get("/console/today")
        .header("cookie", &format!("patrol_console={}", cookie.value()))
        .send()
        .await;
    assert_eq!(
        res.status, 303,
        "a revoked session goes to sign-in: {}",
        res.text
    );
    assert_eq!(res.header("location"), Some("/console/sign-in"));
    c.close().await.unwrap();

    // An admin's map has all 35 communities, on a phone-sized screen.
    let phone = browser.phone().await;
    sign_in(&phone, &base, "admin", password(&logins, "admin")).await;
    phone
        .goto(&format!("{base}/console/map?by=open"))
        .await
        .unwrap();
    until(
        &phone,
        "document.querySelectorAll('svg.map path.community').length === 35",
    )
    .await;
    check_page(&phone, &name("map-phone"), &mut violations).await;
    phone.close().await.unwrap();

    assert!(
        violations.is_empty(),
        "serious accessibility violations:\n{}",
        violations.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_street_leader_works_the_console_in_chromium_on_sqlite() {
    walk(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_street_leader_works_the_console_in_chromium_on_postgres() {
    walk(Backend::Postgres).await;
}

async fn post_sign_in(app: &TestApp, cookie: &str, body: String, https: bool) -> patrol_tests::Res {
    let mut req = app
        .post("/console/sign-in")
        .header("cookie", cookie)
        .raw("application/x-www-form-urlencoded", body);
    if https {
        req = req.header("x-forwarded-proto", "https");
    }
    req.send().await
}

fn form_body(login: &str, password: &str, csrf: Option<&str>) -> String {
    let mut f = form_urlencoded::Serializer::new(String::new());
    f.append_pair("login", login)
        .append_pair("password", password);
    if let Some(t) = csrf {
        f.append_pair("csrf", t);
    }
    f.finish()
}

/// Sign-in over plain HTTP (no browser): strict, HTTP-only cookies that are `Secure`
/// behind HTTPS, the double-submit token required, the API's rate limit on guessing.
async fn sign_in_is_guarded(app: TestApp) {
    app.seed_fixture().await;
    let form = app.console_form(true).await;
    let (pair, token, set) = (form.cookie, form.token, form.set_cookie);
    for attr in ["HttpOnly", "SameSite=Strict", "Secure", "Path=/console"] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    let plain = app.console_form(false).await.set_cookie;
    assert!(
        !plain.contains("Secure"),
        "plain HTTP cannot keep a Secure cookie: {plain}"
    );

    let login = patrol_tests::fixture::login_for("supervisor");
    let res = post_sign_in(&app, &pair, form_body(login, "wrong", None), true).await;
    assert_eq!(res.status, 403, "no token: {}", res.text);
    let res = post_sign_in(
        &app,
        &pair,
        form_body(login, "wrong", Some("x".repeat(43).as_str())),
        true,
    )
    .await;
    assert_eq!(res.status, 403, "a token that is not the cookie's");
    let res = post_sign_in(&app, &pair, form_body(login, "wrong", Some(&token)), true).await;
    assert_eq!(res.status, 401, "{}", res.text);
    assert!(res.text.contains("账号或密码错误"));
    // The API's per-account limit (20 in tests) holds on this form too.
    let mut limited = false;
    for _ in 0..25 {
        let res = post_sign_in(&app, &pair, form_body(login, "wrong", Some(&token)), true).await;
        if res.status == 429 {
            limited = true;
            break;
        }
        assert_eq!(res.status, 401);
    }
    assert!(limited, "sign-in guesses are rate limited");
}

patrol_tests::on_both_backends!(sign_in_is_guarded);
