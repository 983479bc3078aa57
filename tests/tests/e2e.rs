//! End-to-end: the real app in a real window (WebKitGTK under Xvfb), driven through
//! tauri-driver + WebKitWebDriver. First-run setup → recovery key → log in → log out →
//! refused with a wrong password → log in → Japanese home screen, with a screenshot.
//!
//! Built only with `--features e2e` (scripts/test.sh sets it up): it needs `SESSHU_APP` (the
//! built binary), `tauri-driver` and `WebKitWebDriver` on PATH, a display, and a D-Bus session
//! with an unlocked Secret Service, which the app uses as its real key store.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test
#![cfg(feature = "e2e")]

mod support;

use fantoccini::Locator;
use std::process::Command;
use std::time::{Duration, Instant};
use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn setup_logout_refusal_login_and_home_in_the_real_window() {
    let started = Instant::now();
    let app =
        std::env::var("SESSHU_APP").expect("SESSHU_APP must name the built sesshu-desktop binary");
    assert!(std::path::Path::new(&app).exists(), "{app} does not exist");
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let port = free_port();
    let native = free_port();
    let driver = Driver(
        Command::new("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            // The app inherits tauri-driver's environment.
            .env("SESSHU_DATA_DIR", data.path())
            .env("XDG_DATA_HOME", home.path().join("data"))
            .env("XDG_CACHE_HOME", home.path().join("cache"))
            .spawn()
            .expect("tauri-driver on PATH"),
    );
    let c = connect(port, &app).await;

    // First-run setup.
    wait_title(&c, "初期設定").await;
    type_into(&c, "setup-municipality-name", "仙台市").await;
    type_into(&c, "setup-municipality-code", "041009").await;
    type_into(&c, "setup-terminal-name", "青葉区 窓口1").await;
    type_into(&c, "setup-admin-login-id", "admin01").await;
    type_into(&c, "setup-admin-display-name", "管理 花子").await;
    type_into(&c, "setup-admin-password", "Admin-pass-2026").await;
    type_into(&c, "setup-admin-password-confirm", "Admin-pass-2026").await;
    click(&c, "setup-submit").await;

    // The recovery key is shown once and must be acknowledged.
    wait_title(&c, "回復キーの記録").await;
    let key = text_of(&c, "recovery-key").await.unwrap_or_default();
    assert_eq!(
        key.trim().len(),
        39,
        "a 32-character key in 8 groups: {key:?}"
    );
    click(&c, "recovery-key-ack").await;
    click(&c, "recovery-key-continue").await;

    // The ledger key went to the real OS key store (Secret Service), not to disk.
    let wraps = sesshu_ledger::KeyWraps::load(&data.path().join("ledger.keys"))
        .unwrap()
        .unwrap();
    let stored = sesshu_ledger::OsKeyStore.get(wraps.ledger_id());
    assert!(
        matches!(stored, Ok(Some(_))),
        "ledger key in the Secret Service: {stored:?}"
    );
    let head = std::fs::read(data.path().join("ledger.db")).unwrap();
    assert_ne!(
        &head[..16],
        b"SQLite format 3\0",
        "the ledger on disk is encrypted"
    );

    // Log in, log out.
    login(&c, "admin01", "Admin-pass-2026").await;
    wait_title(&c, "ホーム").await;
    click(&c, "nav-logout").await;

    // A wrong password is refused with a coded error.
    login(&c, "admin01", "Wrong-pass-0000").await;
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(e) = c.find(Locator::Id("form-error")).await
            && e.attr("data-code").await.unwrap().as_deref() == Some("INVALID_CREDENTIALS")
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no INVALID_CREDENTIALS error shown"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    screenshot(&c, "e2e-login-refused").await;

    // The right password opens the Japanese home screen.
    type_into(&c, "login-password", "Admin-pass-2026").await;
    click(&c, "login-submit").await;
    wait_title(&c, "ホーム").await;
    let user = text_of(&c, "session-user").await.unwrap_or_default();
    assert!(
        user.contains("管理 花子"),
        "home shows the signed-in user: {user:?}"
    );
    let shot = required_screenshot(&c, "e2e-home").await;
    println!("screenshot: {}", shot.display());

    c.close().await.unwrap();
    drop(driver);
    println!("e2e duration: {:.1} s", started.elapsed().as_secs_f64());
}

use sesshu_ledger::KeyStore as _;
