//! Headless Chromium for browser tests: a `chromedriver` child process per [`Browser`],
//! WebDriver sessions on it ([`Browser::page`]), screenshots into `target/screenshots/`,
//! and accessibility checks with axe-core injected into the page under test.
//!
//! A test starts one browser and skips itself when the machine has none:
//!
//! ```ignore
//! let Some(browser) = Browser::start().await else { return };
//! let page = browser.page().await;
//! page.goto(&url).await.unwrap();
//! assert_eq!(browser::axe_violations(&page).await, Vec::<String>::new());
//! ```
//!
//! With `PATROL_REQUIRE_BROWSER=1` (as CI sets it) a missing chromedriver, Chromium or
//! axe-core fails the test instead of skipping it.
//!
//! Paths: `CHROMEDRIVER` (default `/usr/bin/chromedriver`), `CHROMIUM` (default
//! `/usr/bin/chromium`); axe-core from `tests/browser/node_modules` (`npm ci --prefix
//! tests/browser`).

use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::wd::WebDriverCompatibleCommand;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

use crate::TempDir;

/// The desktop window of [`Browser::page`].
pub const DESKTOP: (u32, u32) = (1280, 900);
/// The viewport of [`Browser::phone`] (a 6.1" phone, in CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

/// How long [`wait_for_css`] and [`text_of`] wait for an element.
pub const WAIT: Duration = Duration::from_secs(10);

/// How long chromedriver gets to answer `/status` ready.
const DRIVER_START: Duration = Duration::from_secs(20);

/// Screenshots taller than this are cut at it rather than made into a giant image.
const MAX_SCREENSHOT_HEIGHT: f64 = 8_000.0;

/// Whether a missing browser or axe-core must fail the test (`PATROL_REQUIRE_BROWSER=1`).
pub fn required() -> bool {
    std::env::var("PATROL_REQUIRE_BROWSER").is_ok_and(|v| v == "1")
}

fn env_path(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var).map_or_else(|| PathBuf::from(default), PathBuf::from)
}

/// The workspace root: the parent of this package's directory.
pub fn workspace_root() -> PathBuf {
    let tests = Path::new(env!("CARGO_MANIFEST_DIR"));
    tests.parent().unwrap_or(tests).to_path_buf()
}

/// A running chromedriver on a free localhost port, with the Chromium it drives. Dropping
/// it asks chromedriver to quit its browsers and exit, kills whatever is left of its
/// process group, and removes the profiles and the log.
pub struct Browser {
    child: Child,
    url: String,
    chromium: PathBuf,
    sessions: AtomicUsize,
    /// Chromedriver's log and every session's `--user-data-dir`; dropped after the kill.
    dir: TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Asked to, chromedriver quits its browsers and exits in a tenth of a second;
        // killed alone, it would leave every Chromium process running.
        if self.shutdown().is_ok() {
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // Whatever is left: the whole process group (chromedriver was made its leader,
        // the browsers inherit it), then chromedriver itself.
        let pid = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Browser {
    /// Starts chromedriver and waits until it is ready. `None`, with a note on stderr,
    /// when chromedriver or Chromium is not installed, unless `PATROL_REQUIRE_BROWSER=1`:
    /// then it panics. Panics as well when an installed chromedriver does not start.
    pub async fn start() -> Option<Browser> {
        let driver = env_path("CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = env_path("CHROMIUM", "/usr/bin/chromium");
        for (what, path, var) in [
            ("chromedriver", &driver, "CHROMEDRIVER"),
            ("Chromium", &chromium, "CHROMIUM"),
        ] {
            if !path.is_file() {
                let why = format!(
                    "{what} not found at {} (set {var}, or install the Debian packages \
                     chromium and chromium-driver)",
                    path.display()
                );
                assert!(!required(), "PATROL_REQUIRE_BROWSER=1 but {why}");
                eprintln!("note: browser test skipped: {why}");
                return None;
            }
        }

        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .expect("HTTP client for chromedriver's /status");
        // The port is free when asked but not held, so another process may take it before
        // chromedriver binds it: then chromedriver exits, and a new port is tried.
        let mut failures = Vec::new();
        for _ in 0..3 {
            let dir = TempDir::new("chromedriver");
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free localhost port")
                .port();
            let log = dir.0.join("chromedriver.log");
            let out = std::fs::File::create(dir.0.join("chromedriver.out"))
                .expect("chromedriver's output file");
            let err = out.try_clone().expect("chromedriver's output file");
            let child = Command::new(&driver)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(out)
                .stderr(err)
                // Its own process group, which Drop kills whole.
                .process_group(0)
                .spawn()
                .unwrap_or_else(|e| panic!("start {}: {e}", driver.display()));
            let mut browser = Browser {
                child,
                url: format!("http://127.0.0.1:{port}"),
                chromium: chromium.clone(),
                sessions: AtomicUsize::new(0),
                dir,
            };
            match browser.wait_ready(&http).await {
                Ok(()) => return Some(browser),
                Err(why) => failures.push(why),
            }
        }
        panic!(
            "chromedriver ({}) did not start:\n{}",
            driver.display(),
            failures.join("\n---\n")
        );
    }

    /// `GET /shutdown`, over a plain blocking socket: Drop cannot await.
    fn shutdown(&self) -> std::io::Result<()> {
        let addr = self.url.trim_start_matches("http://");
        let mut stream = std::net::TcpStream::connect(addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(2)))?;
        stream.set_write_timeout(Some(Duration::from_secs(2)))?;
        write!(
            stream,
            "GET /shutdown HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
        )?;
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        Ok(())
    }

    /// Polls `/status` until it says ready. `Err` (with chromedriver's output) if it exits
    /// first; panics if it neither exits nor gets ready within [`DRIVER_START`].
    async fn wait_ready(&mut self, http: &reqwest::Client) -> Result<(), String> {
        let deadline = Instant::now() + DRIVER_START;
        let mut pause = Duration::from_millis(10);
        loop {
            if let Ok(r) = http.get(format!("{}/status", self.url)).send().await
                && let Ok(status) = r.json::<Value>().await
                && status["value"]["ready"] == true
            {
                return Ok(());
            }
            if let Ok(Some(exit)) = self.child.try_wait() {
                return Err(format!("chromedriver exited ({exit}):\n{}", self.log()));
            }
            assert!(
                Instant::now() < deadline,
                "chromedriver not ready on {} within {DRIVER_START:?}:\n{}",
                self.url,
                self.log()
            );
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(200));
        }
    }

    /// The WebDriver URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Chromedriver's output and the tail of its log, for failure messages.
    pub fn log(&self) -> String {
        let out = std::fs::read_to_string(self.dir.0.join("chromedriver.out")).unwrap_or_default();
        let log = std::fs::read_to_string(self.dir.0.join("chromedriver.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        format!("{out}\n[chromedriver.log, last lines]\n{}", tail.join("\n"))
    }

    /// A new session in a desktop-sized ([`DESKTOP`]) headless Chromium window, with a
    /// fresh profile and Chinese as the UI and the accepted language. (Headless Chromium
    /// draws a window frame: the viewport of the 1280×900 window is 1280×757.)
    pub async fn page(&self) -> Client {
        self.session(DESKTOP, None).await
    }

    /// A new session on an emulated phone ([`PHONE`]), as [`Browser::page_sized`].
    pub async fn phone(&self) -> Client {
        self.page_sized(PHONE.0, PHONE.1).await
    }

    /// A new session on an emulated touch device whose viewport is exactly `width`×`height`
    /// CSS pixels at a pixel ratio of 1: a mobile viewport, so a page without `<meta
    /// name="viewport">` is laid out 980 px wide and zoomed out, as on a phone. (A window
    /// alone cannot do this: Chromium keeps windows at least 500 px wide.) The user agent
    /// stays the desktop one.
    pub async fn page_sized(&self, width: u32, height: u32) -> Client {
        let metrics = json!({
            "deviceMetrics": {
                "width": width, "height": height, "pixelRatio": 1, "mobile": true, "touch": true,
            },
        });
        self.session((width, height), Some(metrics)).await
    }

    async fn session(&self, (width, height): (u32, u32), emulation: Option<Value>) -> Client {
        let n = self.sessions.fetch_add(1, Ordering::Relaxed);
        let profile = self.dir.0.join(format!("profile-{n}"));
        let mut options = json!({
            "binary": self.chromium,
            "args": [
                "--headless=new",
                // Chromium's sandbox refuses to run as root, as CI and containers do.
                "--no-sandbox",
                "--disable-gpu",
                // /dev/shm is small in containers; Chromium crashes when it fills.
                "--disable-dev-shm-usage",
                format!("--window-size={width},{height}"),
                "--lang=zh-CN",
                format!("--user-data-dir={}", profile.display()),
            ],
            // --lang sets the UI language; this sets navigator.languages and the
            // Accept-Language header.
            "prefs": {"intl": {"accept_languages": "zh-CN,zh"}},
        });
        if let Some(emulation) = emulation {
            options["mobileEmulation"] = emulation;
        }
        let capabilities = json!({
            "browserName": "chrome",
            "timeouts": {"implicit": 0, "pageLoad": 30_000, "script": 30_000},
            "goog:chromeOptions": options,
        });
        let Value::Object(capabilities) = capabilities else {
            unreachable!("a JSON object literal")
        };
        ClientBuilder::new(HttpConnector::new())
            .capabilities(capabilities)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "new Chromium session on {} ({}): {e}\n{}",
                    self.url,
                    self.chromium.display(),
                    self.log()
                )
            })
    }
}

/// A Chrome DevTools Protocol command, through chromedriver's `goog/cdp/execute`.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        let session = session_id.unwrap_or_default();
        base_url.join(&format!("session/{session}/goog/cdp/execute"))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({"cmd": self.cmd, "params": self.params});
        (http::Method::POST, Some(body.to_string()))
    }
}

/// Runs the DevTools command `cmd` on the page and returns its result.
pub async fn cdp(client: &Client, cmd: &'static str, params: Value) -> Value {
    client
        .issue_cmd(Cdp { cmd, params })
        .await
        .unwrap_or_else(|e| panic!("DevTools {cmd}: {e}"))
}

/// Saves a PNG of the whole page (cut at 8,000 CSS px) to
/// `target/screenshots/<name>.png` under the workspace, and returns its path.
///
/// DevTools' `captureBeyondViewport`, as Puppeteer's full-page screenshots: neither the
/// window nor an emulated phone's viewport has to grow, so the page is not laid out anew.
pub async fn screenshot(client: &Client, name: &str) -> PathBuf {
    let path = workspace_root()
        .join("target/screenshots")
        .join(format!("{name}.png"));
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("create {}: {e}", dir.display()));
    }
    let metrics = cdp(client, "Page.getLayoutMetrics", json!({})).await;
    let size = &metrics["cssContentSize"];
    let (Some(width), Some(height)) = (size["width"].as_f64(), size["height"].as_f64()) else {
        panic!("no content size in {metrics}");
    };
    let shot = cdp(
        client,
        "Page.captureScreenshot",
        json!({
            "format": "png",
            "captureBeyondViewport": true,
            "clip": {
                "x": 0, "y": 0, "scale": 1,
                "width": width.max(1.0),
                "height": height.clamp(1.0, MAX_SCREENSHOT_HEIGHT),
            },
        }),
    )
    .await;
    let Some(data) = shot["data"].as_str() else {
        panic!("no image in the screenshot's answer");
    };
    let png = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, data)
        .expect("the screenshot is base64");
    std::fs::write(&path, png).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
    path
}

/// Where `npm ci --prefix tests/browser` puts axe-core.
pub fn axe_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/node_modules/axe-core/axe.min.js")
}

/// Runs axe-core on the current page and returns its serious and critical violations, one
/// line each: `"<id> (<impact>): <help> — <targets of the first 3 nodes>"`. Empty, with a
/// note on stderr, when axe-core is not installed (a panic with `PATROL_REQUIRE_BROWSER=1`).
///
/// axe-core is injected through WebDriver, which the page's Content-Security-Policy does
/// not govern, so pages are checked with their real `script-src 'self'`.
pub async fn axe_violations(client: &Client) -> Vec<String> {
    let path = axe_path();
    let injected = client
        .execute("return typeof window.axe === 'object';", vec![])
        .await
        .expect("look for axe on the page");
    if injected != true {
        let source = match std::fs::read_to_string(&path) {
            Ok(source) => source,
            Err(e) => {
                let why = format!(
                    "axe-core not readable at {} ({e}); run `npm ci --prefix tests/browser`",
                    path.display()
                );
                assert!(!required(), "PATROL_REQUIRE_BROWSER=1 but {why}");
                eprintln!("note: accessibility check skipped: {why}");
                return Vec::new();
            }
        };
        let loaded = client
            .execute(
                &format!("{source}\n;return typeof window.axe === 'object';"),
                vec![],
            )
            .await
            .expect("inject axe-core");
        assert_eq!(loaded, true, "axe-core did not define window.axe");
    }

    let run = r#"
        const done = arguments[arguments.length - 1];
        const target = t => Array.isArray(t) ? t.join(" >>> ") : String(t);
        axe.run(document, { resultTypes: ["violations"] }).then(
            r => done({ violations: r.violations.map(v => ({
                id: v.id,
                impact: v.impact,
                help: v.help,
                targets: v.nodes.slice(0, 3).map(n => n.target.map(target).join(" ")),
            })) }),
            e => done({ error: String((e && e.stack) || e) }),
        );"#;
    let result = client
        .execute_async(run, vec![])
        .await
        .expect("run axe-core");
    if let Some(error) = result.get("error") {
        panic!("axe.run failed: {error}");
    }
    let Some(violations) = result["violations"].as_array() else {
        panic!("axe.run gave no violations list: {result}");
    };
    violations
        .iter()
        .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
        .map(|v| {
            let targets: Vec<&str> = v["targets"]
                .as_array()
                .map(|t| t.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            format!(
                "{} ({}): {} — {}",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("?"),
                targets.join(", ")
            )
        })
        .collect()
}

/// Waits up to [`WAIT`] for an element matching the CSS `selector`; panics (with the
/// page's URL) if none appears.
pub async fn wait_for_css(client: &Client, selector: &str) -> Element {
    match client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(selector))
        .await
    {
        Ok(element) => element,
        Err(e) => {
            let url = client.current_url().await.map(|u| u.to_string());
            panic!("no `{selector}` within {WAIT:?} on {url:?}: {e}")
        }
    }
}

/// The rendered text of the first element matching `selector` (waiting for it as
/// [`wait_for_css`] does).
pub async fn text_of(client: &Client, selector: &str) -> String {
    wait_for_css(client, selector)
        .await
        .text()
        .await
        .unwrap_or_else(|e| panic!("text of `{selector}`: {e}"))
}
