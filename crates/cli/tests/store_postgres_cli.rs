//! `--store postgres://…`: a command runs on PostgreSQL with no other change (here the user
//! commands, which use the accounts store and its audit log), and leaves `--data` alone.

use std::io::Write;
use std::process::{Command, Stdio};

use store::accounts::AccountStore;

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");

fn run(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut c = Command::new(BIN)
        .args(args)
        .env_remove("QINGSHAN_STORE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    if let Some(s) = stdin {
        c.stdin.take().unwrap().write_all(s.as_bytes()).unwrap();
    }
    drop(c.stdin.take());
    let o = c.wait_with_output().unwrap();
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into(),
        String::from_utf8_lossy(&o.stderr).into(),
    )
}

#[test]
fn user_commands_on_postgres() {
    let db = store::pg::TempDb::new().unwrap();
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("unused");
    let d = data.to_str().unwrap();
    let (ok, out, err) = run(
        &[
            "user",
            "add",
            "--store",
            url,
            "--data",
            d,
            "li",
            "--role",
            "monitoring",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(out.contains("password: "), "{out}");
    let (ok, _, err) = run(
        &[
            "user",
            "add",
            "--store",
            url,
            "li",
            "--role",
            "planning",
            "--password-stdin",
        ],
        Some("another password\n"),
    );
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, _, err) = run(&["user", "disable", "--store", url, "li"], None);
    assert!(ok, "{err}");
    let (ok, out, err) = run(&["user", "list", "--store", url], None);
    assert!(ok, "{err}");
    let u: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(
        (u["name"].as_str(), u["disabled"].as_bool()),
        (Some("li"), Some(true))
    );
    assert!(!data.exists(), "--data is not touched with --store");

    let s = store::PgStore::connect(url).unwrap();
    assert!(s.user_by_name("li").unwrap().unwrap().disabled);
    let (log, total) = s.audit(0, 10).unwrap();
    assert_eq!(total, 2, "{log:?}");
    assert!(log.iter().all(|e| e.actor == "cli"));
    drop(s);

    // A store URL that is not PostgreSQL's is refused with what was expected.
    let (ok, _, err) = run(&["user", "list", "--store", "mysql://x@h/db"], None);
    assert!(!ok && err.contains("postgres://"), "{err}");
}
