//! Runs the built `sesshu` binary as scripts would.

// Test helpers outside #[test] fns may unwrap too: a failure is a failing test with a location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn sesshu(args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sesshu"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the sesshu binary starts");
    {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        if let Some(s) = stdin {
            // A command that refuses its arguments exits without reading stdin: the pipe is
            // then closed, which is not a failure of the test (its exit code is checked).
            match pipe.write_all(s.as_bytes()) {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.expect("stdin accepts the case"),
            }
        }
    }
    child.wait_with_output().expect("sesshu finishes")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).trim_end().to_string()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

/// `rules check`: one JSON case in, one JSON verdict out, exit 0 for every verdict.
#[test]
fn rules_check_table() {
    let cases = [
        (
            r#"{"birth_date":"2024-04-10","sex":"M","history":[{"vaccine":"MR","date":"2025-06-02"}],"proposed":{"vaccine":"VAR","date":"2025-06-29"}}"#,
            r#"{"verdict":"violation","dose":1,"reasons":["LIVE_VACCINE_INTERVAL"],"earliest_date":"2025-06-30"}"#,
        ),
        (
            r#"{"birth_date":"2024-04-10","sex":"M","history":[{"vaccine":"MR","date":"2025-06-02"}],"proposed":{"vaccine":"VAR","date":"2025-06-30"}}"#,
            r#"{"verdict":"ok","dose":1,"reasons":[],"earliest_date":null}"#,
        ),
        (
            r#"{"birth_date":"2025-06-02","sex":"F","history":[],"proposed":{"vaccine":"ROTA1","date":"2025-09-15"}}"#,
            r#"{"verdict":"warning","dose":1,"reasons":["AFTER_STANDARD_AGE"],"earliest_date":null}"#,
        ),
        (
            r#"{"birth_date":"1960-06-10","sex":"F","history":[{"vaccine":"PPSV23","date":"2019-05-01"}],"proposed":{"vaccine":"PPSV23","date":"2025-07-01"}}"#,
            r#"{"verdict":"violation","dose":2,"reasons":["ALREADY_RECEIVED"],"earliest_date":null}"#,
        ),
        (
            // history may be omitted
            r#"{"birth_date":"2024-12-31","sex":"M","proposed":{"vaccine":"DPT-IPV-HIB","date":"2025-02-27"}}"#,
            r#"{"verdict":"violation","dose":1,"reasons":["BEFORE_ELIGIBLE_AGE"],"earliest_date":"2025-02-28"}"#,
        ),
        (
            // B類 at 64, eligibility box blank: a warning dated by the age alone (the 65 date)
            r#"{"birth_date":"1960-04-02","sex":"F","proposed":{"vaccine":"FLU","date":"2025-03-31"}}"#,
            r#"{"verdict":"warning","dose":1,"reasons":["ELIGIBILITY_NEEDS_CONFIRMATION"],"earliest_date":"2025-04-01"}"#,
        ),
        (
            // the box ticked 60–64歳（障害）: definite, legal
            r#"{"birth_date":"1960-04-02","sex":"F","proposed":{"vaccine":"FLU","date":"2025-03-31"},"eligibility":"age_60_to_64_disability"}"#,
            r#"{"verdict":"ok","dose":1,"reasons":[],"earliest_date":null}"#,
        ),
        (
            // the box ticked 65歳以上 at 64: definite, not yet
            r#"{"birth_date":"1960-04-02","sex":"F","eligibility":"age_65_or_over","proposed":{"vaccine":"FLU","date":"2025-03-31"}}"#,
            r#"{"verdict":"violation","dose":1,"reasons":["BEFORE_ELIGIBLE_AGE"],"earliest_date":"2025-04-01"}"#,
        ),
        (
            // an explicit null is a blank box
            r#"{"birth_date":"1960-04-02","sex":"F","eligibility":null,"proposed":{"vaccine":"FLU","date":"2025-03-31"}}"#,
            r#"{"verdict":"warning","dose":1,"reasons":["ELIGIBILITY_NEEDS_CONFIRMATION"],"earliest_date":"2025-04-01"}"#,
        ),
    ];
    for (input, want) in cases {
        let o = sesshu(&["rules", "check"], Some(input));
        assert_eq!(
            o.status.code(),
            Some(0),
            "exit 0 for {input}: {}",
            stderr(&o)
        );
        assert_eq!(stdout(&o), want, "verdict for {input}");
        let v: serde_json::Value = serde_json::from_str(&stdout(&o)).expect("stdout is JSON");
        assert_eq!(
            v.as_object().map(|m| m.len()),
            Some(4),
            "exactly the four contract keys"
        );
    }
}

#[test]
fn rules_check_refuses_unreadable_input_with_exit_2() {
    let bad = [
        "",
        "not json",
        r#"{"birth_date":"2024-13-01","sex":"M","history":[],"proposed":{"vaccine":"MR","date":"2025-06-02"}}"#,
        r#"{"birth_date":"2024-01-01","sex":"X","history":[],"proposed":{"vaccine":"MR","date":"2025-06-02"}}"#,
        r#"{"birth_date":"2024-01-01","sex":"M","history":[],"proposed":{"vaccine":"MUMPS","date":"2025-06-02"}}"#,
        r#"{"birth_date":"2024-01-01","sex":"M","history":[],"proposed":{"vaccine":"MR","date":"2025-06-02"},"extra":1}"#,
        r#"{"birth_date":"2024-01-01","sex":"M","history":[]}"#,
        r#"{"birth_date":"1960-04-02","sex":"F","proposed":{"vaccine":"FLU","date":"2025-03-31"},"eligibility":"disabled"}"#,
    ];
    for input in bad {
        let o = sesshu(&["rules", "check"], Some(input));
        assert_eq!(o.status.code(), Some(2), "exit 2 for {input:?}");
        assert!(o.stdout.is_empty(), "no verdict for {input:?}");
        assert!(
            !stderr(&o).trim().is_empty(),
            "a message on stderr for {input:?}"
        );
    }
}

#[test]
fn rules_check_with_a_replacement_table() {
    let dir = std::env::temp_dir().join(format!("sesshu-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("rules.json");
    let ended = sesshu_domain::schedule::DEFAULT_RULES_JSON.replacen(
        "\"id\": \"BCG\",",
        "\"id\": \"BCG\", \"valid_to\": \"2020-03-31\",",
        1,
    );
    std::fs::write(&path, ended).unwrap();
    let input = r#"{"birth_date":"2025-01-06","sex":"M","history":[],"proposed":{"vaccine":"BCG","date":"2025-07-01"}}"#;
    let o = sesshu(
        &["rules", "check", "--rules", path.to_str().unwrap()],
        Some(input),
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        r#"{"verdict":"violation","dose":1,"reasons":["NO_RULE_IN_FORCE"],"earliest_date":null}"#
    );
    let v = sesshu(
        &["rules", "validate", "--rules", path.to_str().unwrap()],
        None,
    );
    assert_eq!(v.status.code(), Some(0));
    std::fs::write(&path, "{").unwrap();
    let v = sesshu(
        &["rules", "validate", "--rules", path.to_str().unwrap()],
        None,
    );
    assert_eq!(v.status.code(), Some(1), "a broken table is invalid");
    let c = sesshu(
        &["rules", "check", "--rules", path.to_str().unwrap()],
        Some(input),
    );
    assert_eq!(
        c.status.code(),
        Some(2),
        "a broken table cannot check anything"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn normalize_table() {
    let ok = [
        (&["normalize", "date", "令和6年4月1日"][..], "2024-04-01"),
        (&["normalize", "date", "R06/04/01"][..], "2024-04-01"),
        (&["normalize", "date", "H31.4.30"][..], "2019-04-30"),
        (
            &["normalize", "date", "6.4.1", "--era", "R"][..],
            "2024-04-01",
        ),
        (&["normalize", "date", "２０２４０４０１"][..], "2024-04-01"),
        (&["normalize", "kana", "ﾔﾏﾀﾞ　たろう"][..], "ヤマダ タロウ"),
        (&["normalize", "lot", "ｆｆ３６２０"][..], "FF3620"),
    ];
    for (args, want) in ok {
        let o = sesshu(args, None);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), want, "{args:?}");
    }
    let invalid = [
        (&["normalize", "date", "R1.4.30"][..], "令和の期間外"),
        (&["normalize", "date", "2024-02-30"][..], "存在しない日付"),
        (
            &["normalize", "date", "2025-06-03", "--latest", "2025-06-02"][..],
            "より後の日付",
        ),
        (&["normalize", "kana", "山田"][..], "カタカナ"),
        (&["normalize", "lot", "   "][..], "ロット番号"),
    ];
    for (args, reason) in invalid {
        let o = sesshu(args, None);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(o.stdout.is_empty(), "{args:?}");
        assert!(stderr(&o).contains(reason), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn check_digit_table() {
    let ok = [
        (&["check-digit", "municipality", "131016"][..], "131016"),
        (&["check-digit", "municipality", "27207"][..], "272078"),
        (
            &["check-digit", "municipality", "０１１００２"][..],
            "011002",
        ),
        (&["check-digit", "clinic", "0110113719"][..], "0110113719"),
    ];
    for (args, want) in ok {
        let o = sesshu(args, None);
        assert_eq!(o.status.code(), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stdout(&o), want, "{args:?}");
    }
    let invalid = [
        (&["check-digit", "municipality", "131017"][..], "検査数字"),
        (&["check-digit", "municipality", "1310"][..], "6桁"),
        (&["check-digit", "clinic", "0110113718"][..], "検査数字"),
        (&["check-digit", "clinic", "011011371"][..], "10桁"),
    ];
    for (args, reason) in invalid {
        let o = sesshu(args, None);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(stderr(&o).contains(reason), "{args:?}: {}", stderr(&o));
    }
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    for args in [
        &["frobnicate"][..],
        &["rules"][..],
        &["normalize", "date"][..],
        &["check-digit", "bank", "1"][..],
    ] {
        let o = sesshu(args, None);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(stderr(&o).contains("USAGE"), "{args:?} prints the usage");
    }
    let h = sesshu(&["--help"], None);
    assert_eq!(h.status.code(), Some(0));
    assert!(stdout(&h).contains("sesshu rules check"));
    let v = sesshu(&["rules", "vaccines"], None);
    assert_eq!(v.status.code(), Some(0));
    assert_eq!(
        stdout(&v).lines().count(),
        22,
        "22 vaccine codes in the default profile"
    );
    assert!(stdout(&v).contains("HZ-RZV\t"));
}

#[test]
fn headless_commands_read_the_password_from_stdin_and_refuse_with_exit_3() {
    // No terminal in this directory (and, in CI's test step, no key store either): the
    // terminal refuses the sign-in, which is exit 3 with a Japanese reason — never a panic
    // and never a ledger created.
    let dir = tempfile::tempdir().unwrap();
    let out = sesshu(
        &[
            "audit",
            "verify",
            "--data",
            dir.path().to_str().unwrap(),
            "--login",
            "admin01",
            "--password-stdin",
        ],
        Some("Admin-pass-2026\n"),
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stderr).is_empty());
    assert!(!dir.path().join("ledger.db").exists());
    // The password is never an argument.
    let out = sesshu(
        &[
            "audit",
            "verify",
            "--data",
            ".",
            "--login",
            "admin01",
            "--password",
            "x",
        ],
        Some(""),
    );
    assert_eq!(out.status.code(), Some(2));
}
