//! Headless commands against a terminal whose ledger key is in the real OS key store (Secret
//! Service). Built only with `--features os-keyring-tests`, which `scripts/e2e-session.sh` runs
//! inside a D-Bus session with an unlocked gnome-keyring — the same set-up as the desktop e2e.
#![cfg(feature = "os-keyring-tests")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sesshu_domain::role::Role;
use sesshu_ipc::{ChangePasswordRequest, LoginRequest, SetupRequest, UserCreateRequest};
use sesshu_ledger::{OsKeyStore, SystemClock, UuidV7Gen};
use sesshu_terminal::{Environment, Paths, Terminal};
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::sync::Arc;

const ADMIN_PW: &str = "Admin-pass-2026";
const SYNC_PW: &str = "Sync-pass-2026!";
const KEYER_PW: &str = "Keyer-pass-2026!";

fn set_up(dir: &std::path::Path) {
    let t = Terminal::start(Environment {
        paths: Paths::in_dir(dir),
        keystore: Arc::new(OsKeyStore),
        clock: Arc::new(SystemClock),
        ids: Arc::new(UuidV7Gen),
        demo: false,
        log_level: None,
    });
    t.setup(SetupRequest {
        municipality_name: "仙台市".into(),
        municipality_code: "041009".into(),
        terminal_name: "CLI 試験端末".into(),
        admin_login_id: "admin01".into(),
        admin_display_name: "管理 花子".into(),
        admin_password: ADMIN_PW.into(),
    })
    .unwrap();
    t.login(LoginRequest {
        login_id: "admin01".into(),
        password: ADMIN_PW.into(),
    })
    .unwrap();
    for (id, roles, pw) in [
        ("sync01", vec![Role::SyncOperator], SYNC_PW),
        ("keyer01", vec![Role::Keyer], KEYER_PW),
    ] {
        t.user_create(UserCreateRequest {
            login_id: id.into(),
            display_name: "試験 太郎".into(),
            roles,
            initial_password: "Initial-pass-2026".into(),
        })
        .unwrap();
        // The first sign-in changes the password the administrator set.
        t.logout().unwrap();
        t.login(LoginRequest {
            login_id: id.into(),
            password: "Initial-pass-2026".into(),
        })
        .unwrap();
        t.change_password(ChangePasswordRequest {
            current_password: "Initial-pass-2026".into(),
            new_password: pw.into(),
        })
        .unwrap();
        t.logout().unwrap();
        t.login(LoginRequest {
            login_id: "admin01".into(),
            password: ADMIN_PW.into(),
        })
        .unwrap();
    }
    t.shutdown();
}

fn sesshu(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sesshu"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A refusing command may exit before it reads stdin: a closed pipe is not a failure.
    if let Err(e) = child.stdin.take().unwrap().write_all(stdin.as_bytes()) {
        assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "{e}");
    }
    child.wait_with_output().unwrap()
}

#[test]
fn residents_import_through_the_cli_with_the_os_key_store() {
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path());
    let data = dir.path().to_str().unwrap();
    let header = "宛名番号,カナ氏名,氏名,性別,生年月日,住所,閲覧注意,外字\r\n";
    let rows = "0000012345,ヤマダ タロウ,山田 太郎,1,2010-04-01,仙台市青葉区1-1,,\r\n\
                0000012346,タカハシ ハナコ,髙橋 花子,2,平成25年5月6日,仙台市泉区2-2,,1\r\n";
    let text = format!("{header}{rows}");
    let (cp932, _, unmappable) = encoding_rs::SHIFT_JIS.encode(&text);
    assert!(!unmappable);
    let good = dir.path().join("extract.csv");
    std::fs::write(&good, &cp932).unwrap();

    let out = sesshu(
        &[
            "residents",
            "import",
            good.to_str().unwrap(),
            "--data",
            data,
            "--login",
            "sync01",
            "--password-stdin",
            "--encoding",
            "cp932",
        ],
        &format!("{SYNC_PW}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["rows"], 2);
    assert_eq!(report["total_after"], 2);
    assert_eq!(report["encoding"], "cp932");

    // A bad date on line 3: the whole file is refused, line and column named, exit 1.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("{header}0000012347,スズキ イチロウ,鈴木 一郎,1,2010-04-01,,,\r\n0000012348,サトウ ジロウ,佐藤 次郎,1,2023-02-30,,,\r\n"),
    )
    .unwrap();
    let out = sesshu(
        &[
            "residents",
            "import",
            bad.to_str().unwrap(),
            "--data",
            data,
            "--login",
            "sync01",
            "--password-stdin",
        ],
        &format!("{SYNC_PW}\n"),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let refusal: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(refusal["error"], "IMPORT_REJECTED");
    assert_eq!(refusal["line"], 3, "{refusal}");
    assert_eq!(refusal["field"], "生年月日");

    // A keyer may not import: exit 3, and the extract is unchanged (the audit chain verifies).
    let out = sesshu(
        &[
            "residents",
            "import",
            good.to_str().unwrap(),
            "--data",
            data,
            "--login",
            "keyer01",
            "--password-stdin",
            "--delta",
        ],
        &format!("{KEYER_PW}\n"),
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let out = sesshu(
        &[
            "audit",
            "verify",
            "--data",
            data,
            "--login",
            "admin01",
            "--password-stdin",
        ],
        &format!("{ADMIN_PW}\n"),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["first_broken_seq"], serde_json::Value::Null);
}

#[test]
fn sync_commands_exit_with_codes_a_scheduler_can_act_on() {
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path());
    let data = dir.path().to_str().unwrap();
    let signed = |cmd: &[&str], login: &str, pw: &str| {
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend(["--data", data, "--login", login, "--password-stdin"]);
        sesshu(&args, &format!("{pw}\n"))
    };
    // Not enrolled: the terminal refuses (6), never "retry later".
    let out = signed(&["sync", "push"], "sync01", SYNC_PW);
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], "NOT_ENROLLED");
    // A keyer may not sync.
    let out = signed(&["sync", "status"], "keyer01", KEYER_PW);
    assert_eq!(out.status.code(), Some(6), "{out:?}");
    // Nothing listens on port 1: unreachable (3).
    let out = signed(
        &[
            "enrol",
            "--hub",
            "https://127.0.0.1:1",
            "--code",
            "ABCD-EFGH",
        ],
        "sync01",
        SYNC_PW,
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["error"], "HUB_UNREACHABLE");
    // The status is readable JSON.
    let out = signed(&["sync", "status"], "sync01", SYNC_PW);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["enrolled"], false);
    assert!(v["pending_total"].as_u64().unwrap() > 0);
}

#[test]
fn enrol_then_push_through_the_cli_to_a_hub_over_https() {
    use sesshu_sync::fake::{serve_https, FakeHub, Fault};
    let dir = tempfile::tempdir().unwrap();
    set_up(dir.path());
    let data = dir.path().to_str().unwrap();
    let hub = FakeHub::default();
    hub.add_code("WXYZ-2345");
    let front = serve_https(hub.clone()).unwrap();
    let url = front.url();
    let run = |cmd: &[&str]| {
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend(["--data", data, "--login", "sync01", "--password-stdin"]);
        let out = sesshu(&args, &format!("{SYNC_PW}\n"));
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
        (out.status.code(), json, out)
    };

    let (code, v, out) = run(&["enrol", "--hub", &url, "--code", "wxyz 2345"]);
    assert_eq!(code, Some(0), "{out:?}");
    assert_eq!(v["cert_fingerprint"], front.fingerprint.as_str());
    assert_eq!(
        v["hub_key_fingerprint"],
        hub.public_key().fingerprint().as_str()
    );

    let (code, v, out) = run(&["sync", "push"]);
    assert_eq!(code, Some(0), "{out:?}");
    assert_eq!(v["pending_left"], 0);
    let first = v["acknowledged"].as_u64().unwrap();
    assert!(first > 0);
    assert_eq!(hub.stored() as u64, first);
    assert!(String::from_utf8_lossy(&out.stderr).contains("件を受領確認"));

    // Cut with no retry in the run: exit 4, for the scheduler to retry; then the next push
    // finishes and the hub holds every item once.
    hub.push_faults(&[Fault::CutAfterStore]);
    let (code, v, out) = run(&["sync", "push", "--retries", "0"]);
    assert_eq!(code, Some(4), "{out:?}");
    assert_eq!(v["error"], "SYNC_CUT");
    let (code, v, out) = run(&["sync", "push"]);
    assert_eq!(code, Some(0), "{out:?}");
    assert!(v["already_have"].as_u64().unwrap() >= 1, "{v}");

    // Another address of the same hub (same key): accepted.
    let other = format!("https://localhost:{}", front.port);
    let (code, _, out) = run(&["sync", "push", "--hub", &other]);
    assert_eq!(code, Some(0), "{out:?}");

    // A refusal that a retry cannot change: exit 5.
    hub.push_faults(&[Fault::Refuse(sesshu_protocol::RefusalCode::RevokedTerminal)]);
    let (code, v, out) = run(&["sync", "push"]);
    assert_eq!(code, Some(5), "{out:?}");
    assert_eq!(v["error"], "HUB_REFUSED");

    let (code, v, out) = run(&["sync", "status"]);
    assert_eq!(code, Some(0), "{out:?}");
    assert_eq!(v["enrolled"], true);
    assert_eq!(v["reachable"], true);
    assert_eq!(v["last_error"], "REVOKED_TERMINAL");
    assert!(v["last_receipt"]["receipt_id"].is_string());
}
