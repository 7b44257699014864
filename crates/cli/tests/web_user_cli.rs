//! `qingshan user add|list|passwd|disable` on a data folder, audited.

use std::io::Write;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_qingshan");

fn run(args: &[&str], stdin: Option<&str>) -> (bool, String, String) {
    let mut c = Command::new(BIN)
        .args(args)
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
fn user_add_list_passwd_disable() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let (ok, out, err) = run(
        &[
            "user",
            "add",
            "--data",
            d,
            "li",
            "--role",
            "monitoring",
            "--display",
            "李四",
        ],
        None,
    );
    assert!(ok, "{err}");
    assert!(
        out.contains("password: "),
        "a random password is printed: {out}"
    );
    let (ok, _, err) = run(
        &[
            "user", "add", "--data", d, "town1", "--role", "town", "--scope", "nope",
        ],
        None,
    );
    assert!(
        !ok && err.contains("town"),
        "scope checked against the profile: {err}"
    );
    let (ok, _, err) = run(
        &[
            "user",
            "add",
            "--data",
            d,
            "li",
            "--role",
            "planning",
            "--password-stdin",
        ],
        Some("another password\n"),
    );
    assert!(!ok && err.contains("exists"), "{err}");
    let (ok, out, _) = run(
        &["user", "passwd", "--data", d, "li", "--password-stdin"],
        Some("a new password\n"),
    );
    assert!(ok && !out.contains("password: "), "{out}");
    let (ok, _, _) = run(&["user", "disable", "--data", d, "li"], None);
    assert!(ok);
    let (ok, out, _) = run(&["user", "list", "--data", d], None);
    assert!(ok);
    let u: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(u["name"], "li");
    assert_eq!(u["disabled"], true);
    assert!(!out.contains("argon2"), "no hashes listed");
    use store::accounts::AccountStore;
    let s = store::SqliteStore::open(dir.path()).unwrap();
    let (log, total) = s.audit(0, 10).unwrap();
    assert_eq!(total, 3, "{log:?}");
    assert!(log.iter().all(|e| e.actor == "cli"));
}
