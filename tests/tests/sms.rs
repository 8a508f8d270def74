//! Residents' registration codes leave the server only through a configured sender: an
//! HTTP SMS gateway (here a mock gateway on an ephemeral port), or the log sender that
//! only `serve --demo` and `PATROL_SMS_SENDER=log` use. With none, registration answers
//! 503 and no code is made.

use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use patrol_api::infra::config::SmsGateway;
use patrol_api::infra::otp::{HttpSmsSender, NoSender};
use patrol_tests::{Backend, TestApp};
use serde_json::{Value, json};

/// What the mock gateway received: (authorization header, JSON body).
type Received = Arc<Mutex<Vec<(Option<String>, Value)>>>;

/// A mock SMS gateway: records each request and answers `status`.
async fn gateway(status: u16) -> (String, Received, actix_web::dev::ServerHandle) {
    let received: Received = Arc::default();
    let sink = received.clone();
    let server = HttpServer::new(move || {
        let sink = sink.clone();
        App::new().route(
            "/send",
            web::post().to(move |req: HttpRequest, body: web::Json<Value>| {
                let sink = sink.clone();
                async move {
                    let auth = req
                        .headers()
                        .get("authorization")
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_owned);
                    sink.lock().unwrap().push((auth, body.into_inner()));
                    HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap())
                        .json(json!({"ok": status == 200}))
                }
            }),
        )
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .unwrap();
    let port = server.addrs()[0].port();
    let server = server.run();
    let handle = server.handle();
    tokio::spawn(server);
    (format!("http://127.0.0.1:{port}/send"), received, handle)
}

fn sender(url: &str) -> Arc<HttpSmsSender> {
    Arc::new(
        HttpSmsSender::new(
            SmsGateway {
                url: url.to_owned(),
                token: Some("gateway-token".into()),
                basic: None,
                template: "验证码{code}，{minutes}分钟内有效".into(),
            },
            10,
        )
        .unwrap(),
    )
}

async fn register(app: &TestApp, phone: &str) -> patrol_tests::Res {
    app.post("/api/v1/auth/register")
        .json(json!({"phone": phone, "password": "resident-pass", "display_name": "王阿姨"}))
        .send()
        .await
}

async fn through_gateway(backend: Backend) {
    let (url, received, handle) = gateway(200).await;
    let Some(app) = TestApp::spawn_with_sender(backend, sender(&url)).await else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    app.seed_fixture().await;
    let phone = "13812345678";
    let res = register(&app, phone).await;
    assert_eq!(res.status, 202, "{}", res.text);
    let (auth, body) = received
        .lock()
        .unwrap()
        .pop()
        .expect("the gateway got a message");
    assert_eq!(auth.as_deref(), Some("Bearer gateway-token"));
    assert_eq!(body["to"], phone);
    let text = body["text"].as_str().unwrap();
    assert!(text.ends_with("，10分钟内有效"), "{text}");
    let code: String = text.chars().filter(char::is_ascii_digit).take(6).collect();
    let res = app
        .post("/api/v1/auth/register/verify")
        .json(json!({"phone": phone, "code": code}))
        .send()
        .await;
    assert_eq!(
        res.status, 201,
        "the gateway's code registers: {}",
        res.text
    );
    handle.stop(false).await;
}

async fn gateway_failing(backend: Backend) {
    let (url, received, handle) = gateway(500).await;
    let Some(app) = TestApp::spawn_with_sender(backend, sender(&url)).await else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    app.seed_fixture().await;
    let res = register(&app, "13812345679").await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert!(
        res.headers.get("retry-after").is_some(),
        "{:?}",
        res.headers
    );
    assert_eq!(received.lock().unwrap().len(), 1);
    handle.stop(false).await;
}

async fn unconfigured(backend: Backend) {
    let Some(app) = TestApp::spawn_with_sender(backend, Arc::new(NoSender)).await else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    app.seed_fixture().await;
    let res = register(&app, "13812345670").await;
    assert_eq!(res.status, 503, "{}", res.text);
    assert_eq!(
        res.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/problem+json")
    );
    assert!(
        res.body["detail"]
            .as_str()
            .unwrap()
            .starts_with("no code sender configured"),
        "{}",
        res.text
    );
    // Nothing was stored: verifying any code finds no challenge.
    let res = app
        .post("/api/v1/auth/register/verify")
        .json(json!({"phone": "13812345670", "code": "123456"}))
        .send()
        .await;
    assert_eq!(res.status, 422, "{}", res.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_codes_go_to_the_http_sms_gateway_on_sqlite() {
    through_gateway(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_codes_go_to_the_http_sms_gateway_on_postgres() {
    through_gateway(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sms_gateway_answers_503_with_retry_after_on_sqlite() {
    gateway_failing(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_sms_gateway_answers_503_with_retry_after_on_postgres() {
    gateway_failing(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_without_a_code_sender_answers_503_on_sqlite() {
    unconfigured(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_without_a_code_sender_answers_503_on_postgres() {
    unconfigured(Backend::Postgres).await;
}
