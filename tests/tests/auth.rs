//! Sign-in, tokens, refresh rotation, sign-out, registration and rate limits.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header, encode};
use patrol_tests::fixture::{OFFICER, PASSWORD};
use patrol_tests::{Backend, TEST_SECRET, TestApp, on_both_backends};
use serde_json::{Value, json};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn forge(claims: Value, secret: &[u8]) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("encode")
}

fn claims(sub: &str, sid: &str) -> Value {
    json!({"sub": sub, "role": "officer", "sid": sid, "iat": now(), "exp": now() + 600, "iss": "patrol", "aud": "patrol-api"})
}

/// The `sid` claim of an access token we were issued.
fn session_of(token: &str) -> String {
    let payload = token.split('.').nth(1).expect("a JWT has a payload");
    let claims: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    claims["sid"].as_str().expect("sid").to_owned()
}

async fn me_status(app: &TestApp, token: &str) -> u16 {
    app.get("/api/v1/me").token(token).send().await.status
}

async fn tokens_that_break_a_rule_are_refused(app: TestApp) {
    app.seed_fixture().await;
    let good = app.login(OFFICER, PASSWORD).await;
    let me = app.get("/api/v1/me").token(&good).send().await;
    assert_eq!(me.status, 200);
    let sub = me.body["user"]["id"].as_str().unwrap().to_owned();
    let sid = session_of(&good);
    let claims = |sub: &str| claims(sub, &sid);
    // The same claims signed properly pass, so each refusal below is about its one flaw.
    assert_eq!(
        me_status(&app, &forge(claims(&sub), TEST_SECRET.as_bytes())).await,
        200
    );

    let header_none = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(claims(&sub).to_string());
    let alg_none = format!("{header_none}.{payload}.");
    let mut expired = claims(&sub);
    expired["exp"] = json!(now() - 120);
    expired["iat"] = json!(now() - 1000);
    let mut no_exp = claims(&sub);
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut wrong_aud = claims(&sub);
    wrong_aud["aud"] = json!("someone-else");
    let mut wrong_iss = claims(&sub);
    wrong_iss["iss"] = json!("evil");
    let mut exp_string = claims(&sub);
    exp_string["exp"] = json!((now() + 600).to_string());
    let mut no_role = claims(&sub);
    no_role.as_object_mut().unwrap().remove("role");
    let mut no_session = claims(&sub);
    no_session.as_object_mut().unwrap().remove("sid");
    // A session that was never started (or of another account) is no session.
    let mut unknown_session = claims(&sub);
    unknown_session["sid"] = json!("0190aaaa-0000-7000-8000-000000000000");

    let cases = [
        ("alg none", alg_none),
        (
            "wrong key",
            forge(
                claims(&sub),
                b"another-secret-another-secret-another-secret",
            ),
        ),
        ("expired", forge(expired, TEST_SECRET.as_bytes())),
        ("missing exp", forge(no_exp, TEST_SECRET.as_bytes())),
        ("wrong aud", forge(wrong_aud, TEST_SECRET.as_bytes())),
        ("wrong iss", forge(wrong_iss, TEST_SECRET.as_bytes())),
        ("exp as string", forge(exp_string, TEST_SECRET.as_bytes())),
        ("missing role", forge(no_role, TEST_SECRET.as_bytes())),
        ("missing session", forge(no_session, TEST_SECRET.as_bytes())),
        (
            "unknown session",
            forge(unknown_session, TEST_SECRET.as_bytes()),
        ),
        ("garbage", "not.a.jwt".to_owned()),
    ];
    for (what, token) in cases {
        let res = app.get("/api/v1/me").token(&token).send().await;
        assert_eq!(res.status, 401, "{what}: {}", res.text);
        assert_eq!(res.header("www-authenticate"), Some("Bearer"), "{what}");
    }
    // A token in the query string is not a credential.
    let res = app
        .get(&format!("/api/v1/me?access_token={good}"))
        .send()
        .await;
    assert_eq!(res.status, 401);
    // Nor is a missing or malformed header.
    assert_eq!(app.get("/api/v1/me").send().await.status, 401);
    let res = app
        .get("/api/v1/me")
        .header("authorization", &format!("Basic {good}"))
        .send()
        .await;
    assert_eq!(res.status, 401);
}

async fn refresh(app: &TestApp, token: &str) -> (u16, Value) {
    let res = app
        .post("/api/v1/auth/refresh")
        .json(json!({ "refresh_token": token }))
        .send()
        .await;
    (res.status, res.body)
}

async fn sign_in(app: &TestApp) -> Value {
    let res = app
        .post("/api/v1/auth/login")
        .json(json!({"login": OFFICER, "password": PASSWORD}))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    assert_eq!(res.body["token_type"], "Bearer");
    assert_eq!(res.body["expires_in"], 900);
    res.body
}

async fn refresh_rotates_and_reuse_revokes_the_family(app: TestApp) {
    app.seed_fixture().await;
    let first = sign_in(&app).await;
    let r1 = first["refresh_token"].as_str().unwrap().to_owned();
    let (status, second) = refresh(&app, &r1).await;
    assert_eq!(status, 200);
    let r2 = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2, "rotated on use");
    assert_eq!(
        me_status(&app, second["access_token"].as_str().unwrap()).await,
        200
    );

    // Retrying the spent token inside the grace window (its answer was lost) gets the same
    // successor, not a new family and not a revocation.
    let (status, retry) = refresh(&app, &r1).await;
    assert_eq!(status, 200);
    assert_eq!(retry["refresh_token"], r2.as_str());

    // Using the successor, then presenting the first token again: reuse. The family dies.
    let (status, third) = refresh(&app, &r2).await;
    assert_eq!(status, 200);
    let r3 = third["refresh_token"].as_str().unwrap().to_owned();
    let (status, _) = refresh(&app, &r1).await;
    assert_eq!(status, 401, "spent token after its successor was used");
    let (status, _) = refresh(&app, &r3).await;
    assert_eq!(status, 401, "the whole family is revoked");

    // Another login is a separate family and still works.
    let other = sign_in(&app).await;
    let (status, _) = refresh(&app, other["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
}

async fn logout_revokes_the_refresh_token(app: TestApp) {
    app.seed_fixture().await;
    let pair = sign_in(&app).await;
    let access = pair["access_token"].as_str().unwrap();
    let refresh_token = pair["refresh_token"].as_str().unwrap();
    let res = app
        .post("/api/v1/auth/logout")
        .token(access)
        .json(json!({ "refresh_token": refresh_token }))
        .send()
        .await;
    assert_eq!(res.status, 204);
    let (status, _) = refresh(&app, refresh_token).await;
    assert_eq!(status, 401);
}

/// An access token ends with its session: at once on the server that ended it, and on
/// another server of the deployment once its brief memory of the session runs out (here
/// none, so the test need not wait).
async fn ending_a_session_ends_its_access_tokens(app: TestApp) {
    app.seed_fixture().await;
    let mut cfg = patrol_tests::test_config(&app.db);
    cfg.session_check_ttl = std::time::Duration::ZERO;
    let other = TestApp::start_on(app.db.clone(), cfg, app.backend).await;

    let kept = sign_in(&app).await;
    let kept_access = kept["access_token"].as_str().unwrap();
    let ended = sign_in(&app).await;
    let ended_access = ended["access_token"].as_str().unwrap();
    // Both servers have seen both sessions live (this one remembers that for 10 s).
    for server in [&app, &other] {
        assert_eq!(me_status(server, kept_access).await, 200);
        assert_eq!(me_status(server, ended_access).await, 200);
    }
    let res = app
        .post("/api/v1/auth/logout")
        .token(ended_access)
        .json(json!({ "refresh_token": ended["refresh_token"] }))
        .send()
        .await;
    assert_eq!(res.status, 204);
    for server in [&app, &other] {
        let res = server.get("/api/v1/me").token(ended_access).send().await;
        assert_eq!(res.status, 401, "signed out: {}", res.text);
        assert!(res.text.contains("session has ended"), "{}", res.text);
        assert_eq!(me_status(server, kept_access).await, 200, "other session");
    }

    // A refresh token presented again after its successor was used revokes the family:
    // the access token issued with the successor ends too.
    let r1 = kept["refresh_token"].as_str().unwrap().to_owned();
    let (_, second) = refresh(&app, &r1).await;
    let (status, third) = refresh(&app, second["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let newest = third["access_token"].as_str().unwrap().to_owned();
    assert_eq!(me_status(&app, &newest).await, 200);
    assert_eq!(session_of(&newest), session_of(kept_access), "one session");
    let (status, _) = refresh(&app, &r1).await;
    assert_eq!(status, 401);
    for server in [&app, &other] {
        assert_eq!(me_status(server, &newest).await, 401, "reuse revoked it");
    }
}

async fn wrong_passwords_and_unknown_logins_get_the_same_answer(app: TestApp) {
    app.seed_fixture().await;
    let wrong = app
        .post("/api/v1/auth/login")
        .json(json!({"login": OFFICER, "password": "wrong-password"}))
        .send()
        .await;
    let unknown = app
        .post("/api/v1/auth/login")
        .json(json!({"login": "nobody", "password": "wrong-password"}))
        .send()
        .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(unknown.status, 401);
    assert_eq!(wrong.body["detail"], unknown.body["detail"]);
}

async fn a_resident_registers_verifies_and_signs_in(app: TestApp) {
    app.seed_fixture().await;
    let phone = "13812345678";
    let res = app
        .post("/api/v1/auth/register")
        .json(json!({"phone": "+86 138-1234-5678", "password": "resident-pass", "display_name": "王阿姨"}))
        .send()
        .await;
    assert_eq!(res.status, 202, "{}", res.text);
    let code = app.codes.last_code(phone).expect("a code was sent");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let res = app
        .post("/api/v1/auth/register/verify")
        .json(json!({"phone": phone, "code": wrong}))
        .send()
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.body["field"], "code");
    let res = app
        .post("/api/v1/auth/register/verify")
        .json(json!({"phone": phone, "code": code}))
        .send()
        .await;
    assert_eq!(res.status, 201, "{}", res.text);
    let token = res.body["access_token"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/me").token(&token).send().await;
    assert_eq!(me.body["user"]["role"], "resident");
    assert_eq!(me.body["user"]["phone"], phone);
    // The code is spent, and the phone now signs in with its password.
    let res = app
        .post("/api/v1/auth/register/verify")
        .json(json!({"phone": phone, "code": code}))
        .send()
        .await;
    assert_eq!(res.status, 422);
    app.login(phone, "resident-pass").await;
    // Registering the same phone again sends no code and creates nothing.
    app.codes.clear();
    let res = app
        .post("/api/v1/auth/register")
        .json(json!({"phone": phone, "password": "another-pass"}))
        .send()
        .await;
    assert_eq!(res.status, 202);
    assert_eq!(app.codes.last_code(phone), None);
}

async fn registration_rejects_bad_phones_and_short_passwords(app: TestApp) {
    let res = app
        .post("/api/v1/auth/register")
        .json(json!({"phone": "12345", "password": "resident-pass"}))
        .send()
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.body["field"], "phone");
    let res = app
        .post("/api/v1/auth/register")
        .json(json!({"phone": "13812345678", "password": "short"}))
        .send()
        .await;
    assert_eq!(res.status, 422);
    assert_eq!(res.body["field"], "password");
}

on_both_backends!(
    tokens_that_break_a_rule_are_refused,
    refresh_rotates_and_reuse_revokes_the_family,
    logout_revokes_the_refresh_token,
    ending_a_session_ends_its_access_tokens,
    wrong_passwords_and_unknown_logins_get_the_same_answer,
    a_resident_registers_verifies_and_signs_in,
    registration_rejects_bad_phones_and_short_passwords,
);

/// Outside the grace window a spent token is reuse even if its successor is unused.
async fn grace_zero(backend: Backend) {
    let Some(app) =
        TestApp::spawn_with(backend, |c| c.refresh_grace = std::time::Duration::ZERO).await
    else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    app.seed_fixture().await;
    let pair = sign_in(&app).await;
    let r1 = pair["refresh_token"].as_str().unwrap().to_owned();
    let (status, next) = refresh(&app, &r1).await;
    assert_eq!(status, 200);
    // Wait until the (zero) grace window has certainly passed: the next millisecond.
    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let (status, _) = refresh(&app, &r1).await;
    assert_eq!(status, 401);
    let (status, _) = refresh(&app, next["refresh_token"].as_str().unwrap()).await;
    assert_eq!(status, 401, "family revoked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_after_the_grace_window_revokes_sqlite() {
    grace_zero(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_after_the_grace_window_revokes_postgres() {
    grace_zero(Backend::Postgres).await;
}

/// Floods of logins and registrations get 429 with Retry-After, while signed-in requests
/// keep being served.
async fn floods(backend: Backend) {
    let Some(app) = TestApp::spawn_with(backend, |c| {
        c.limits.login_per_account = 5;
        c.limits.login_per_address = 8;
        c.limits.register_per_address_per_hour = 3;
    })
    .await
    else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    app.seed_fixture().await;
    let token = app.login(OFFICER, PASSWORD).await;
    let mut limited = 0;
    let mut served_meanwhile = 0;
    for i in 0..20 {
        let res = app
            .post("/api/v1/auth/login")
            .json(json!({"login": "flood", "password": format!("guess-{i}")}))
            .send()
            .await;
        if res.status == 429 {
            limited += 1;
            let retry: u64 = res
                .header("retry-after")
                .expect("Retry-After")
                .parse()
                .expect("seconds");
            assert!(retry >= 1);
        } else {
            assert_eq!(res.status, 401);
        }
        if me_status(&app, &token).await == 200 {
            served_meanwhile += 1;
        }
    }
    assert!(
        limited >= 14,
        "only {limited} of 20 flood logins were limited"
    );
    assert_eq!(served_meanwhile, 20, "signed-in requests kept being served");
    let mut reg_limited = 0;
    for i in 0..6 {
        let res = app
            .post("/api/v1/auth/register")
            .json(json!({"phone": format!("1370000{i:04}"), "password": "resident-pass"}))
            .send()
            .await;
        if res.status == 429 {
            reg_limited += 1;
        } else {
            assert_eq!(res.status, 202);
        }
    }
    assert_eq!(reg_limited, 3);
    assert_eq!(me_status(&app, &token).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_registration_floods_get_429_while_others_are_served_sqlite() {
    floods(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_registration_floods_get_429_while_others_are_served_postgres() {
    floods(Backend::Postgres).await;
}
