//! HttpsTransport against a real TLS server on loopback: the pin is on the key (not the name or
//! the certificate), another key is refused as unreachable, the first key is reported at
//! enrolment, and a connection dropped after the request is a cut.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use rcgen::{CertificateParams, KeyPair, PublicKeyData};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use sesshu_protocol::errors::RefusalCode;
use sesshu_protocol::wire::Hello;
use sesshu_protocol::{SigningKey, PROTOCOL_VERSION};
use sesshu_sync::fake::{FakeHub, Fault};
use sesshu_sync::{HttpsTransport, Transport, TransportError};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;

#[derive(Clone, Copy)]
enum Answer {
    Hello,
    /// Reads the request, then closes without a response.
    Drop,
    /// A 403 refusal.
    Refuse,
}

/// A one-thread HTTPS server answering `answers.len()` connections, then stopping.
fn serve(key: &KeyPair, names: &[&str], answers: Vec<Answer>) -> u16 {
    let cert = CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .unwrap()
        .self_signed(key)
        .unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = Arc::new(
        rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(
                vec![cert.der().clone()],
                PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
            )
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for answer in answers {
            let Ok((tcp, _)) = listener.accept() else {
                return;
            };
            let conn = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut tls = rustls::StreamOwned::new(conn, tcp);
            // Read the request head (the handshake happens on the first read; a client that
            // refused our key just closes).
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match tls.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            if buf.is_empty() {
                continue;
            }
            let (status, body) = match answer {
                Answer::Drop => {
                    drop(tls);
                    continue;
                }
                Answer::Hello => (
                    "200 OK",
                    serde_json::to_string(&Hello {
                        version: PROTOCOL_VERSION,
                        hub_id: "hub-1".into(),
                        hub_public_key: SigningKey::from_bytes(&[1; 32]).verifying_key(),
                        demo: false,
                        ordered_batches: true,
                    })
                    .unwrap(),
                ),
                Answer::Refuse => (
                    "403 Forbidden",
                    r#"{"code":"REVOKED_TERMINAL","message":"revoked"}"#.to_owned(),
                ),
            };
            let _ = write!(
                tls,
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = tls.flush();
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    port
}

fn fingerprint(key: &KeyPair) -> String {
    sesshu_protocol::sign::fingerprint(&key.subject_public_key_info())
}

#[test]
fn trust_on_first_use_reports_the_key_and_the_pin_then_holds() {
    let key = KeyPair::generate().unwrap();
    let port = serve(&key, &["hub.local"], vec![Answer::Hello, Answer::Hello]);
    let t = HttpsTransport::trust_on_first_use(&format!("https://127.0.0.1:{port}")).unwrap();
    assert_eq!(t.hello().unwrap().hub_id, "hub-1");
    assert_eq!(t.server_fingerprint(), Some(fingerprint(&key)));
    // Pinned, by another address and with a certificate that names neither.
    let pinned =
        HttpsTransport::pinned(&format!("https://localhost:{port}/"), &fingerprint(&key)).unwrap();
    assert_eq!(pinned.hello().unwrap().hub_id, "hub-1");
}

#[test]
fn a_new_certificate_for_the_same_key_passes_and_another_key_does_not() {
    let key = KeyPair::generate().unwrap();
    let pin = fingerprint(&key);
    let port = serve(&key, &["renewed.example"], vec![Answer::Hello]);
    let t = HttpsTransport::pinned(&format!("https://127.0.0.1:{port}"), &pin).unwrap();
    assert!(t.hello().is_ok());

    let other = KeyPair::generate().unwrap();
    let port = serve(&other, &["hub.local"], vec![Answer::Hello]);
    let t = HttpsTransport::pinned(&format!("https://127.0.0.1:{port}"), &pin).unwrap();
    match t.hello() {
        Err(TransportError::Unreachable(detail)) => {
            assert!(detail.contains(&fingerprint(&other)), "{detail}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_listener_is_unreachable_a_dropped_answer_is_a_cut_and_a_refusal_is_typed() {
    let key = KeyPair::generate().unwrap();
    let pin = fingerprint(&key);
    // A port nobody listens on.
    let free = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = HttpsTransport::pinned(&format!("https://127.0.0.1:{free}"), &pin).unwrap();
    assert!(matches!(t.hello(), Err(TransportError::Unreachable(_))));

    let port = serve(&key, &["hub.local"], vec![Answer::Drop, Answer::Refuse]);
    let t = HttpsTransport::pinned(&format!("https://127.0.0.1:{port}"), &pin).unwrap();
    assert!(matches!(t.hello(), Err(TransportError::Cut(_))), "dropped");
    match t.hello() {
        Err(TransportError::Refused(r)) => {
            assert_eq!(r.code, RefusalCode::RevokedTerminal);
            assert!(!TransportError::Refused(r).retryable());
        }
        other => panic!("{other:?}"),
    }
    assert!(HttpsTransport::pinned("http://127.0.0.1:1", &pin).is_err());
}

#[test]
fn enrolment_and_a_drain_over_https_with_a_cut() {
    use chrono::TimeZone;
    use sesshu_domain::audit::{AuditAction, AuditOutcome};
    use sesshu_ledger::audit::AuditRecord;
    use sesshu_protocol::wire::EnrolRequest;

    let hub = FakeHub::default();
    hub.add_code("ABCD-EFGH");
    let front = sesshu_sync::fake::serve_https(hub.clone()).unwrap();
    let url = front.url();

    let terminal_key = SigningKey::from_bytes(&[4; 32]);
    let tofu = HttpsTransport::trust_on_first_use(&url).unwrap();
    let enrolled = sesshu_sync::enrol(
        &tofu,
        &EnrolRequest {
            version: PROTOCOL_VERSION,
            code: "ABCDEFGH".into(),
            terminal_id: "t-https".into(),
            terminal_name: "試験".into(),
            municipality_code: "041009".into(),
            demo: false,
            public_key: terminal_key.verifying_key(),
        },
    )
    .unwrap();
    assert_eq!(enrolled.cert_fingerprint, front.fingerprint);
    assert_eq!(enrolled.response.hub_public_key, hub.public_key());
    // A used code is refused with its code, over HTTP.
    match sesshu_sync::enrol(
        &tofu,
        &EnrolRequest {
            version: PROTOCOL_VERSION,
            code: "ABCDEFGH".into(),
            terminal_id: "t-other".into(),
            terminal_name: "試験".into(),
            municipality_code: "041009".into(),
            demo: false,
            public_key: terminal_key.verifying_key(),
        },
    ) {
        Err(sesshu_sync::EnrolError::Transport(TransportError::Refused(r))) => {
            assert_eq!(r.code, RefusalCode::EnrolCodeInvalid)
        }
        other => panic!("{other:?}"),
    }

    let dir = tempfile::tempdir().unwrap();
    let ledger = sesshu_ledger::Ledger::create(
        &dir.path().join("ledger.db"),
        &sesshu_ledger::LedgerKey::generate().unwrap(),
        Arc::new(sesshu_ledger::FixedClock::new(
            chrono::Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).unwrap(),
        )),
        Arc::new(sesshu_ledger::UuidV7Gen),
    )
    .unwrap();
    ledger
        .mutate(|m| {
            for _ in 0..30 {
                m.audit(AuditRecord::new(
                    None,
                    AuditAction::LoginSucceeded,
                    None,
                    AuditOutcome::Success,
                ))?;
            }
            Ok(())
        })
        .unwrap();
    hub.push_faults(&[Fault::CutAfterStore]);
    let pinned = HttpsTransport::pinned(&url, &enrolled.cert_fingerprint).unwrap();
    let hub_key = hub.public_key();
    let report = sesshu_sync::drain(
        &ledger,
        &pinned,
        &sesshu_sync::SyncIdentity {
            terminal_id: "t-https",
            municipality_code: "041009",
            key: &terminal_key,
            hub_key: &hub_key,
        },
        &sesshu_sync::DrainOptions {
            sleep: |_| {},
            // One batch at a time: the scripted cut meets a known request.
            in_flight: 1,
            ..sesshu_sync::DrainOptions::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(report.acknowledged, 30);
    assert_eq!(report.retries, 1);
    assert!(report.already_have >= 1, "{report:?}");
    assert_eq!(hub.stored(), 30);
    assert_eq!(ledger.read(|r| r.outbox_pending_count()).unwrap(), 0);
}
