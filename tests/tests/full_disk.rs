//! A full disk under the database (issue 16, item 10): writes answer 507 with
//! `Retry-After` (never 500) and leave nothing half-written, reads go on, `/readyz` says
//! not ready, and once space is freed the same writes succeed and the server is ready
//! again.
//!
//! The disk is real: `TEST_FULL_DISK_DIR` names a directory holding two small, otherwise
//! unused filesystems, `sqlite/` and `postgres/` (`.ci/run` mounts them as tmpfs). The
//! SQLite file lives on the first; on the second a PostgreSQL tablespace holds the test
//! database. A filler file then takes every free byte.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use patrol_tests::{Backend, TempDir, TestApp, TestDb, test_config};
use serde_json::json;

/// The filesystem prepared for `backend`, if the run has them.
fn small_disk(backend: Backend) -> Option<PathBuf> {
    let root = PathBuf::from(std::env::var_os("TEST_FULL_DISK_DIR")?);
    let dir = root.join(match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    });
    assert!(dir.is_dir(), "TEST_FULL_DISK_DIR has no {}", dir.display());
    Some(dir)
}

/// Takes every free byte of the filesystem holding `dir`; dropping it frees them.
struct Filler(PathBuf);

impl Filler {
    fn fill(dir: &Path) -> Filler {
        let path = dir.join("filler");
        let mut file = std::fs::File::create(&path).unwrap();
        for size in [1 << 20, 4096, 512, 1] {
            let chunk = vec![0u8; size];
            while file.write_all(&chunk).and_then(|()| file.flush()).is_ok() {}
        }
        Filler(path)
    }
}

impl Drop for Filler {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A tablespace on the small disk, dropped after the database that uses it.
struct Tablespace {
    admin_url: String,
    name: String,
    location: PathBuf,
}

impl Drop for Tablespace {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!("DROP TABLESPACE IF EXISTS {}", self.name));
        }
        let _ = std::fs::remove_dir_all(&self.location);
    }
}

/// A fresh database on the small disk of `backend`.
fn database_on(backend: Backend, disk: &Path) -> Option<(Option<Tablespace>, TestDb)> {
    let id = uuid::Uuid::new_v4().simple().to_string();
    match backend {
        Backend::Sqlite => {
            let dir = TempDir(disk.join(format!("db-{id}")));
            std::fs::create_dir_all(&dir.0).unwrap();
            let url = format!("sqlite://{}", dir.0.join("patrol.db").display());
            Some((None, TestDb::Sqlite { dir, url }))
        }
        Backend::Postgres => {
            let admin_url = std::env::var("TEST_DATABASE_URL").ok()?;
            // PostgreSQL's own user must own the tablespace's (new, empty) directory.
            let location = disk.join(format!("ts-{id}"));
            std::fs::create_dir(&location).unwrap();
            let chowned = std::process::Command::new("chown")
                .arg("postgres:postgres")
                .arg(&location)
                .status()
                .unwrap();
            assert!(chowned.success(), "chown the tablespace directory");
            let mut conn = PgConnection::establish(&admin_url).unwrap();
            let space = Tablespace {
                admin_url: admin_url.clone(),
                name: format!("patrol_full_{id}"),
                location: location.clone(),
            };
            let name = format!("patrol_test_{id}");
            conn.batch_execute(&format!(
                "CREATE TABLESPACE {} LOCATION '{}'",
                space.name,
                location.display()
            ))
            .unwrap();
            conn.batch_execute(&format!("CREATE DATABASE {name} TABLESPACE {}", space.name))
                .unwrap();
            let base = admin_url
                .rsplit_once('/')
                .map(|(b, _)| b)
                .unwrap()
                .to_owned();
            let db = TestDb::Postgres {
                url: format!("{base}/{name}"),
                admin_url,
                name,
                dir: TempDir::new("patrol-full-disk"),
            };
            Some((Some(space), db))
        }
    }
}

fn entry(n: usize) -> serde_json::Value {
    json!({
        "entry_id": uuid::Uuid::now_v7().to_string(),
        "entry_date": chrono::Utc::now().date_naive().to_string(),
        "shift": "day",
        "body": format!("第{n}次巡查：{}", "楼道杂物清理，消防通道畅通。".repeat(40)),
    })
}

async fn a_full_disk_refuses_writes_cleanly_and_recovers(backend: Backend) {
    let Some(disk) = small_disk(backend) else {
        eprintln!("TEST_FULL_DISK_DIR not set: full-disk scenario not run");
        return;
    };
    let Some((_space, db)) = database_on(backend, &disk) else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    let db = Arc::new(db);
    let mut cfg = test_config(&db);
    // Photos on the small disk too, so readiness watches it on both backends.
    cfg.blob_dir = disk.join(format!("blobs-{}", uuid::Uuid::new_v4().simple()));
    cfg.min_free_bytes = 256 * 1024;
    let app = TestApp::start_on(db.clone(), cfg, backend).await;
    app.seed_fixture().await;
    let officer = app.login_as("officer").await;
    assert_eq!(app.get("/readyz").send().await.status, 200);

    let filler = Filler::fill(&disk);
    let res = app.get("/readyz").send().await;
    assert_eq!(
        res.status, 503,
        "readiness sees the full disk: {}",
        res.text
    );
    assert!(res.text.contains("bytes are free"), "{}", res.text);

    // Writes fail as a full disk, not as a server error; what was taken stays.
    let mut taken = 0;
    let refused = loop {
        let res = app
            .post("/api/v1/diary")
            .token(&officer)
            .json(entry(taken))
            .send()
            .await;
        match res.status {
            200 => taken += 1,
            507 => break res,
            other => panic!("a write on a full disk answered {other}: {}", res.text),
        }
        assert!(taken < 5_000, "the disk never filled");
    };
    assert_eq!(refused.header("retry-after"), Some("60"));
    assert!(
        refused.text.contains("nothing was written"),
        "{}",
        refused.text
    );
    // Signing in writes a session: refused the same way where it needs new space
    // (PostgreSQL may still find room in the sessions table's pages). Reads go on.
    let res = app
        .post("/api/v1/auth/login")
        .json(json!({"login": patrol_tests::fixture::OFFICER, "password": patrol_tests::fixture::PASSWORD}))
        .send()
        .await;
    let expected: &[u16] = match backend {
        Backend::Sqlite => &[507],
        Backend::Postgres => &[200, 507],
    };
    assert!(expected.contains(&res.status), "sign-in: {}", res.text);
    assert_eq!(
        app.get("/api/v1/me").token(&officer).send().await.status,
        200
    );

    drop(filler);
    let res = app.get("/readyz").send().await;
    assert_eq!(res.status, 200, "ready once space is freed: {}", res.text);
    let res = app
        .post("/api/v1/diary")
        .token(&officer)
        .json(entry(taken))
        .send()
        .await;
    assert_eq!(res.status, 200, "{}", res.text);
    taken += 1;
    let leader = app.login_as("supervisor").await;
    let listed = crate::audit::all_pages(&app, &leader, "/api/v1/diary", 100).await;
    assert_eq!(listed.len(), taken, "every answered write, and no other");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_cleanly_and_recovers_sqlite() {
    a_full_disk_refuses_writes_cleanly_and_recovers(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_cleanly_and_recovers_postgres() {
    a_full_disk_refuses_writes_cleanly_and_recovers(Backend::Postgres).await;
}
