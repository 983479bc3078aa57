//! The in-process test hub behind HTTPS as a process, to try `sesshu enrol` / `sesshu sync push`
//! without the real hub: `cargo run -p sesshu-sync --features fake-hub --example fake-hub-serve
//! -- CODE` prints one JSON line (`url`, `fingerprint`, `code`) and serves until killed; every
//! minute it prints what it holds on stderr.

use sesshu_sync::fake::{serve_https, FakeHub};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let code = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "TEST-CODE".to_owned());
    let hub = FakeHub::default();
    hub.add_code(&code);
    let front = serve_https(hub.clone())?;
    println!(
        "{}",
        serde_json::json!({ "url": front.url(), "fingerprint": front.fingerprint, "code": code })
    );
    loop {
        std::thread::sleep(std::time::Duration::from_secs(60));
        eprintln!(
            "fake hub: {} items stored, {} already-have answers, {} batches",
            hub.stored(),
            hub.duplicates(),
            hub.batches()
        );
    }
}
