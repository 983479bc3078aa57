//! The IT console over real HTTP (embedded store): sign-in and its lockout, the guards
//! (loopback only, Host, CSRF token and Origin, a disabled operator), and every action
//! against the store and the hub audit — media import twice with the receipt file, erasure,
//! enrolment code, revocation, exports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::*;
use reqwest::blocking::{Client, Response};
use reqwest::header;
use sesshu_hub::console::operators::Operators;
use sesshu_hub::console::{check_console_address, ConsoleServer, ConsoleStartError};
use sesshu_hub::hub_audit::HubEvent;
use sesshu_hub::service::Clock;
use sesshu_hub::{Hub, HubStore};
use sesshu_protocol::media::MediaReceiptFile;
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::Receipt;
use std::sync::Arc;

/// `application/x-www-form-urlencoded`, as a browser posts a form (reqwest's `form` is not
/// compiled in here).
trait FormBody {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::blocking::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        let enc = |s: &str| -> String {
            s.bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                        (b as char).to_string()
                    }
                    b' ' => "+".to_owned(),
                    b => format!("%{b:02X}"),
                })
                .collect()
        };
        let body = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
    }
}

const PASSWORD: &str = "Console-pass-2026";

struct Running {
    base: String,
    fx: Fixture,
    state: tempfile::TempDir,
    client: Client,
    _stop: tokio::sync::oneshot::Sender<()>,
    _rt: tokio::runtime::Runtime,
}

fn start() -> Running {
    let fx = Fixture::new(false);
    let state = tempfile::tempdir().unwrap();
    let ops = Operators::in_state_dir(state.path());
    ops.add("tanaka", PASSWORD, chrono::Utc::now()).unwrap();
    ops.add("suzuki", PASSWORD, chrono::Utc::now()).unwrap();
    let n = fx.now.clone();
    let clock: Clock = Arc::new(move || *n.lock().unwrap());
    let hub = Arc::new(Hub::new(
        fx.store.clone(),
        hub_key(),
        "hub-test".into(),
        false,
        clock,
    ));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let server = rt
        .block_on(ConsoleServer::bind(hub, state.path(), "127.0.0.1:0"))
        .unwrap();
    let base = server.url().trim_end_matches("/it/").to_owned();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    rt.spawn(server.run(async {
        let _ = stopped.await;
    }));
    let client = Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    Running {
        base,
        fx,
        state,
        client,
        _stop: stop,
        _rt: rt,
    }
}

fn text(r: Response) -> (u16, String) {
    let status = r.status().as_u16();
    (status, r.text().unwrap())
}

fn location(r: &Response) -> String {
    r.headers()[header::LOCATION].to_str().unwrap().to_owned()
}

impl Running {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn try_sign_in(&self, name: &str, password: &str) -> Response {
        self.client
            .post(self.url("/it/login"))
            .form_body(&[("name", name), ("password", password)])
            .send()
            .unwrap()
    }

    /// The session cookie of a successful sign-in.
    fn sign_in(&self, name: &str) -> String {
        let r = self.try_sign_in(name, PASSWORD);
        assert_eq!(r.status().as_u16(), 303);
        assert_eq!(location(&r), "/it/");
        let cookie = r.headers()[header::SET_COOKIE].to_str().unwrap().to_owned();
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        cookie.split(';').next().unwrap().to_owned()
    }

    fn get(&self, path: &str, cookie: &str) -> Response {
        self.client
            .get(self.url(path))
            .header(header::COOKIE, cookie)
            .send()
            .unwrap()
    }

    fn page(&self, path: &str, cookie: &str) -> String {
        let (status, body) = text(self.get(path, cookie));
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    fn csrf(&self, cookie: &str) -> String {
        let body = self.page("/it/", cookie);
        let from = body.find(r#"name="csrf" value=""#).unwrap() + r#"name="csrf" value=""#.len();
        body[from..from + body[from..].find('"').unwrap()].to_owned()
    }

    fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .header(header::COOKIE, cookie)
            .form_body(form)
            .send()
            .unwrap()
    }

    /// The media import form as a browser sends it (multipart, the token first).
    fn upload(&self, cookie: &str, csrf: &str, name: &str, bytes: &[u8]) -> Response {
        let boundary = "----sesshu-test-boundary-7d9";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
                 --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.client
            .post(self.url("/it/media/import"))
            .header(header::COOKIE, cookie)
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .unwrap()
    }

    /// (event code, actor, target) of every hub audit entry.
    fn audit(&self) -> Vec<(u16, String, Option<String>)> {
        let mut out = Vec::new();
        self.fx
            .store
            .hub_audit_visit(0, &mut |l| {
                out.push((
                    l.action,
                    l.actor.clone().unwrap_or_default(),
                    l.target.clone(),
                ));
                Ok(())
            })
            .unwrap();
        out
    }

    fn audited(&self, event: HubEvent) -> Vec<(String, Option<String>)> {
        self.audit()
            .into_iter()
            .filter(|(a, _, _)| *a == event.code())
            .map(|(_, actor, target)| (actor, target))
            .collect()
    }
}

fn code_of(body: &str) -> Option<String> {
    let from = body.find("data-code=\"")? + "data-code=\"".len();
    Some(body[from..from + body[from..].find('"')?].to_owned())
}

#[test]
fn the_console_listens_on_loopback_only() {
    for bad in ["0.0.0.0:8446", "192.168.10.5:8446", "[::]:8446"] {
        assert!(
            matches!(
                check_console_address(bad),
                Err(ConsoleStartError::NotLoopback(_))
            ),
            "{bad}"
        );
    }
    assert!(matches!(
        check_console_address("localhost:8446"),
        Err(ConsoleStartError::BadAddress(_))
    ));
    assert!(check_console_address("127.0.0.1:0").is_ok());
    assert!(check_console_address("[::1]:8446").is_ok());
}

#[test]
fn every_page_needs_a_signed_in_operator_and_keeps_private_headers() {
    let c = start();
    for path in [
        "/it/",
        "/it/media",
        "/it/terminals",
        "/it/exports",
        "/it/audit",
        "/it/download/x",
    ] {
        let r = c.client.get(c.url(path)).send().unwrap();
        assert_eq!(r.status().as_u16(), 303, "{path}");
        assert_eq!(location(&r), "/it/login");
    }
    let r = c
        .client
        .post(c.url("/it/terminals/enrol-code"))
        .form_body(&[("csrf", "x"), ("municipality", &muni())])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 303);
    assert!(c.audited(HubEvent::EnrolCodeIssued).is_empty());
    let r = c.client.get(c.url("/it/login")).send().unwrap();
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap();
    assert!(csp.contains("default-src 'none'") && !csp.contains("script-src"));
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.headers()[header::X_FRAME_OPTIONS], "DENY");
}

#[test]
fn a_foreign_host_name_is_refused_even_with_a_session() {
    let c = start();
    let cookie = c.sign_in("tanaka");
    let port = c.base.rsplit(':').next().unwrap();
    let r = c
        .client
        .get(c.url("/it/"))
        .header(header::HOST, format!("attacker.example:{port}"))
        .header(header::COOKIE, &cookie)
        .send()
        .unwrap();
    let (status, body) = text(r);
    assert_eq!(status, 421);
    assert!(body.contains("CONSOLE_HOST_REFUSED"));
}

#[test]
fn wrong_passwords_lock_the_name_and_every_attempt_is_audited() {
    let c = start();
    let (status, body) = text(c.try_sign_in("nobody", PASSWORD));
    assert_eq!(status, 401);
    assert_eq!(code_of(&body).as_deref(), Some("CONSOLE_SIGN_IN_FAILED"));
    for _ in 0..4 {
        let (status, body) = text(c.try_sign_in("Tanaka", "Wrong-password-1"));
        assert_eq!(status, 401);
        assert_eq!(code_of(&body).as_deref(), Some("CONSOLE_SIGN_IN_FAILED"));
        assert!(body.contains(r#"value="tanaka""#), "the name stays typed");
    }
    let (status, body) = text(c.try_sign_in("tanaka", "Wrong-password-1"));
    assert_eq!(status, 429);
    assert_eq!(code_of(&body).as_deref(), Some("CONSOLE_SIGN_IN_LOCKED"));
    // The hub's clock says 09:00 UTC: locked until 09:15 UTC, told in JST.
    assert!(body.contains("18:15 までサインインできません"), "{body}");
    // Locked: even the right password is not checked.
    let r = c.try_sign_in("tanaka", PASSWORD);
    assert_eq!(r.status().as_u16(), 429);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    // The other operator is not affected.
    c.sign_in("suzuki");
    let refused = c.audited(HubEvent::ConsoleSignInRefused);
    assert_eq!(refused.len(), 6);
    assert_eq!(
        refused[1],
        ("console".to_owned(), Some("tanaka".to_owned()))
    );
    assert_eq!(
        c.audited(HubEvent::ConsoleSignedIn),
        vec![("suzuki".to_owned(), None)]
    );
}

#[test]
fn a_post_without_the_sessions_token_or_from_another_origin_changes_nothing() {
    let c = start();
    let cookie = c.sign_in("tanaka");
    let csrf = c.csrf(&cookie);
    let r = c.post(
        "/it/terminals/enrol-code",
        &cookie,
        &[("csrf", "0000"), ("municipality", &muni())],
    );
    assert_eq!(r.status().as_u16(), 403);
    let r = c
        .client
        .post(c.url("/it/terminals/enrol-code"))
        .header(header::COOKIE, &cookie)
        .header(header::ORIGIN, "http://attacker.example")
        .form_body(&[("csrf", csrf.as_str()), ("municipality", &muni())])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    // Another operator's token is not this session's.
    let other = c.sign_in("suzuki");
    let other_csrf = c.csrf(&other);
    assert_ne!(other_csrf, csrf);
    let r = c.post(
        "/it/terminals/enrol-code",
        &cookie,
        &[("csrf", other_csrf.as_str()), ("municipality", &muni())],
    );
    assert_eq!(r.status().as_u16(), 403);
    assert!(c.audited(HubEvent::EnrolCodeIssued).is_empty());
}

#[test]
fn media_import_twice_receipt_file_and_erasure_through_the_console() {
    let c = start();
    let mut t = Terminal::new("t1", 1);
    c.fx.enrolled(&t);
    let l1 = t.audit();
    let i1 = vec![
        t.record("000000000001", "医師"),
        t.audit_item(&l1),
        t.record("000000000002", "医師"),
    ];
    let b1 = t.batch(i1);
    let i2 = vec![t.record("000000000003", "医師")];
    let b2 = t.batch(i2);
    let file = media_file(&t, &[b1, b2], &hub_key().verifying_key(), &muni());

    let cookie = c.sign_in("tanaka");
    let csrf = c.csrf(&cookie);
    let media = c.page("/it/media", &cookie);
    assert!(media.contains(r#"enctype="multipart/form-data""#));
    assert!(media.contains("媒体の記録はまだありません"));

    // A tampered file: refused, nothing stored.
    let mut bad = file.clone();
    let n = bad.len();
    bad[n - 10] ^= 1;
    let (status, body) = text(c.upload(&cookie, &csrf, "sesshu-media-x.bin", &bad));
    assert_eq!(status, 422);
    assert_eq!(code_of(&body).as_deref(), Some("MEDIA_REFUSED"));
    assert_eq!(c.fx.stats().batches, 0);
    // No file chosen.
    let (status, body) = text(c.upload(&cookie, &csrf, "empty.bin", b""));
    assert_eq!(status, 400);
    assert_eq!(code_of(&body).as_deref(), Some("CONSOLE_INPUT"));

    let (status, body) = text(c.upload(&cookie, &csrf, "sesshu-media-1.bin", &file));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("新規 4 件"), "{body}");
    let from = body.find("/it/download/").unwrap();
    let link = &body[from..from + body[from..].find('"').unwrap()];
    let r = c.get(link, &cookie);
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .contains("sesshu-media-1.bin.receipt"));
    let receipt = MediaReceiptFile::parse(&r.bytes().unwrap()).unwrap();
    assert_eq!(receipt.terminal_id, "t1");
    assert_eq!(receipt.receipts.len(), 2);
    for r in &receipt.receipts {
        let _: Receipt = r
            .open(&hub_key().verifying_key(), Purpose::Receipt)
            .unwrap();
    }
    // Another operator cannot take this operator's receipt.
    let other = c.sign_in("suzuki");
    let (status, body) = text(c.get(link, &other));
    assert_eq!(status, 404);
    assert_eq!(code_of(&body).as_deref(), Some("CONSOLE_DOWNLOAD_GONE"));

    // The same file again: nothing stored twice.
    let stats = c.fx.stats();
    let (status, body) = text(c.upload(&cookie, &csrf, "sesshu-media-1.bin", &file));
    assert_eq!(status, 200);
    assert!(body.contains("取り込み済み"), "{body}");
    assert_eq!(c.fx.stats().items_per_stream, stats.items_per_stream);
    let csv = String::from_utf8(c.fx.export(sesshu_hub::Encoding::Utf8)).unwrap();
    assert_eq!(csv.lines().count(), 1 + 3);

    // Waiting for erasure, then erased by this operator.
    let media = c.page("/it/media", &cookie);
    assert!(media.contains("消去待ちの媒体") && media.contains("USB-0001"));
    let (status, body) = text(c.post(
        "/it/media/erased",
        &cookie,
        &[("csrf", csrf.as_str()), ("medium_id", "USB-0001")],
    ));
    assert_eq!(status, 200);
    assert!(body.contains("消去を記録しました"));
    assert!(body.contains("消去待ちの媒体はありません"));
    let ledger = c.fx.store.media_ledger().unwrap();
    let lines: Vec<(&str, &str)> = ledger
        .iter()
        .map(|l| (l.direction.as_str(), l.operator.as_str()))
        .collect();
    assert_eq!(
        lines,
        [("in", "tanaka"), ("in", "tanaka"), ("erased", "tanaka")]
    );
    assert_eq!(c.audited(HubEvent::MediaImported).len(), 2);
    assert_eq!(
        c.audited(HubEvent::MediumErased),
        vec![("tanaka".to_owned(), Some("USB-0001".to_owned()))]
    );
    // A malformed medium id is refused.
    let (status, _) = text(c.post(
        "/it/media/erased",
        &cookie,
        &[("csrf", csrf.as_str()), ("medium_id", "../../x")],
    ));
    assert_eq!(status, 422);
}

#[test]
fn enrolment_codes_revocation_exports_and_the_audit_screen() {
    let c = start();
    let cookie = c.sign_in("tanaka");
    let csrf = c.csrf(&cookie);
    // A wrong municipality code: refused, nothing issued.
    let (status, _) = text(c.post(
        "/it/terminals/enrol-code",
        &cookie,
        &[("csrf", csrf.as_str()), ("municipality", "12345")],
    ));
    assert_ne!(status, 200);
    assert!(c.audited(HubEvent::EnrolCodeIssued).is_empty());

    let (status, body) = text(c.post(
        "/it/terminals/enrol-code",
        &cookie,
        &[("csrf", csrf.as_str()), ("municipality", &muni())],
    ));
    assert_eq!(status, 200, "{body}");
    let from = body.find(r#"id="enrol-code">"#).unwrap() + r#"id="enrol-code">"#.len();
    let code = &body[from..from + body[from..].find('<').unwrap()];
    let t = Terminal::new("t-console", 7);
    c.fx.hub.enrol(t.enrol_request(code)).unwrap();
    let page = c.page("/it/terminals", &cookie);
    assert!(page.contains("t-console") && page.contains("有効"));

    // Revocation needs the confirmation box.
    let (status, body) = text(c.post(
        "/it/terminals/revoke",
        &cookie,
        &[("csrf", csrf.as_str()), ("terminal_id", "t-console")],
    ));
    assert_eq!(status, 400);
    assert_eq!(code_of(&body).as_deref(), Some("CONSOLE_INPUT"));
    assert!(c.fx.terminal_record("t-console").revoked_at.is_none());
    let (status, body) = text(c.post(
        "/it/terminals/revoke",
        &cookie,
        &[
            ("csrf", csrf.as_str()),
            ("terminal_id", "t-console"),
            ("confirm", "yes"),
        ],
    ));
    assert_eq!(status, 200);
    assert!(body.contains("取消"));
    assert!(c.fx.terminal_record("t-console").revoked_at.is_some());
    assert_eq!(
        c.audited(HubEvent::TerminalRevoked),
        vec![("tanaka".to_owned(), Some("t-console".to_owned()))]
    );

    // Exports: files, audited with the operator.
    let r = c.post(
        "/it/exports/records",
        &cookie,
        &[("csrf", csrf.as_str()), ("encoding", "cp932")],
    );
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()[header::CONTENT_TYPE],
        "text/csv; charset=shift_jis"
    );
    assert!(r.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .starts_with("attachment;"));
    let r = c.post(
        "/it/exports/reconciliation",
        &cookie,
        &[
            ("csrf", csrf.as_str()),
            ("encoding", "utf-8"),
            ("by", "terminal"),
        ],
    );
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().unwrap().starts_with("group,key,"));
    let (status, body) = text(c.post(
        "/it/exports/disclosure",
        &cookie,
        &[("csrf", csrf.as_str()), ("resident", "abc")],
    ));
    assert_eq!(status, 400);
    assert_eq!(code_of(&body).as_deref(), Some("CONSOLE_INPUT"));
    assert!(c.audited(HubEvent::DisclosureExported).is_empty());
    let r = c.post(
        "/it/exports/disclosure",
        &cookie,
        &[("csrf", csrf.as_str()), ("resident", "000000000001")],
    );
    assert_eq!(r.status().as_u16(), 200);
    let _: serde_json::Value = serde_json::from_slice(&r.bytes().unwrap()).unwrap();
    assert_eq!(c.audited(HubEvent::RecordsExported)[0].0, "tanaka");
    assert_eq!(c.audited(HubEvent::ReconciliationExported)[0].0, "tanaka");
    assert_eq!(c.audited(HubEvent::DisclosureExported)[0].0, "tanaka");

    // The audit screen verifies the chain and lists the newest first.
    let audit = c.page("/it/audit", &cookie);
    assert!(audit.contains("正常"), "{audit}");
    let newest = audit.find("開示請求出力").unwrap();
    let older = audit.find("端末登録取消").unwrap();
    assert!(newest < older);
    let overview = c.page("/it/", &cookie);
    assert!(overview.contains("登録端末") && overview.contains("1 台"));
}

#[test]
fn a_disabled_operator_and_a_signed_out_session_lose_the_console() {
    let c = start();
    let cookie = c.sign_in("tanaka");
    let csrf = c.csrf(&cookie);
    let r = c.post("/it/logout", &cookie, &[("csrf", csrf.as_str())]);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(c.get("/it/", &cookie).status().as_u16(), 303);

    let cookie = c.sign_in("tanaka");
    c.page("/it/", &cookie);
    Operators::in_state_dir(c.state.path())
        .disable("tanaka", chrono::Utc::now())
        .unwrap();
    let r = c.get("/it/", &cookie);
    assert_eq!(r.status().as_u16(), 303);
    assert_eq!(location(&r), "/it/login");
    assert_eq!(c.try_sign_in("tanaka", PASSWORD).status().as_u16(), 401);
}

#[test]
fn wrong_passwords_sent_at_once_each_count() {
    let c = start();
    let base = c.url("/it/login");
    std::thread::scope(|scope| {
        for _ in 0..8 {
            let base = base.clone();
            scope.spawn(move || {
                let client = Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .build()
                    .unwrap();
                client
                    .post(base)
                    .form_body(&[("name", "tanaka"), ("password", "Wrong-password-1")])
                    .send()
                    .unwrap()
            });
        }
    });
    // Eight at once are eight failures: the name is locked, the right password not checked.
    let r = c.try_sign_in("tanaka", PASSWORD);
    assert_eq!(r.status().as_u16(), 429);
}

#[test]
fn another_sites_page_can_neither_sign_in_nor_upload() {
    let c = start();
    let r = c
        .client
        .post(c.url("/it/login"))
        .header(header::ORIGIN, "http://attacker.example")
        .form_body(&[("name", "tanaka"), ("password", PASSWORD)])
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    assert!(c.audited(HubEvent::ConsoleSignInRefused).is_empty());
    assert!(c.audited(HubEvent::ConsoleSignedIn).is_empty());

    // Without a session the upload is answered with the sign-in page.
    let r = c.upload("sesshu_console=nothing", "x", "m.bin", b"bytes");
    assert_eq!(r.status().as_u16(), 303);
    // With one, the token must come before the file.
    let cookie = c.sign_in("tanaka");
    let csrf = c.csrf(&cookie);
    let boundary = "----b";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"m.bin\"\r\n\r\nbytes\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}--\r\n"
    );
    let r = c
        .client
        .post(c.url("/it/media/import"))
        .header(header::COOKIE, &cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .body(body)
        .send()
        .unwrap();
    assert_eq!(r.status().as_u16(), 403);
    assert!(c.fx.store.media_ledger().unwrap().is_empty());
}
