//! The browser harness itself (`patrol_tests::browser`), on a tiny in-process site that
//! sends the console's strict Content-Security-Policy: axe-core still gets injected and
//! finds a missing `alt`, a clean page has no serious violations, the session speaks
//! Chinese, screenshots cover the whole page, and a phone-sized window is phone-sized.

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use patrol_tests::browser::{self, Browser, PHONE};

/// A PNG's width and height, from its header.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "not a PNG");
    let be = |at: usize| u32::from_be_bytes(png[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

/// What the console sends: nothing but its own scripts and styles.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'";

/// An image without `alt` (axe's `image-alt`, critical), and no language or title.
const BROKEN: &str = r#"<!doctype html>
<html><head><meta charset="utf-8"></head>
<body><h1>巡查</h1><img src="/photo.png" width="40" height="40"></body></html>"#;

/// Language, title, a main landmark and a heading; tall enough to need scrolling. The
/// inline script must be blocked by the policy, the one from 'self' must run.
const CLEAN: &str = r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>巡查记录</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/site.css"><script src="/site.js"></script>
<script>window.inlineRan = true;</script></head>
<body><main><h1>巡查记录</h1><ol class="records">RECORDS</ol></main></body></html>"#;

const CSS: &str = "body { font: 16px sans-serif; margin: 0 2rem; } li { height: 40px; }";
const JS: &str = "window.selfRan = true;";

fn page(content_type: &str, body: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(content_type)
        .insert_header(("content-security-policy", CSP))
        .body(body)
}

/// Serves the pages on a free port; returns the base URL.
fn site() -> (String, actix_web::dev::ServerHandle) {
    let records: String = (1..=60)
        .map(|i| format!("<li>第{i}次巡查：正常</li>"))
        .collect();
    let clean = CLEAN.replace("RECORDS", &records);
    let server = HttpServer::new(move || {
        let clean = clean.clone();
        App::new()
            .route(
                "/broken",
                web::get().to(|| async { page("text/html; charset=utf-8", BROKEN.into()) }),
            )
            .route(
                "/clean",
                web::get().to(move || {
                    let clean = clean.clone();
                    async move { page("text/html; charset=utf-8", clean) }
                }),
            )
            .route(
                "/site.css",
                web::get().to(|| async { page("text/css", CSS.into()) }),
            )
            .route(
                "/site.js",
                web::get().to(|| async { page("text/javascript", JS.into()) }),
            )
            .route(
                "/accept-language",
                web::get().to(|req: HttpRequest| async move {
                    let lang = req
                        .headers()
                        .get("accept-language")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    page(
                        "text/html; charset=utf-8",
                        format!(
                            "<!doctype html><html lang=\"zh-CN\"><title>语言</title>\
                             <main><h1>语言</h1><p id=\"lang\">{lang}</p></main></html>"
                        ),
                    )
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
    (format!("http://127.0.0.1:{port}"), handle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axe_screenshots_and_language_under_a_strict_csp() {
    let Some(chrome) = Browser::start().await else {
        return;
    };
    let (base, server) = site();
    let page = chrome.page().await;

    // A missing alt is found, though the page allows no script but its own.
    page.goto(&format!("{base}/broken")).await.unwrap();
    browser::wait_for_css(&page, "h1").await;
    let violations = browser::axe_violations(&page).await;
    if browser::axe_path().is_file() {
        assert!(
            violations
                .iter()
                .any(|v| v.starts_with("image-alt (critical): ") && v.contains("img")),
            "{violations:#?}"
        );
    }

    // The clean page: the policy is in force (its inline script blocked, its own script
    // run), and axe finds nothing serious.
    page.goto(&format!("{base}/clean")).await.unwrap();
    assert_eq!(browser::text_of(&page, "h1").await, "巡查记录");
    let ran = page
        .execute(
            "return [window.inlineRan === true, window.selfRan === true];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(ran, serde_json::json!([false, true]), "CSP not in force");
    assert_eq!(browser::axe_violations(&page).await, Vec::<String>::new());
    // A second run reuses the injected axe.
    assert_eq!(browser::axe_violations(&page).await, Vec::<String>::new());

    // The whole page, not just the window (whose viewport is smaller than 900 px: headless
    // Chromium draws a frame), less the scrollbar; the window is left as it was.
    let shot = browser::screenshot(&page, "browser_harness-clean").await;
    let (width, height) = png_size(&std::fs::read(&shot).unwrap());
    assert!(
        width > 1_200 && width <= 1_280,
        "{width} px wide: {}",
        shot.display()
    );
    assert!(height > 2_000, "{height} px: not the whole page");
    assert_eq!(page.get_window_size().await.unwrap(), (1280, 900));
    let inner = page
        .execute("return window.innerHeight;", vec![])
        .await
        .unwrap();
    assert!(inner.as_u64().unwrap() < 900, "viewport {inner} px high");

    // The session asks for Chinese.
    page.goto(&format!("{base}/accept-language")).await.unwrap();
    let lang = browser::text_of(&page, "#lang").await;
    assert!(lang.starts_with("zh-CN"), "Accept-Language: {lang}");
    let language = page
        .execute("return navigator.language;", vec![])
        .await
        .unwrap();
    assert_eq!(language, "zh-CN");

    // A phone, beside the first session: its viewport exactly, touch, a whole-page shot.
    let phone = chrome.phone().await;
    phone.goto(&format!("{base}/clean")).await.unwrap();
    let viewport = phone
        .execute(
            "return [window.innerWidth, window.innerHeight, navigator.maxTouchPoints > 0];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(viewport, serde_json::json!([PHONE.0, PHONE.1, true]));
    assert_eq!(browser::axe_violations(&phone).await, Vec::<String>::new());
    let shot = browser::screenshot(&phone, "browser_harness-phone").await;
    let (width, height) = png_size(&std::fs::read(&shot).unwrap());
    assert_eq!(width, PHONE.0, "{}", shot.display());
    assert!(height > PHONE.1, "{height} px: not the whole page");

    phone.close().await.unwrap();
    page.close().await.unwrap();
    server.stop(true).await;
}
