//! The real `sesshu-hub` binary: `serve` on 127.0.0.1:0 over HTTPS, a client that pins exactly
//! the certificate key the hub printed, enrolment and one batch round trip, refusals as JSON,
//! restart with the same identity, then `export records` and `stats` from the command line.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use sesshu_hub::server::Announce;
use sesshu_protocol::errors::Refusal;
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::{
    EnrolResponse, Hello, ItemOutcome, Receipt, RefusalCode, Signed, MAX_BATCH_BYTES,
};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_sesshu-hub");

/// The server process; stopped (only this pid) when dropped, so a failing test leaves none.
struct Hub {
    child: Child,
    announce: Announce,
}

impl Hub {
    fn start(db: &Path, state: &Path, log: &Path) -> Hub {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(format!("sqlite:{}", db.display()))
            .arg("--state")
            .arg(state)
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let announce: Announce = serde_json::from_str(line.trim())
            .unwrap_or_else(|e| panic!("announce line {line:?}: {e}"));
        Hub { child, announce }
    }

    /// SIGTERM, and the exit status of the graceful stop.
    fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(ok.success());
        self.child.wait().unwrap()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn cli(args: &[&str]) -> (bool, Vec<u8>, String) {
    let out = Command::new(BIN).args(args).output().unwrap();
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn one_https_round_trip_through_the_real_server() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("hub.db");
    let state = dir.path().join("state");
    let db_spec = format!("sqlite:{}", db.display());
    let state_arg = state.to_str().unwrap().to_owned();

    let mut t = Terminal::new("t-https", 11);
    let (ok, code, err) = cli(&[
        "enrol-code",
        "--state",
        &state_arg,
        "--db",
        &db_spec,
        "--municipality",
        &t.municipality,
    ]);
    assert!(ok, "{err}");
    let code = String::from_utf8(code).unwrap().trim().to_owned();
    assert_eq!(code.len(), 19);

    let log = dir.path().join("hub.log");
    let hub = Hub::start(&db, &state, &log);
    let a = hub.announce.clone();
    assert!(a.listen.starts_with("https://127.0.0.1:"));
    assert!(!a.listen.ends_with(":0"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        for f in [
            "hub-key",
            "hub-id",
            "hub-profile",
            "tls-key.pem",
            "tls-cert.der",
        ] {
            assert_eq!(mode(&state.join(f)), 0o600, "{f}");
        }
    }

    // A client pinned to another key cannot even connect.
    let wrong = pinned_client("0000:0000:0000:0000:0000:0000:0000:0000");
    assert!(wrong
        .get(format!("{}/v1/hello", a.listen))
        .send()
        .await
        .is_err());

    let client = pinned_client(&a.cert_fingerprint);
    let hello: Hello = client
        .get(format!("{}/v1/hello", a.listen))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(hello.hub_public_key.fingerprint(), a.hub_key_fingerprint);
    assert_eq!(hello.hub_id, a.hub_id);
    assert!(!hello.demo);

    let resp = client
        .post(format!("{}/v1/enrol", a.listen))
        .json(&t.enrol_request(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let enrolled: Signed<EnrolResponse> = resp.json().await.unwrap();
    let enrolled = enrolled
        .open(&hello.hub_public_key, Purpose::Enrolment)
        .unwrap();
    assert_eq!(enrolled.terminal_id, "t-https");

    // The code is used up: a refusal with its status and JSON body.
    let resp = client
        .post(format!("{}/v1/enrol", a.listen))
        .json(&t.enrol_request(&code))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    let r: Refusal = resp.json().await.unwrap();
    assert_eq!(r.code, RefusalCode::EnrolCodeInvalid);

    let l1 = t.audit();
    let rec = t.record("000000000001", "医師");
    let record_id = rec.id.clone();
    let body = t.sealed(vec![rec, t.audit_item(&l1)]);
    let resp = client
        .post(format!("{}/v1/batches", a.listen))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let signed: Signed<Receipt> = resp.json().await.unwrap();
    let receipt = signed
        .open(&hello.hub_public_key, Purpose::Receipt)
        .unwrap();
    assert_eq!(receipt.results.len(), 2);
    assert!(receipt
        .results
        .iter()
        .all(|r| r.outcome == ItemOutcome::Accepted));

    // Detached (as terminals send): the body as signed, the signature in a header.
    let rec2 = t.record("000000000002", "医師");
    let detached: Signed<sesshu_protocol::Batch> =
        serde_json::from_slice(&t.sealed(vec![rec2])).unwrap();
    let post_detached = |body: Vec<u8>, sig: &str| {
        client
            .post(format!("{}/v1/batches", a.listen))
            .header("content-type", "application/json")
            .header(sesshu_protocol::wire::SIGNATURE_HEADER, sig.to_owned())
            .body(body)
            .send()
    };
    // Another body under that signature, a signature that is not one, a body not UTF-8.
    let forged = detached.body.replace("000000000002", "000000000003");
    for (body, sig, status, code) in [
        (
            forged.into_bytes(),
            detached.signature.clone(),
            401,
            RefusalCode::BadSignature,
        ),
        (
            detached.body.clone().into_bytes(),
            "zz".to_owned(),
            401,
            RefusalCode::BadSignature,
        ),
        (
            b"\xff\xfe".to_vec(),
            detached.signature.clone(),
            400,
            RefusalCode::Malformed,
        ),
    ] {
        let resp = post_detached(body, &sig).await.unwrap();
        assert_eq!(resp.status(), status);
        assert_eq!(resp.json::<Refusal>().await.unwrap().code, code);
    }
    let resp = post_detached(detached.body.clone().into_bytes(), &detached.signature)
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let receipt = resp
        .json::<Signed<Receipt>>()
        .await
        .unwrap()
        .open(&hello.hub_public_key, Purpose::Receipt)
        .unwrap();
    assert_eq!(receipt.results.len(), 1);
    assert_eq!(receipt.results[0].outcome, ItemOutcome::Accepted);
    assert_eq!(receipt.batch_hash, detached.body_hash());

    // Garbage and an oversized body: refusals with their status and a JSON body.
    let resp = client
        .post(format!("{}/v1/batches", a.listen))
        .body(b"\xff\xfe not json".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(
        resp.json::<Refusal>().await.unwrap().code,
        RefusalCode::Malformed
    );
    let resp = client
        .post(format!("{}/v1/batches", a.listen))
        .body(vec![b' '; MAX_BATCH_BYTES + 1])
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    assert_eq!(
        resp.json::<Refusal>().await.unwrap().code,
        RefusalCode::TooLarge
    );

    // Graceful stop on SIGTERM, then a restart keeps the same identity and certificate.
    assert!(hub.stop().success());
    // The log of the first run: ids and counts, no record content.
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("batch stored"), "{text}");
    assert!(text.contains("t-https"));
    for personal in ["000000000001", "医師", "佐藤", "ミールビック"] {
        assert!(!text.contains(personal), "{personal} in the log:\n{text}");
    }
    let again = Hub::start(&db, &state, &dir.path().join("hub2.log"));
    assert_eq!(again.announce.cert_fingerprint, a.cert_fingerprint);
    assert_eq!(again.announce.hub_key_fingerprint, a.hub_key_fingerprint);
    assert_eq!(again.announce.hub_id, a.hub_id);
    let client = pinned_client(&again.announce.cert_fingerprint);
    let resp = client
        .get(format!("{}/v1/hello", again.announce.listen))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    drop(again);
    // The state is a production hub's now: `--demo` is refused.
    let out = Command::new(BIN)
        .args([
            "serve",
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--db",
            &db_spec,
            "--state",
        ])
        .arg(&state)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("本番用"));

    let (ok, csv, err) = cli(&["export", "records", "--db", &db_spec]);
    assert!(ok, "{err}");
    let csv = String::from_utf8(csv).unwrap();
    // The round trip's record and the detached one; nothing of the refused ones.
    assert_eq!(csv.lines().count(), 3);
    assert!(csv
        .lines()
        .nth(1)
        .unwrap()
        .starts_with(&format!("{record_id},t-https,")));
    let (ok, cp932, _) = cli(&["export", "records", "--db", &db_spec, "--encoding", "cp932"]);
    assert!(ok);
    assert_eq!(encoding_rs::SHIFT_JIS.decode(&cp932).0, csv);

    let (ok, stats, err) = cli(&["stats", "--db", &db_spec]);
    assert!(ok, "{err}");
    let stats: serde_json::Value = serde_json::from_slice(&stats).unwrap();
    assert_eq!(stats["terminals"], 1);
    assert_eq!(stats["items_per_stream"]["records"], 2);
    assert_eq!(stats["items_per_stream"]["audit"], 1);

    let (ok, _, err) = cli(&["revoke", "--db", &db_spec, "--terminal", "nobody"]);
    assert!(!ok && err.contains("nobody"));
    let (ok, _, err) = cli(&["revoke", "--db", &db_spec, "--terminal", "t-https"]);
    assert!(ok, "{err}");
    let (ok, _, err) = cli(&["stats", "--db", "postgres://localhost/x"]);
    assert!(!ok && err.contains("PostgreSQL"), "{err}");
    let out = Command::new(BIN).args(["serve", "--db"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}
