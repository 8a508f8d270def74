//! Black-box test support: spawn the real server on port 0 over a fresh database (SQLite
//! file, or a new PostgreSQL database when `TEST_DATABASE_URL` is set), talk to it over
//! HTTP, and check every response against `openapi.yaml`.

// Test support panics on purpose: a failed set-up step must fail the test loudly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod browser;
pub mod bulk;
pub mod contract;
pub mod device;
pub mod fixture;
pub mod rng;
pub mod serve;
pub mod stores;

use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use patrol_api::Application;
use patrol_api::db::DatabaseUrl;
use patrol_api::infra::config::{Config, RateLimits};
use patrol_api::infra::otp::MemorySender;
use reqwest::Method;
use serde_json::Value;

pub use contract::Contract;

/// Which backend a scenario runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database made for one test and removed after it.
pub enum TestDb {
    Sqlite {
        dir: TempDir,
        url: String,
    },
    Postgres {
        admin_url: String,
        name: String,
        url: String,
        dir: TempDir,
    },
}

/// A directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl TempDir {
    /// A new, empty directory under [`scratch_root`], named `{prefix}-{uuid}`.
    pub fn new(prefix: &str) -> TempDir {
        let dir = scratch_root().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("scratch dir");
        TempDir(dir)
    }
}

/// Where tests keep SQLite files, photos and phones' files: `PATROL_TEST_TMPDIR` if set,
/// else `/dev/shm` where it exists (memory: a commit's fsync costs nothing there, and
/// SQLite scenarios ran ~40% faster than on a disk-backed `/tmp`), else the system's
/// temporary directory. Durability across power loss is not what these tests check.
pub fn scratch_root() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("PATROL_TEST_TMPDIR") {
        return dir.into();
    }
    let shm = std::path::Path::new("/dev/shm");
    if shm.is_dir() && std::fs::metadata(shm).is_ok_and(|m| !m.permissions().readonly()) {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestDb {
    /// A fresh database on `backend`, or `None` for PostgreSQL without `TEST_DATABASE_URL`.
    pub fn create(backend: Backend) -> Option<TestDb> {
        match backend {
            Backend::Sqlite => {
                let dir = TempDir::new("patrol-test");
                let url = format!("sqlite://{}", dir.0.join("patrol.db").display());
                Some(TestDb::Sqlite { dir, url })
            }
            Backend::Postgres => {
                let admin_url = std::env::var("TEST_DATABASE_URL").ok()?;
                let dir = TempDir::new("patrol-test");
                let name = format!("patrol_test_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin_url)
                    .unwrap_or_else(|e| panic!("TEST_DATABASE_URL {admin_url}: {e}"));
                conn.batch_execute(&format!("CREATE DATABASE {name}"))
                    .expect("create test database");
                let base = admin_url
                    .rsplit_once('/')
                    .map(|(b, _)| b)
                    .unwrap_or(&admin_url);
                let url = format!("{base}/{name}");
                Some(TestDb::Postgres {
                    admin_url,
                    name,
                    url,
                    dir,
                })
            }
        }
    }

    pub fn url(&self) -> &str {
        match self {
            TestDb::Sqlite { url, .. } | TestDb::Postgres { url, .. } => url,
        }
    }

    /// A scratch directory that lives as long as the database (photo bytes go here).
    pub fn dir(&self) -> &std::path::Path {
        match self {
            TestDb::Sqlite { dir, .. } | TestDb::Postgres { dir, .. } => &dir.0,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres {
            admin_url, name, ..
        } = self
            && let Ok(mut conn) = PgConnection::establish(admin_url)
        {
            let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }
}

/// The JWT secret every test server signs with (tests forge tokens with it).
pub const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

/// The token test servers require of a metrics scraper.
pub const TEST_METRICS_TOKEN: &str = "test-metrics-token-0123456789";

/// A running server and a client that checks every answer against the contract.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub codes: Arc<MemorySender>,
    pub contract: Arc<Contract>,
    pub backend: Backend,
    pub db: Arc<TestDb>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Test configuration: fast, generous limits unless a test tightens them.
pub fn test_config(db: &TestDb) -> Config {
    let mut cfg = Config::new(
        DatabaseUrl::parse(db.url()).expect("test url"),
        TEST_SECRET.as_bytes().to_vec(),
    );
    // Never the working directory (PostgreSQL's default): each database has its own.
    cfg.blob_dir = db.dir().join("blobs");
    cfg.bind = "127.0.0.1:0".into();
    cfg.pool_size = 4;
    cfg.run_jobs = false;
    cfg.metrics_token = Some(TEST_METRICS_TOKEN.to_owned());
    cfg.ledger_key = Some(b"test-ledger-key-test-ledger-key-0123456789".to_vec());
    cfg.limits = RateLimits {
        login_per_account: 20,
        login_per_address: 200,
        register_per_phone_per_hour: 10,
        register_per_address_per_hour: 50,
        concurrent_hashes: 2,
        ..RateLimits::default()
    };
    cfg
}

impl TestApp {
    /// Spawns a server on a fresh database; `None` when the backend is not configured.
    pub async fn spawn(backend: Backend) -> Option<TestApp> {
        Self::spawn_with(backend, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with a chance to adjust the configuration.
    pub async fn spawn_with(backend: Backend, tweak: impl FnOnce(&mut Config)) -> Option<TestApp> {
        let db = Arc::new(TestDb::create(backend)?);
        let mut cfg = test_config(&db);
        tweak(&mut cfg);
        Some(Self::start_on(db, cfg, backend).await)
    }

    /// Starts another server on an existing database.
    pub async fn start_on(db: Arc<TestDb>, cfg: Config, backend: Backend) -> TestApp {
        Self::start_with_store(db, cfg, backend, None).await
    }

    /// Starts a server whose photo store is `store` (e.g. one that fills up).
    pub async fn start_with_store(
        db: Arc<TestDb>,
        cfg: Config,
        backend: Backend,
        store: Option<Arc<dyn patrol_api::infra::blobs::BlobStore>>,
    ) -> TestApp {
        let codes = Arc::new(MemorySender::default());
        Self::start_with_sender(db, cfg, backend, codes.clone(), codes, store).await
    }

    /// Spawns a server on a fresh database whose one-time codes go through `sender`
    /// (`codes` then stays empty); `None` when the backend is not configured.
    pub async fn spawn_with_sender(
        backend: Backend,
        sender: Arc<dyn patrol_api::infra::otp::CodeSender>,
    ) -> Option<TestApp> {
        let db = Arc::new(TestDb::create(backend)?);
        let cfg = test_config(&db);
        let codes = Arc::new(MemorySender::default());
        Some(Self::start_with_sender(db, cfg, backend, codes, sender, None).await)
    }

    async fn start_with_sender(
        db: Arc<TestDb>,
        cfg: Config,
        backend: Backend,
        codes: Arc<MemorySender>,
        sender: Arc<dyn patrol_api::infra::otp::CodeSender>,
        store: Option<Arc<dyn patrol_api::infra::blobs::BlobStore>>,
    ) -> TestApp {
        let app =
            tokio::task::spawn_blocking(move || Application::build_with_store(cfg, sender, store))
                .await
                .expect("build task")
                .expect("server builds");
        let base = format!("http://127.0.0.1:{}", app.port());
        let server = tokio::spawn(app.run());
        TestApp {
            base,
            // Redirects are answers the contract documents: the client sees them.
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            codes,
            contract: Contract::shared(),
            backend,
            db,
            server,
        }
    }

    /// Runs SQL straight on this app's database: for fixtures that need the past (an
    /// assignment made long ago, an entry written days ago) or a restore.
    pub async fn sql(&self, statement: impl Into<String>) {
        let (url, statement) = (self.db.url().to_owned(), statement.into());
        tokio::task::spawn_blocking(move || {
            let pool =
                patrol_api::db::connect(&DatabaseUrl::parse(&url).expect("url"), 1).expect("pool");
            pool.get()
                .expect("conn")
                .batch_execute(&statement)
                .expect("fixture SQL");
        })
        .await
        .expect("sql task");
    }

    /// Runs `f` with a connection to this app's database, for what no route does (a
    /// maintenance job run on demand).
    pub async fn with_conn<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut patrol_api::db::DbConn) -> T + Send + 'static,
    ) -> T {
        let url = self.db.url().to_owned();
        tokio::task::spawn_blocking(move || {
            let pool =
                patrol_api::db::connect(&DatabaseUrl::parse(&url).expect("url"), 1).expect("pool");
            let mut conn = pool.get().expect("conn");
            f(&mut conn)
        })
        .await
        .expect("db task")
    }

    /// Starts a request; `send` checks the answer against the contract.
    pub fn req(&self, method: Method, path: &str) -> Req<'_> {
        Req {
            app: self,
            method,
            path: path.to_owned(),
            token: None,
            body: None,
            raw: None,
            headers: Vec::new(),
        }
    }

    pub fn get(&self, path: &str) -> Req<'_> {
        self.req(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Req<'_> {
        self.req(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> Req<'_> {
        self.req(Method::PUT, path)
    }

    /// Signs in and returns the access token.
    pub async fn login(&self, login: &str, password: &str) -> String {
        let res = self
            .post("/api/v1/auth/login")
            .json(serde_json::json!({ "login": login, "password": password }))
            .send()
            .await;
        assert_eq!(res.status, 200, "login {login}: {}", res.body);
        res.body["access_token"]
            .as_str()
            .expect("access_token")
            .to_owned()
    }
}

/// A request under construction.
pub struct Req<'a> {
    app: &'a TestApp,
    method: Method,
    path: String,
    token: Option<String>,
    body: Option<Value>,
    raw: Option<(String, Vec<u8>)>,
    headers: Vec<(String, String)>,
}

/// An answer, already checked against the contract.
#[derive(Debug)]
pub struct Res {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
    pub text: String,
}

impl Res {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl<'a> Req<'a> {
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }

    /// A body sent as-is with a content type (malformed JSON, oversize bodies).
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        self.raw = Some((content_type.to_owned(), body.into()));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Sends the request and validates the answer against `openapi.yaml`.
    pub async fn send(self) -> Res {
        let url = format!("{}{}", self.app.base, self.path);
        let mut rb = self.app.client.request(self.method.clone(), &url);
        if let Some(t) = &self.token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = &self.body {
            rb = rb.json(b);
        }
        if let Some((ct, bytes)) = self.raw {
            rb = rb.header("content-type", ct).body(bytes);
        }
        for (k, v) in &self.headers {
            rb = rb.header(k.as_str(), v.as_str());
        }
        let resp = rb
            .send()
            .await
            .unwrap_or_else(|e| panic!("{} {}: {e}", self.method, self.path));
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let content_type = headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = if content_type.contains("json") && !text.is_empty() {
            serde_json::from_str(&text).unwrap_or_else(|e| {
                panic!("{} {}: invalid JSON {e}: {text}", self.method, self.path)
            })
        } else {
            Value::Null
        };
        // The API refuses with problem documents; the console's pages refuse as pages.
        if status >= 400 && !self.path.starts_with("/console/") {
            assert_eq!(
                content_type, "application/problem+json",
                "{} {} answered {status} without a problem document: {text}",
                self.method, self.path
            );
        }
        if let Err(e) = self.app.contract.check(
            self.method.as_str(),
            &self.path,
            status,
            &content_type,
            &body,
        ) {
            panic!("contract violation: {e}");
        }
        Res {
            status,
            headers,
            body,
            text,
        }
    }
}

/// A console session opened over HTTP as a browser opens one: the session cookie and
/// the CSRF token its pages' forms carry.
pub struct ConsoleSession {
    /// `patrol_console=…`, for a `cookie` header.
    pub cookie: String,
    pub csrf: String,
}

/// The sign-in form as served: its double-submit cookie pair (`patrol_console_form=…`),
/// the token the form carries, and the whole `set-cookie` line.
pub struct ConsoleForm {
    pub cookie: String,
    pub token: String,
    pub set_cookie: String,
}

fn set_cookie(res: &Res, name: &str) -> String {
    res.headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with(&format!("{name}=")))
        .unwrap_or_else(|| panic!("no {name} cookie set: {:?}", res.headers))
        .to_owned()
}

impl TestApp {
    /// Fetches the console's sign-in form (`https`: as if behind a TLS proxy).
    pub async fn console_form(&self, https: bool) -> ConsoleForm {
        let mut req = self.get("/console/sign-in");
        if https {
            req = req.header("x-forwarded-proto", "https");
        }
        let res = req.send().await;
        assert_eq!(res.status, 200, "{}", res.text);
        let set_cookie = set_cookie(&res, "patrol_console_form");
        let cookie = set_cookie.split(';').next().unwrap_or_default().to_owned();
        let token = cookie.trim_start_matches("patrol_console_form=").to_owned();
        ConsoleForm {
            cookie,
            token,
            set_cookie,
        }
    }

    /// Signs in to the console and reads the CSRF token from the page it lands on.
    pub async fn console_sign_in(&self, login: &str, password: &str) -> ConsoleSession {
        let form = self.console_form(false).await;
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("login", login)
            .append_pair("password", password)
            .append_pair("csrf", &form.token)
            .finish();
        let res = self
            .post("/console/sign-in")
            .header("cookie", &form.cookie)
            .raw("application/x-www-form-urlencoded", body)
            .send()
            .await;
        assert_eq!(res.status, 303, "console sign-in: {}", res.text);
        let cookie = set_cookie(&res, "patrol_console")
            .split(';')
            .next()
            .unwrap_or_default()
            .to_owned();
        let page = self
            .get("/console/today")
            .header("cookie", &cookie)
            .send()
            .await;
        assert_eq!(page.status, 200, "{}", page.text);
        let marker = "name=\"csrf\" value=\"";
        let at = page
            .text
            .find(marker)
            .expect("the page carries a CSRF token")
            + marker.len();
        let csrf = page.text[at..]
            .split('"')
            .next()
            .unwrap_or_default()
            .to_owned();
        ConsoleSession { cookie, csrf }
    }
}

/// Writes one scenario as a test on each backend. The PostgreSQL variant runs when
/// `TEST_DATABASE_URL` is set (CI sets it) and says so when it is not.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::TestApp::spawn($crate::Backend::Sqlite).await.expect("sqlite");
                    super::$name(app).await;
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    match $crate::TestApp::spawn($crate::Backend::Postgres).await {
                        Some(app) => super::$name(app).await,
                        None => eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run"),
                    }
                }
            }
        )*
    };
}
