//! A newcomer's first hour, checked: `serve --demo` (the real binary) answers every
//! example request of README.md as the README says, the one-time code it logs reads
//! plainly, and a server without a code sender refuses registration without logging a
//! code. The README's blocks marked `<!-- readme-walk -->` are read from the file and
//! run: `curl` lines, and `NAME=$(curl ... | jq -r .FIELD)` lines whose value later
//! lines use as `$NAME`.

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use patrol_tests::serve::ServeProcess;
use patrol_tests::{Backend, TestDb};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_patrol-test-server");

/// What the walked server runs with beyond the defaults.
const SERVE_ENV: &[(&str, &str)] = &[("PATROL_JOBS", "off"), ("RUST_LOG", "info")];

/// The README's walked blocks, each as its logical lines (continuations joined).
fn walked_blocks() -> Vec<Vec<String>> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let mut blocks = Vec::new();
    let mut rest = readme.as_str();
    while let Some(at) = rest.find("<!-- readme-walk -->") {
        rest = &rest[at..];
        let start = rest.find("```sh\n").expect("a sh block after the marker") + 6;
        let end = rest[start..].find("```").expect("the block ends") + start;
        let body = rest[start..end].replace("\\\n", " ");
        blocks.push(
            body.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_owned)
                .collect(),
        );
        rest = &rest[end..];
    }
    blocks
}

/// Splits a command line as a POSIX shell would for the quoting the README uses: single
/// quotes keep everything, double quotes expand `$NAME`, bare words expand `$NAME`.
fn words(line: &str, vars: &HashMap<String, String>) -> Vec<String> {
    let expand = |s: &str| {
        let mut out = s.to_owned();
        for (k, v) in vars {
            out = out.replace(&format!("${k}"), v);
        }
        out
    };
    let (mut out, mut cur, mut chars) = (Vec::new(), None::<String>, line.chars().peekable());
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    w.push(c);
                }
            }
            '"' => {
                let mut quoted = String::new();
                for c in chars.by_ref() {
                    if c == '"' {
                        break;
                    }
                    quoted.push(c);
                }
                cur.get_or_insert_with(String::new)
                    .push_str(&expand(&quoted));
            }
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    out.push(w);
                }
            }
            c => {
                let mut bare = c.to_string();
                while let Some(&n) = chars.peek() {
                    if n.is_whitespace() || n == '\'' || n == '"' {
                        break;
                    }
                    bare.push(n);
                    chars.next();
                }
                cur.get_or_insert_with(String::new).push_str(&expand(&bare));
            }
        }
    }
    out.extend(cur);
    out
}

/// Runs one `curl` (the options the README uses: -s, -X, -H, -d) against `base`.
async fn curl(client: &reqwest::Client, base: &str, args: &[String]) -> (u16, String) {
    assert_eq!(args.first().map(String::as_str), Some("curl"), "{args:?}");
    let (mut method, mut url, mut headers, mut body) = (None, None, Vec::new(), None);
    let mut it = args[1..].iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-s" => {}
            "-X" => method = it.next().cloned(),
            "-H" => headers.push(it.next().cloned().expect("-H value")),
            "-d" => body = it.next().cloned(),
            u if u.starts_with("localhost:8080") => {
                url = Some(u.replacen("localhost:8080", base, 1));
            }
            other => panic!("the README uses a curl option this walk does not know: {other}"),
        }
    }
    let method = method.unwrap_or_else(|| if body.is_some() { "POST" } else { "GET" }.into());
    let mut req = client.request(method.parse().unwrap(), url.expect("a URL"));
    for h in headers {
        let (k, v) = h.split_once(':').expect("header: value");
        req = req.header(k.trim(), v.trim());
    }
    if let Some(b) = body {
        req = req.body(b);
    }
    let res = req.send().await.expect("request");
    (res.status().as_u16(), res.text().await.unwrap_or_default())
}

/// The password `serve --demo` printed for `login`.
fn password_in(printed: &str, login: &str) -> String {
    printed
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some(login))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("{login} not printed:\n{printed}"))
        .to_owned()
}

async fn walk(backend: Backend) {
    let Some(db) = TestDb::create(backend) else {
        eprintln!("TEST_DATABASE_URL not set: PostgreSQL variant not run");
        return;
    };
    let client = reqwest::Client::new();
    let mut server = ServeProcess::start(BIN, &db, true, SERVE_ENV);
    server.wait_ready(&client, Duration::from_secs(120)).await;
    let printed = std::fs::read_to_string(&server.out).unwrap();
    let blocks = walked_blocks();
    assert!(blocks.len() >= 3, "the README's walked blocks: {blocks:?}");
    let mut vars = HashMap::new();
    let mut requests = 0;
    for line in blocks.iter().flatten() {
        let mut line = line.clone();
        while let Some(at) = line.find("'s printed password>") {
            let open = line[..at].rfind('<').expect("<login's printed password>");
            let login = line[open + 1..at].to_owned();
            line.replace_range(
                open..at + "'s printed password>".len(),
                &password_in(&printed, &login),
            );
        }
        if line.contains("<the code in the log>") {
            let log = server.log();
            assert!(
                !log.contains('\u{1b}'),
                "colour codes in a log file:\n{log}"
            );
            let code = log
                .rsplit("otp.code=")
                .next()
                .filter(|_| log.contains("otp.code="))
                .map(|rest| rest.chars().take(6).collect::<String>())
                .unwrap_or_else(|| panic!("no code in the demo's log:\n{log}"));
            line = line.replace("<the code in the log>", &code);
        }
        let (var, command) = match line.split_once("=$(") {
            Some((var, rest)) if var.chars().all(|c| c.is_ascii_uppercase()) => {
                let (command, jq) = rest
                    .trim_end_matches(')')
                    .rsplit_once(" | jq -r .")
                    .expect("NAME=$(curl ... | jq -r .field)");
                (Some((var.to_owned(), jq.to_owned())), command.to_owned())
            }
            _ => (None, line.clone()),
        };
        let (status, body) = curl(&client, &server.base, &words(&command, &vars)).await;
        requests += 1;
        assert!(
            (200..300).contains(&status),
            "README: {line}\nanswered {status}: {body}\nserver log:\n{}",
            server.log()
        );
        if let Some((var, field)) = var {
            let json: Value = serde_json::from_str(&body).expect("a JSON answer");
            let value = json[field.as_str()]
                .as_str()
                .unwrap_or_else(|| panic!("{field} missing in {body}"));
            vars.insert(var, value.to_owned());
        }
    }
    assert!(requests >= 10, "{requests} requests walked");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_answers_every_readme_example_on_sqlite() {
    walk(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_answers_every_readme_example_on_postgres() {
    walk(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_without_a_code_sender_refuses_registration_and_logs_no_code() {
    let db = TestDb::create(Backend::Sqlite).expect("sqlite");
    let client = reqwest::Client::new();
    let mut server = ServeProcess::start(BIN, &db, false, SERVE_ENV);
    server.wait_ready(&client, Duration::from_secs(120)).await;
    let res = client
        .post(format!("{}/api/v1/auth/register", server.base))
        .json(&serde_json::json!({"phone": "13800000002", "password": "resident-pass"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let body: Value = res.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .starts_with("no code sender configured"),
        "{body}"
    );
    let log = server.log();
    assert!(!log.contains("otp.code"), "{log}");
}

#[test]
fn serve_help_lists_every_setting_with_its_variable() {
    let out = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .expect("serve --help");
    let help = String::from_utf8(out.stdout).unwrap();
    for (flag, var) in [
        ("--bind", "PATROL_BIND"),
        ("--database-url", "DATABASE_URL"),
        ("--jwt-secret", "PATROL_JWT_SECRET"),
        ("--ledger-key", "PATROL_LEDGER_KEY"),
        ("--metrics-token", "PATROL_METRICS_TOKEN"),
        ("--blob-dir", "PATROL_BLOB_DIR"),
        ("--blob-store", "PATROL_BLOB_STORE"),
        ("--blob-max-bytes", "PATROL_BLOB_MAX_BYTES"),
        ("--pool-size", "PATROL_POOL_SIZE"),
        ("--jobs", "PATROL_JOBS"),
        ("--log-format", "PATROL_LOG_FORMAT"),
        ("--follow-up-days", "PATROL_FOLLOW_UP_DAYS"),
        ("--resident-daily-reports", "PATROL_RESIDENT_DAILY_REPORTS"),
        ("--change-log-days", "PATROL_CHANGE_LOG_DAYS"),
        ("--sms-sender", "PATROL_SMS_SENDER"),
        ("--sms-url", "PATROL_SMS_URL"),
        ("--sms-token", "PATROL_SMS_TOKEN"),
        ("--sms-template", "PATROL_SMS_TEMPLATE"),
    ] {
        assert!(help.contains(flag), "{flag} missing:\n{help}");
        assert!(
            help.contains(&format!("[env: {var}")),
            "{var} missing:\n{help}"
        );
    }
    // Every variable the README's configuration table names is a setting.
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for line in readme.lines().filter(|l| l.starts_with("| `PATROL_")) {
        let var = line[3..].split('`').next().unwrap();
        assert!(
            help.contains(&format!("[env: {var}")),
            "{var} is in the README but not in --help"
        );
    }
    assert!(
        readme.contains("sqlite:///"),
        "the README shows an absolute SQLite path"
    );
    assert!(
        !readme.contains("../"),
        "the README points outside the repository"
    );
}
