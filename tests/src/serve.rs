//! The real `patrol serve` as a child process on a test database, for the scenarios and
//! benchmarks that must see the binary itself (its output, its memory).

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::{TEST_SECRET, TestDb};

/// A running `serve`, killed when dropped. Its stdout and stderr go to `out` and `log`.
pub struct ServeProcess {
    pub child: Child,
    pub base: String,
    pub out: std::path::PathBuf,
    pub log: std::path::PathBuf,
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl ServeProcess {
    /// Starts `bin serve` (with `--demo` if asked) on a free port over `db`, with the
    /// test secret, photos in the database's directory and `env` on top.
    pub fn start(bin: &str, db: &TestDb, demo: bool, env: &[(&str, &str)]) -> ServeProcess {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let out = db.dir().join(format!("serve-{port}.out"));
        let log = db.dir().join(format!("serve-{port}.log"));
        let mut cmd = Command::new(bin);
        cmd.arg("serve")
            .args(demo.then_some("--demo"))
            .arg("--bind")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--database-url")
            .arg(db.url())
            .env_remove("DATABASE_URL")
            .env_remove("PATROL_BIND")
            .env_remove("PATROL_SMS_SENDER")
            .env_remove("PATROL_SMS_URL")
            .env("PATROL_JWT_SECRET", TEST_SECRET)
            .env("PATROL_BLOB_DIR", db.dir().join("blobs"))
            .envs(env.iter().copied())
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&log).unwrap())
            .stdin(Stdio::null());
        ServeProcess {
            child: cmd.spawn().expect("start patrol serve"),
            base: format!("http://127.0.0.1:{port}"),
            out,
            log,
        }
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until `/readyz` answers 200; fails with the log if the server exits or
    /// `within` passes first.
    pub async fn wait_ready(&mut self, client: &reqwest::Client, within: Duration) {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(r) = client.get(format!("{}/readyz", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            let exited = self.child.try_wait().ok().flatten();
            assert!(
                Instant::now() < deadline && exited.is_none(),
                "serve did not become ready ({exited:?}); its log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
