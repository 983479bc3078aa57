//! Shared by the end-to-end tests: tauri-driver start/stop, the WebDriver client and small
//! helpers that wait for the app rather than sleep.
#![allow(dead_code)]

use fantoccini::{Client, ClientBuilder, Locator};
use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub const WAIT: Duration = Duration::from_secs(30);

/// Stops tauri-driver with SIGTERM so it also stops WebKitWebDriver (SIGKILL would orphan it).
pub struct Driver(pub Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let pid = self.0.id() as libc::pid_t;
        // SAFETY: plain kill(2) on our own child's pid.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(pid, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn connect(port: u16, app: &str) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), "wry".into());
    caps.insert(
        "tauri:options".into(),
        serde_json::json!({ "application": app }),
    );
    let deadline = Instant::now() + WAIT;
    loop {
        match ClientBuilder::rustls()
            .unwrap()
            .capabilities(caps.clone())
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
        {
            Ok(c) => return c,
            Err(e) if Instant::now() < deadline => {
                eprintln!("waiting for tauri-driver: {e}");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
            Err(e) => panic!("tauri-driver did not answer: {e}"),
        }
    }
}

pub async fn text_of(c: &Client, id: &str) -> Option<String> {
    match c.find(Locator::Id(id)).await {
        Ok(e) => e.text().await.ok(),
        Err(_) => None,
    }
}

/// Waits until `#page-title` reads `title`.
pub async fn wait_title(c: &Client, title: &str) {
    let deadline = Instant::now() + WAIT;
    loop {
        let t = text_of(c, "page-title").await;
        if t.as_deref().map(str::trim) == Some(title) {
            return;
        }
        if Instant::now() > deadline {
            let shot = screenshot(c, "e2e-timeout").await;
            panic!(
                "page title {t:?} never became {title:?} (screenshot {})",
                shot.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub async fn type_into(c: &Client, id: &str, value: &str) {
    let e = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Id(id))
        .await
        .unwrap();
    e.clear().await.unwrap();
    e.send_keys(value).await.unwrap();
}

pub async fn click(c: &Client, id: &str) {
    click_at(c, Locator::Id(id)).await;
}

/// Finds and clicks; finds again when the page re-rendered between the two (the status poll
/// can replace a list's nodes under the driver): a stale node is not a failure of the app.
pub async fn click_at(c: &Client, at: Locator<'_>) {
    let deadline = Instant::now() + WAIT;
    loop {
        let e = c.wait().at_most(WAIT).for_element(at).await.unwrap();
        match e.click().await {
            Ok(()) => return,
            Err(err) if err.is_stale_element_reference() && Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            Err(err) => panic!("click {at:?}: {err}"),
        }
    }
}

pub fn screenshot_path(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{name}.png"))
}

/// Best effort: for diagnosis on the way to a failure, where a second error would hide the first.
pub async fn screenshot(c: &Client, name: &str) -> PathBuf {
    let path = screenshot_path(name);
    if let Ok(png) = c.screenshot().await {
        std::fs::write(&path, png).unwrap();
    }
    path
}

/// The screenshot the test delivers: any old file is removed first and a failure to take it
/// fails the test, so the printed path is always this run's picture.
pub async fn required_screenshot(c: &Client, name: &str) -> PathBuf {
    let path = screenshot_path(name);
    let _ = std::fs::remove_file(&path);
    let png = c.screenshot().await.expect("screenshot of the window");
    assert!(png.starts_with(b"\x89PNG"), "a PNG image");
    std::fs::write(&path, png).unwrap();
    path
}

pub async fn login(c: &Client, id: &str, pw: &str) {
    wait_title(c, "ログイン").await;
    type_into(c, "login-id", id).await;
    type_into(c, "login-password", pw).await;
    click(c, "login-submit").await;
}

/// Starts tauri-driver for the app with its data in `data` (the app inherits the driver's
/// environment); `extra` adds variables such as `SESSHU_PROFILE`.
pub fn start_driver(
    data: &std::path::Path,
    home: &std::path::Path,
    extra: &[(&str, &str)],
) -> (Driver, u16) {
    let port = free_port();
    let native = free_port();
    let mut cmd = Command::new("tauri-driver");
    cmd.args([
        "--port",
        &port.to_string(),
        "--native-port",
        &native.to_string(),
    ])
    .env("SESSHU_DATA_DIR", data)
    .env("XDG_DATA_HOME", home.join("data"))
    .env("XDG_CACHE_HOME", home.join("cache"));
    for (k, v) in extra {
        cmd.env(k, v);
    }
    (Driver(cmd.spawn().expect("tauri-driver on PATH")), port)
}
