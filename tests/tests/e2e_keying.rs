//! End-to-end keying in the real window, on the demo profile (its users, residents and the MR
//! batch of three forms): keyer01 keys the three forms, keyer02 keys them again with one
//! deliberate difference, verifier01 resolves the mismatch against the paper and approves all
//! three, keyer01 requests a correction that verifier01 confirms, and the audit viewer shows
//! every step. Screenshots of the keying, mismatch, verification, statistics and audit screens.
//!
//! It also types one whole form at full WebDriver speed and reads every field back, and prints
//! the time from Enter on the last field to the next blank form being ready (median).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test
#![cfg(feature = "e2e")]

mod support;

use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use support::*;

const PASSWORD: &str = "Demo-pass-2026";
/// Demo residents born 2025: MR 1期 on the vaccination date.
const INFANTS: [&str; 3] = ["0001000041", "0001000042", "0001000044"];
const ENTER: &str = "\u{E007}";

async fn wait_css(c: &Client, css: &str) -> Element {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css} never appeared: {e}"))
}

async fn click_css(c: &Client, css: &str) {
    click_at(c, Locator::Css(css)).await;
}

/// Waits until `check` holds, polling; panics with a screenshot after WAIT.
async fn wait_until<F, Fut>(c: &Client, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT;
    while !check().await {
        if Instant::now() > deadline {
            let shot = screenshot(c, "e2e-keying-timeout").await;
            panic!("{what} (screenshot {})", shot.display());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn sign_in(c: &Client, id: &str) {
    if c.find(Locator::Id("nav-logout")).await.is_ok() {
        click(c, "nav-logout").await;
    }
    login(c, id, PASSWORD).await;
    wait_title(c, "ホーム").await;
}

async fn open_page(c: &Client, nav: &str, title: &str) {
    click(c, nav).await;
    wait_title(c, title).await;
}

/// The values on the paper form of `atena`.
fn paper(atena: &str, lot: &str) -> BTreeMap<&'static str, String> {
    let mut v: BTreeMap<&'static str, String> = BTreeMap::new();
    for (k, x) in [
        ("temperature", "36.5"),
        ("judgement", "1"),
        ("vaccine", "P005"),
        ("dose", "1"),
        ("date", "R8.11.2"),
        ("volume", "0.5"),
        ("site", "1"),
        ("clinic", "0410100010"),
        ("doctor", "山田 太郎"),
        ("outcome", "1"),
    ] {
        v.insert(k, x.to_owned());
    }
    v.insert("atena", atena.to_owned());
    v.insert("lot", lot.to_owned());
    v
}

async fn form_no(c: &Client) -> String {
    text_of(c, "keying-form-no").await.unwrap_or_default()
}

async fn ready(c: &Client) -> bool {
    match c.find(Locator::Id("keying")).await {
        Ok(e) => e.attr("data-ready").await.ok().flatten().as_deref() == Some("1"),
        Err(_) => false,
    }
}

/// Keys one form field by field in paper order (answers いいえ), checks that every field reads
/// back exactly what was typed, presses Enter on the last field and returns the time until the
/// next blank form is ready (`None` after the batch's last form).
async fn key_form(
    c: &Client,
    values: &BTreeMap<&'static str, String>,
    shot: Option<&str>,
) -> Option<Duration> {
    wait_until(c, "a blank form ready for keying", || ready(c)).await;
    let before = form_no(c).await;
    let fields = c.find_all(Locator::Css("[data-field]")).await.unwrap();
    let mut typed = Vec::new();
    for f in &fields {
        let key = f.attr("data-field").await.unwrap().unwrap_or_default();
        let value = match values.get(key.as_str()) {
            Some(v) => v.clone(),
            None if key.starts_with("q.") => "2".to_owned(),
            None => String::new(),
        };
        f.clear().await.unwrap();
        if !value.is_empty() {
            f.send_keys(&value).await.unwrap();
        }
        typed.push((key, value));
    }
    // Nothing dropped, duplicated or reordered: every field holds exactly what was typed.
    for (f, (key, value)) in fields.iter().zip(&typed) {
        let shown = f.prop("value").await.unwrap().unwrap_or_default();
        assert_eq!(&shown, value, "field {key} reads back what was typed");
    }
    if let Some(name) = shot {
        let path = required_screenshot(c, name).await;
        println!("screenshot: {}", path.display());
    }
    let last = fields.last().expect("the form has fields");
    last.send_keys(ENTER).await.unwrap();
    let pressed = Instant::now();
    // Poll until the batch is done or the next form (a new 票番号) is ready.
    let deadline = Instant::now() + WAIT;
    let next = loop {
        if c.find(Locator::Id("keying-none")).await.is_ok() {
            break false;
        }
        if form_no(c).await != before && ready(c).await {
            break true;
        }
        if Instant::now() > deadline {
            let shot = screenshot(c, "e2e-keying-timeout").await;
            panic!("the form was not saved (screenshot {})", shot.display());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let elapsed = pressed.elapsed();
    if next {
        // The next form starts blank (carried bundle values aside).
        let atena = c
            .find(Locator::Css("[data-field=\"atena\"]"))
            .await
            .unwrap()
            .prop("value")
            .await
            .unwrap()
            .unwrap_or_default();
        assert_eq!(atena, "", "the next form is blank");
        Some(elapsed)
    } else {
        None
    }
}

async fn key_batch(c: &Client, lots: [&str; 3], first_shot: Option<&str>) -> Vec<Duration> {
    open_page(c, "nav-batches", "受付バッチ").await;
    click(c, "batch-key-1").await;
    wait_title(c, "入力").await;
    let mut times = Vec::new();
    for (i, atena) in INFANTS.iter().enumerate() {
        let shot = if i == 0 { first_shot } else { None };
        if let Some(t) = key_form(c, &paper(atena, lots[i]), shot).await {
            times.push(t);
        }
    }
    wait_css(c, "#keying-none").await;
    times
}

async fn table_text(c: &Client, id: &str) -> String {
    wait_css(c, &format!("#{id}")).await.text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn three_forms_double_keyed_resolved_approved_and_corrected_in_the_real_window() {
    let started = Instant::now();
    let app =
        std::env::var("SESSHU_APP").expect("SESSHU_APP must name the built sesshu-desktop binary");
    let data = tempfile::tempdir().unwrap();
    let home = tempfile::tempdir().unwrap();
    let (driver, port) = start_driver(data.path(), home.path(), &[("SESSHU_PROFILE", "demo")]);
    let c = connect(port, &app).await;

    // keyer01: the three forms of the MR batch, first pass.
    login(&c, "keyer01", PASSWORD).await;
    wait_title(&c, "ホーム").await;
    let mut times = key_batch(&c, ["MR123", "MR123", "MR123"], Some("e2e-keying")).await;

    // keyer02: the second pass, one deliberate difference (the lot of the second form).
    sign_in(&c, "keyer02").await;
    times.extend(key_batch(&c, ["MR123", "MR128", "MR123"], None).await);

    // verifier01: the mismatch against the paper (the paper says MR123).
    sign_in(&c, "verifier01").await;
    open_page(&c, "nav-mismatch", "突合せ").await;
    click_css(&c, "[id^=\"mismatch-open-\"]").await;
    let resolve = wait_css(&c, "[data-resolve=\"lot\"]").await;
    let compare = table_text(&c, "mismatch-table").await;
    assert!(
        compare.contains("MR128"),
        "both keyings side by side: {compare}"
    );
    let path = required_screenshot(&c, "e2e-mismatch").await;
    println!("screenshot: {}", path.display());
    resolve.send_keys("MR123").await.unwrap();
    click(&c, "mismatch-submit").await;
    wait_css(&c, "#mismatch-empty").await;

    // verifier01 approves all three.
    open_page(&c, "nav-verification", "確認").await;
    for i in 0..3 {
        click_css(&c, "[id^=\"verify-open-\"]").await;
        wait_css(&c, "#approve").await;
        if i == 0 {
            let path = required_screenshot(&c, "e2e-verification").await;
            println!("screenshot: {}", path.display());
        }
        click(&c, "approve").await;
        if i < 2 {
            wait_css(&c, "[id^=\"verify-open-\"]").await;
        }
    }
    wait_css(&c, "#verification-empty").await;

    // keyer01 asks for a correction of an approved record …
    sign_in(&c, "keyer01").await;
    open_page(&c, "nav-batches", "受付バッチ").await;
    click(&c, "batch-forms-1").await;
    click_css(&c, "[id^=\"correction-open-\"]").await;
    click_css(&c, "#correction-field option[value=\"lot\"]").await;
    type_into(&c, "correction-value", "MR124").await;
    click(&c, "correction-add").await;
    wait_css(&c, "#correction-changes").await;
    type_into(&c, "request-reason", "ロット番号の転記誤り").await;
    type_into(&c, "request-evidence", "11月受付 束1 1枚目").await;
    click(&c, "correction-submit").await;
    wait_css(&c, "#batch-forms-done").await;

    // … and a second person, verifier01, confirms it.
    sign_in(&c, "verifier01").await;
    open_page(&c, "nav-changes", "修正・削除の確認").await;
    click_css(&c, "[id^=\"change-open-\"]").await;
    click(&c, "change-confirm").await;
    wait_css(&c, "#changes-empty").await;

    // The statistics screen draws the keyers' figures.
    open_page(&c, "nav-stats", "入力統計").await;
    wait_css(&c, "#stats-chart").await;
    let stats = table_text(&c, "stats-table").await;
    assert!(
        stats.contains("keyer01") && stats.contains("keyer02"),
        "{stats}"
    );
    let path = required_screenshot(&c, "e2e-statistics").await;
    println!("screenshot: {}", path.display());

    // syncop01: enrols the terminal with a hub on PostgreSQL from the sync screen and syncs
    // now; the hub's export then holds exactly the three approved records.
    let hub = DemoHub::start(&app);
    sign_in(&c, "syncop01").await;
    open_page(&c, "nav-sync", "同期").await;
    type_into(&c, "sync-hub-url", &hub.url).await;
    type_into(&c, "sync-code", &hub.enrol_code()).await;
    click(&c, "sync-enrol-submit").await;
    wait_css(&c, "#sync-fingerprints").await;
    let pinned = text_of(&c, "sync-cert-fingerprint")
        .await
        .unwrap_or_default();
    assert!(
        pinned.contains(&hub.cert_fingerprint),
        "the pinned key is the hub's ({pinned} vs {})",
        hub.cert_fingerprint
    );
    click(&c, "sync-now").await;
    wait_css(&c, "#sync-result[data-complete=\"true\"]").await;
    let path = required_screenshot(&c, "e2e-sync").await;
    println!("screenshot: {}", path.display());
    let export = hub.export_records();
    let rows: Vec<&str> = export.lines().skip(1).filter(|l| !l.is_empty()).collect();
    assert_eq!(
        rows.len(),
        3,
        "exactly the three approved records:\n{export}"
    );
    let ids: std::collections::BTreeSet<&str> =
        rows.iter().filter_map(|r| r.split(',').next()).collect();
    assert_eq!(ids.len(), 3, "each record once:\n{export}");
    assert!(
        rows.iter().all(|r| r.contains("MR123")),
        "the lots as approved (MR123, the mismatch resolved against the paper):\n{export}"
    );
    drop(hub);

    // The audit viewer shows every step.
    sign_in(&c, "admin01").await;
    open_page(&c, "nav-audit", "操作ログ").await;
    let log = table_text(&c, "audit-table").await;
    for step in [
        "1回目入力",
        "2回目入力",
        "不一致の表示",
        "不一致の解消",
        "承認",
        "修正申請",
        "修正・削除の確認",
        "集約サーバーへの端末登録",
        "同期の開始",
    ] {
        assert!(log.contains(step), "audit shows {step}");
    }
    let path = required_screenshot(&c, "e2e-audit").await;
    println!("screenshot: {}", path.display());

    c.close().await.unwrap();
    drop(driver);
    times.sort();
    let ms: Vec<f64> = times.iter().map(|t| t.as_secs_f64() * 1000.0).collect();
    let median = ms.get(ms.len() / 2).copied().unwrap_or(f64::NAN);
    println!(
        "form-to-form (Enter on the last field → next blank form ready): median {median:.0} ms over {} forms {ms:.0?}",
        ms.len()
    );
    println!(
        "e2e keying duration: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// A `sesshu-hub` for the demo terminal on a fresh PostgreSQL database (the cluster of
/// `scripts/pg-temp.sh`, `SESSHU_TEST_PG_URL`), started from the same target directory as the
/// app; stopped when dropped.
struct DemoHub {
    bin: std::path::PathBuf,
    child: std::process::Child,
    db: String,
    state: tempfile::TempDir,
    url: String,
    cert_fingerprint: String,
}

impl DemoHub {
    fn start(app: &str) -> DemoHub {
        use std::io::BufRead;
        let bin = std::path::Path::new(app).with_file_name("sesshu-hub");
        assert!(
            bin.exists(),
            "{} is missing: scripts/test.sh builds it with the app",
            bin.display()
        );
        let admin = std::env::var("SESSHU_TEST_PG_URL")
            .expect("SESSHU_TEST_PG_URL: run under scripts/pg-temp.sh (scripts/test.sh does)");
        let name = format!("e2e_{}", std::process::id());
        // The synchronous PostgreSQL client runs its own runtime: not on the test's.
        let db =
            std::thread::spawn(move || sesshu_hub::store::postgres::create_database(&admin, &name))
                .join()
                .unwrap()
                .expect("a fresh hub database");
        let state = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new(&bin)
            .args([
                "serve",
                "--demo",
                "--db",
                &db,
                "--listen",
                "127.0.0.1:0",
                "--state",
            ])
            .arg(state.path())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let announce: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|e| panic!("announce line {line:?}: {e}"));
        DemoHub {
            url: announce["listen"].as_str().unwrap().to_owned(),
            cert_fingerprint: announce["cert_fingerprint"].as_str().unwrap().to_owned(),
            bin,
            child,
            db,
            state,
        }
    }

    fn run(&self, args: &[&str]) -> String {
        let out = std::process::Command::new(&self.bin)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sesshu-hub {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    fn enrol_code(&self) -> String {
        let state = self.state.path().to_str().unwrap().to_owned();
        self.run(&[
            "enrol-code",
            "--state",
            &state,
            "--db",
            &self.db,
            "--municipality",
            "041009",
        ])
        .trim()
        .to_owned()
    }

    fn export_records(&self) -> String {
        self.run(&["export", "records", "--db", &self.db])
    }
}

impl Drop for DemoHub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
