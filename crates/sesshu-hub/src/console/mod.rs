//! The hub's IT console: the screens IT uses at the hub machine for what the command line
//! also does — import removable media and hand back the receipt file, record a medium's
//! erasure, issue enrolment codes and revoke terminals, run the exports, read and verify the
//! hub's audit.
//!
//! `sesshu-hub serve … --console 127.0.0.1:PORT` serves it over plain HTTP on a **loopback
//! address only** (the address is refused otherwise): the console reads personal data (the
//! exports), so it is reachable from the hub machine itself (or through an SSH tunnel), never
//! from the closed network the terminals use. Other defences, each for a named attack:
//! - operators sign in (accounts in the state directory, [`operators`]); failed sign-ins lock
//!   a name as a terminal's accounts are locked (`SecurityPolicy`), and are audited;
//! - the session cookie is `HttpOnly; SameSite=Strict`, idles out after 15 minutes and ends
//!   after 8 hours;
//! - every POST carries the session's CSRF token, and a present `Origin` must be the console's;
//! - the `Host` header must name the loopback address (DNS rebinding);
//! - no script at all, a strict CSP, `no-store` caching (pages hold personal data).
//!
//! Every action goes through the same [`Hub`] methods as the command line, with the signed-in
//! operator's name in the hub audit.

pub mod html;
pub mod operators;

use crate::exports::GroupBy;
use crate::hub_audit::HubEvent;
use crate::media::{record_erased, MediaImportError, MediaImportReport};
use crate::service::{Encoding, Hub, HubError};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Multipart, Path as UrlPath, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{DateTime, Utc};
use html::{esc, facts, page, table, Notice, Section, Viewer};
use operators::{operator_name, OperatorError, Operators};
use serde::Deserialize;
use sesshu_domain::account::{SecurityPolicy, SignInDecision, SignInState};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The session cookie's name.
pub const COOKIE: &str = "sesshu_console";
/// A session unused this long ends.
const IDLE: Duration = Duration::from_secs(15 * 60);
/// A session ends this long after sign-in whatever happens.
const MAX_SESSION: Duration = Duration::from_secs(8 * 60 * 60);
/// A receipt file stays downloadable this long after its import.
const DOWNLOAD_TTL: Duration = Duration::from_secs(60 * 60);
/// The largest media file the console takes (the command line takes any size).
pub const MAX_MEDIA_UPLOAD: usize = 512 * 1024 * 1024;
/// Names with a failed sign-in the console remembers before it forgets those not locked.
const MAX_SIGN_IN_NAMES: usize = 1024;
/// How many of the newest hub audit entries the 操作ログ screen lists.
const AUDIT_ROWS: usize = 200;

/// Why a console request was refused; shown as `{message}（{code}）` on the screen.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    #[error("操作者名またはパスワードが違います")]
    SignInFailed,
    #[error("サインインに続けて失敗したため、{} までサインインできません", when(.0))]
    SignInLocked(DateTime<Utc>),
    #[error("この操作は受け付けられません。画面を開き直してからやり直してください")]
    RequestRefused,
    #[error("このアドレスからは管理画面を使えません。http://127.0.0.1 で開いてください")]
    HostRefused,
    #[error("{0}")]
    Input(String),
    #[error("保存期限を過ぎたか、別の操作者の受領ファイルです。もう一度取り込むと受領ファイルを作り直せます")]
    DownloadGone,
    #[error(transparent)]
    Media(#[from] MediaImportError),
    #[error(transparent)]
    Hub(#[from] HubError),
    #[error(transparent)]
    Operators(#[from] OperatorError),
}

impl ConsoleError {
    pub fn code(&self) -> &'static str {
        match self {
            ConsoleError::SignInFailed => "CONSOLE_SIGN_IN_FAILED",
            ConsoleError::SignInLocked(_) => "CONSOLE_SIGN_IN_LOCKED",
            ConsoleError::RequestRefused => "CONSOLE_REQUEST_REFUSED",
            ConsoleError::HostRefused => "CONSOLE_HOST_REFUSED",
            ConsoleError::Input(_) => "CONSOLE_INPUT",
            ConsoleError::DownloadGone => "CONSOLE_DOWNLOAD_GONE",
            ConsoleError::Media(_) => "MEDIA_REFUSED",
            ConsoleError::Hub(_) => "HUB_FAILED",
            ConsoleError::Operators(_) => "CONSOLE_OPERATORS",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ConsoleError::SignInFailed => StatusCode::UNAUTHORIZED,
            ConsoleError::SignInLocked(_) => StatusCode::TOO_MANY_REQUESTS,
            ConsoleError::RequestRefused => StatusCode::FORBIDDEN,
            ConsoleError::HostRefused => StatusCode::MISDIRECTED_REQUEST,
            ConsoleError::Input(_) => StatusCode::BAD_REQUEST,
            ConsoleError::DownloadGone => StatusCode::NOT_FOUND,
            ConsoleError::Media(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ConsoleError::Hub(_) | ConsoleError::Operators(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn notice(&self) -> Notice {
        Notice::Error {
            code: self.code(),
            message: self.to_string(),
        }
    }
}

#[derive(Debug, Clone)]
struct Session {
    operator: String,
    csrf: String,
    started: Instant,
    last_seen: Instant,
}

struct Download {
    operator: String,
    file_name: String,
    bytes: Vec<u8>,
    made: Instant,
}

/// The console's state: the hub, its operators, and the sessions and downloads in memory (a
/// restart signs everyone out, which is the safe side).
pub struct Console {
    hub: Arc<Hub>,
    operators: Operators,
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    sign_ins: Mutex<HashMap<String, SignInState>>,
    downloads: Mutex<HashMap<String, Download>>,
    /// `Host` values the console answers (set when bound: they carry the port).
    hosts: Vec<String>,
}

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleStartError {
    #[error("管理画面の待ち受けアドレス {0} はループバック (127.0.0.1 や [::1]) ではありません。管理画面はハブの機械からだけ使えます")]
    NotLoopback(String),
    #[error("管理画面の待ち受けアドレス {0} は IP アドレスとポート (例 127.0.0.1:8446) で指定してください")]
    BadAddress(String),
    #[error("{addr} で管理画面を待ち受けできません: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
}

/// Checks that `listen` is an IP literal on loopback: the one rule for where the console may
/// listen.
pub fn check_console_address(listen: &str) -> Result<SocketAddr, ConsoleStartError> {
    let addr: SocketAddr = listen
        .parse()
        .map_err(|_| ConsoleStartError::BadAddress(listen.to_owned()))?;
    if !addr.ip().is_loopback() {
        return Err(ConsoleStartError::NotLoopback(listen.to_owned()));
    }
    Ok(addr)
}

/// A bound console, not yet serving.
pub struct ConsoleServer {
    listener: tokio::net::TcpListener,
    app: Router,
    url: String,
}

impl ConsoleServer {
    /// Binds `listen` (loopback only) for `hub`, with the operators of `state_dir`.
    pub async fn bind(
        hub: Arc<Hub>,
        state_dir: &Path,
        listen: &str,
    ) -> Result<ConsoleServer, ConsoleStartError> {
        let addr = check_console_address(listen)?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ConsoleStartError::Bind {
                addr: listen.to_owned(),
                source,
            })?;
        let bound = listener
            .local_addr()
            .map_err(|source| ConsoleStartError::Bind {
                addr: listen.to_owned(),
                source,
            })?;
        let port = bound.port();
        let mut hosts = vec![
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
            bound.to_string(),
        ];
        if port == 80 {
            // Browsers leave the default port out of `Host` and `Origin`.
            hosts.extend(["127.0.0.1", "localhost", "[::1]"].map(str::to_owned));
        }
        let console = Arc::new(Console {
            hub,
            operators: Operators::in_state_dir(state_dir),
            sessions: Mutex::new(HashMap::new()),
            sign_ins: Mutex::new(HashMap::new()),
            downloads: Mutex::new(HashMap::new()),
            hosts,
        });
        Ok(ConsoleServer {
            listener,
            app: router(console),
            url: format!("http://{bound}/it/"),
        })
    }

    /// `http://ADDR:PORT/it/`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves until `shutdown` completes.
    pub async fn run(self, shutdown: impl std::future::Future<Output = ()> + Send + 'static) {
        tracing::info!(url = %self.url, "IT console serving");
        if let Err(e) = axum::serve(self.listener, self.app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "IT console stopped");
        }
    }
}

fn router(console: Arc<Console>) -> Router {
    Router::new()
        .route("/", get(|| async { Redirect::to("/it/") }))
        .route("/it", get(|| async { Redirect::to("/it/") }))
        .route("/it/style.css", get(style))
        .route("/it/login", get(sign_in_page).post(sign_in))
        .route("/it/logout", post(sign_out))
        .route("/it/", get(overview))
        .route("/it/media", get(media_page))
        .route(
            "/it/media/import",
            post(media_import).layer(DefaultBodyLimit::max(MAX_MEDIA_UPLOAD)),
        )
        .route("/it/media/erased", post(media_erased))
        .route("/it/download/{id}", get(download))
        .route("/it/terminals", get(terminals_page))
        .route("/it/terminals/enrol-code", post(enrol_code))
        .route("/it/terminals/revoke", post(revoke))
        .route("/it/exports", get(exports_page))
        .route("/it/exports/records", post(export_records))
        .route("/it/exports/reconciliation", post(export_reconciliation))
        .route("/it/exports/disclosure", post(export_disclosure))
        .route("/it/audit", get(audit_page))
        .layer(axum::middleware::from_fn_with_state(console.clone(), guard))
        .with_state(console)
}

/// Every response: the host check first, then the headers that keep pages private.
async fn guard(
    State(console): State<Arc<Console>>,
    req: Request<axum::body::Body>,
    next: Next,
) -> Response {
    let host_ok = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .is_some_and(|h| console.hosts.iter().any(|a| a.eq_ignore_ascii_case(h)));
    let mut res = if host_ok {
        next.run(req).await
    } else {
        let e = ConsoleError::HostRefused;
        (e.status(), format!("{e}（{}）", e.code())).into_response()
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // `same-origin`, not `no-referrer`: under the latter a browser posts forms with
    // `Origin: null`, and the Origin check would refuse the console's own forms.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    res
}

fn random_hex(n: usize) -> Result<String, ConsoleError> {
    let mut b = vec![0u8; n];
    getrandom::getrandom(&mut b).map_err(|e| ConsoleError::Hub(HubError::Random(e.to_string())))?;
    Ok(hex::encode(b))
}

fn token_key(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn html_response(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn to_sign_in() -> Response {
    Redirect::to("/it/login").into_response()
}

/// A signed-in request: who, and (for POSTs) that the form came from a console page.
struct Signed {
    operator: String,
    csrf: String,
}

impl Signed {
    fn viewer(&self) -> Viewer<'_> {
        Viewer {
            operator: &self.operator,
            csrf: &self.csrf,
        }
    }
}

impl Console {
    /// The session of the request's cookie, refreshed; `None` when there is none, it expired
    /// or its operator was disabled since.
    fn session(&self, headers: &HeaderMap) -> Option<Signed> {
        let key = token_key(&cookie_token(headers)?);
        let now = Instant::now();
        let found = {
            let mut sessions = self.sessions.lock().ok()?;
            sessions.retain(|_, s| {
                now.duration_since(s.last_seen) < IDLE
                    && now.duration_since(s.started) < MAX_SESSION
            });
            let s = sessions.get_mut(&key)?;
            s.last_seen = now;
            Signed {
                operator: s.operator.clone(),
                csrf: s.csrf.clone(),
            }
        };
        // A disabled operator loses the console at once, not at the session's end. (The
        // operators file is read outside the sessions' lock.)
        if !matches!(self.operators.active(&found.operator), Ok(Some(_))) {
            if let Ok(mut sessions) = self.sessions.lock() {
                sessions.remove(&key);
            }
            return None;
        }
        Some(found)
    }

    /// Whether a request's `Origin`, when present, is this console's.
    fn origin_ok(&self, headers: &HeaderMap) -> bool {
        match headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            None => true,
            Some(o) => o
                .strip_prefix("http://")
                .is_some_and(|h| self.hosts.iter().any(|a| a.eq_ignore_ascii_case(h))),
        }
    }

    /// A POST's session: also checks the CSRF token and the `Origin`.
    fn posted(&self, headers: &HeaderMap, csrf: &str) -> Result<Option<Signed>, ConsoleError> {
        let Some(s) = self.session(headers) else {
            return Ok(None);
        };
        let origin_ok = self.origin_ok(headers);
        let token_ok: bool = {
            use subtle_eq::eq;
            eq(csrf.as_bytes(), s.csrf.as_bytes())
        };
        if origin_ok && token_ok {
            Ok(Some(s))
        } else {
            tracing::warn!("console request refused: CSRF token or origin");
            Err(ConsoleError::RequestRefused)
        }
    }

    /// [`Console::posted`] as a handler needs it: the session, or the answer to give instead
    /// (the sign-in page, or the refusal).
    fn post_session(&self, headers: &HeaderMap, csrf: &str) -> Result<Signed, Box<Response>> {
        match self.posted(headers, csrf) {
            Ok(Some(s)) => Ok(s),
            Ok(None) => Err(Box::new(to_sign_in())),
            Err(e) => Err(Box::new(html_response(
                e.status(),
                html::sign_in(Some(&e.notice()), ""),
            ))),
        }
    }

    fn audit(&self, event: HubEvent, operator: &str, target: Option<&str>) {
        if let Err(e) = self
            .hub
            .audit(event, operator, target, &serde_json::json!({}))
        {
            tracing::error!(error = %e, "console audit entry failed");
        }
    }
}

/// Constant-time comparison for the CSRF token.
mod subtle_eq {
    pub fn eq(a: &[u8], b: &[u8]) -> bool {
        if a.len() != b.len() {
            return false;
        }
        a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        html::STYLE,
    )
        .into_response()
}

async fn sign_in_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    if c.session(&headers).is_some() {
        return Redirect::to("/it/").into_response();
    }
    html_response(StatusCode::OK, html::sign_in(None, ""))
}

#[derive(Deserialize)]
struct SignInForm {
    name: String,
    password: String,
}

async fn sign_in(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    let name = operator_name(&f.name).unwrap_or_else(|_| f.name.trim().to_owned());
    // Another site's page in the IT person's browser must not guess passwords here (nor lock
    // the operators out).
    if !c.origin_ok(&headers) {
        let e = ConsoleError::RequestRefused;
        return html_response(e.status(), html::sign_in(Some(&e.notice()), ""));
    }
    let c2 = c.clone();
    let n2 = name.clone();
    let checked = tokio::task::spawn_blocking(move || -> Result<String, ConsoleError> {
        let now = c2.hub.now();
        // The attempt is counted as a failure before the password is checked, under the lock:
        // attempts running at the same time each count, and none can write back an older,
        // unlocked state. A right password then clears the count.
        let locked_now = {
            let mut m = c2
                .sign_ins
                .lock()
                .map_err(|_| ConsoleError::RequestRefused)?;
            let state = m.get(&n2).copied().unwrap_or_default();
            if let SignInDecision::Locked { until } = state.before_attempt(now) {
                return Err(ConsoleError::SignInLocked(until));
            }
            let (next, locked) = state.after_failure(&SecurityPolicy::default(), now);
            // Names typed by anyone: keep the table to the names that matter now.
            if m.len() >= MAX_SIGN_IN_NAMES {
                m.retain(|_, st| st.locked_until.is_some_and(|u| u > now));
            }
            m.insert(n2.clone(), next);
            next.locked_until.filter(|_| locked)
        };
        match c2.operators.check(&n2, &f.password)? {
            Some(op) => {
                if let Ok(mut m) = c2.sign_ins.lock() {
                    m.remove(&op);
                }
                c2.audit(HubEvent::ConsoleSignedIn, &op, None);
                Ok(op)
            }
            None => {
                c2.audit(HubEvent::ConsoleSignInRefused, "console", Some(&n2));
                match locked_now {
                    Some(until) => Err(ConsoleError::SignInLocked(until)),
                    None => Err(ConsoleError::SignInFailed),
                }
            }
        }
    })
    .await;
    let result = match checked {
        Ok(r) => r,
        Err(_) => Err(ConsoleError::RequestRefused),
    };
    match result.and_then(|op| {
        let token = random_hex(32)?;
        let csrf = random_hex(16)?;
        let now = Instant::now();
        if let Ok(mut s) = c.sessions.lock() {
            s.insert(
                token_key(&token),
                Session {
                    operator: op,
                    csrf,
                    started: now,
                    last_seen: now,
                },
            );
        }
        Ok(token)
    }) {
        Ok(token) => {
            let cookie = format!("{COOKIE}={token}; Path=/it; HttpOnly; SameSite=Strict");
            let mut res = Redirect::to("/it/").into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                res.headers_mut().insert(header::SET_COOKIE, v);
            }
            res
        }
        Err(e) => html_response(e.status(), html::sign_in(Some(&e.notice()), &name)),
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn sign_out(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<CsrfOnly>,
) -> Response {
    let signed = matches!(c.posted(&headers, &f.csrf), Ok(Some(_)));
    if let (true, Some(t), Ok(mut s)) = (signed, cookie_token(&headers), c.sessions.lock()) {
        s.remove(&token_key(&t));
    }
    let mut res = to_sign_in();
    res.headers_mut().insert(
        header::SET_COOKIE,
        HeaderValue::from_static("sesshu_console=; Path=/it; HttpOnly; SameSite=Strict; Max-Age=0"),
    );
    res
}

/// Runs store work off the async threads.
async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ConsoleError> + Send + 'static,
) -> Result<T, ConsoleError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|_| ConsoleError::RequestRefused)?
}

fn num(n: u64) -> String {
    // Thousands separators as Japanese figures print them.
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// A time as the hub's staff read it (JST).
fn when(at: &DateTime<Utc>) -> String {
    match chrono::FixedOffset::east_opt(9 * 3600) {
        Some(jst) => at.with_timezone(&jst).format("%Y-%m-%d %H:%M").to_string(),
        None => at.format("%Y-%m-%d %H:%M UTC").to_string(),
    }
}

// ---- 概要 --------------------------------------------------------------------------------

async fn overview(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(s) = c.session(&headers) else {
        return to_sign_in();
    };
    let c2 = c.clone();
    let body = off_thread(move || {
        let stats = c2.hub.stats()?;
        let v = c2.hub.verify_audit()?;
        let mut streams = String::new();
        for (k, n) in &stats.items_per_stream {
            streams.push_str(&format!("{} {} 件<br>", esc(k), num(*n)));
        }
        if streams.is_empty() {
            streams.push_str("0 件");
        }
        let chain = match &v.broken {
            None => format!("<span class=\"ok\">正常</span>（{} 件）", num(v.entries)),
            Some(b) => format!(
                "<span class=\"bad\">破損</span> {}",
                esc(&serde_json::to_string(b).unwrap_or_default())
            ),
        };
        Ok(facts(&[
            ("ハブ ID", format!("<code>{}</code>", esc(c2.hub.hub_id()))),
            (
                "ハブ鍵の指紋",
                format!("<code>{}</code>", esc(&c2.hub.public_key().fingerprint())),
            ),
            (
                "種別",
                if c2.hub.is_demo() {
                    "デモ用"
                } else {
                    "本番用"
                }
                .to_owned(),
            ),
            ("登録端末", format!("{} 台", num(stats.terminals))),
            ("受信した項目", streams),
            ("受信バッチ", format!("{} 件", num(stats.batches))),
            (
                "重複として応答",
                format!("{} 件", num(stats.duplicates_answered)),
            ),
            ("保留中の競合", format!("{} 件", num(stats.conflicts_held))),
            (
                "操作ログ連鎖の警告",
                format!("{} 件", num(stats.chain_flags)),
            ),
            ("ハブの操作ログ", chain),
        ]))
    })
    .await;
    render(&s, Section::Overview, "概要", None, body)
}

fn render(
    s: &Signed,
    section: Section,
    title: &str,
    notice: Option<Notice>,
    body: Result<String, ConsoleError>,
) -> Response {
    match body {
        Ok(b) => html_response(
            StatusCode::OK,
            page(&s.viewer(), section, title, notice.as_ref(), &b),
        ),
        Err(e) => html_response(
            e.status(),
            page(&s.viewer(), section, title, Some(&e.notice()), ""),
        ),
    }
}

/// A section's page again, after a POST, with its outcome above it.
async fn after(
    c: Arc<Console>,
    s: &Signed,
    section: Section,
    outcome: Result<Notice, ConsoleError>,
) -> Response {
    let (status, notice) = match outcome {
        Ok(n) => (StatusCode::OK, n),
        Err(e) => (e.status(), e.notice()),
    };
    let (title, body) = match section {
        Section::Media => ("媒体", media_body(c, s.viewer().csrf_field()).await),
        Section::Terminals => ("端末", terminals_body(c, s.viewer().csrf_field()).await),
        Section::Exports => ("出力", Ok(exports_body(&s.viewer()))),
        Section::Overview | Section::Audit => ("概要", Ok(String::new())),
    };
    let body = body.unwrap_or_default();
    html_response(
        status,
        page(&s.viewer(), section, title, Some(&notice), &body),
    )
}

// ---- 媒体 --------------------------------------------------------------------------------

async fn media_body(c: Arc<Console>, csrf: String) -> Result<String, ConsoleError> {
    off_thread(move || {
        let lines = c.hub.store_ref().media_ledger().map_err(HubError::from)?;
        // Media imported and not yet recorded as erased, newest first.
        let mut last: Vec<(&str, &str)> = Vec::new();
        for l in &lines {
            last.retain(|(m, _)| *m != l.medium_id);
            last.push((&l.medium_id, &l.direction));
        }
        let waiting: Vec<Vec<String>> = last
            .iter()
            .rev()
            .filter(|(_, d)| *d == "in")
            .map(|(m, _)| {
                vec![
                    format!("<code>{}</code>", esc(m)),
                    format!(
                        "<form method=\"post\" action=\"/it/media/erased\">{csrf}\
                         <input type=\"hidden\" name=\"medium_id\" value=\"{}\">\
                         <button type=\"submit\">消去を記録</button></form>",
                        esc(m)
                    ),
                ]
            })
            .collect();
        let rows: Vec<Vec<String>> = lines
            .iter()
            .rev()
            .map(|l| {
                vec![
                    esc(&when(&l.at)),
                    format!("<code>{}</code>", esc(&l.medium_id)),
                    match l.direction.as_str() {
                        "in" => "取込".to_owned(),
                        "erased" => "消去".to_owned(),
                        d => esc(d),
                    },
                    l.terminal_id.as_deref().map(esc).unwrap_or_default(),
                    format!("{}", num(l.item_count)),
                    l.file_sha256
                        .as_deref()
                        .map(|h| format!("<code title=\"{}\">{}…</code>", esc(h), esc(h.get(..16).unwrap_or(h))))
                        .unwrap_or_default(),
                    esc(&l.operator),
                ]
            })
            .collect();
        Ok(format!(
            "<form class=\"card\" method=\"post\" action=\"/it/media/import\" enctype=\"multipart/form-data\">{csrf}\
             <label for=\"file\">媒体ファイル（端末が媒体に書き出したファイル）</label>\
             <input id=\"file\" name=\"file\" type=\"file\" required autofocus>\
             <p class=\"hint\">ネットワーク受信と同じ処理で取り込みます。同じファイルを 2 回取り込んでも二重には保存されません。\
             取り込み後、受領ファイルを媒体に保存して端末で取り込み、媒体を消去してから「消去を記録」を押してください。</p>\
             <button type=\"submit\">取り込む</button></form>{}{}",
            table("消去待ちの媒体", &["媒体 ID", ""], &waiting, "消去待ちの媒体はありません。"),
            table(
                "媒体管理簿",
                &["日時", "媒体 ID", "区分", "端末", "件数", "ファイル SHA-256", "操作者"],
                &rows,
                "媒体の記録はまだありません。"
            ),
        ))
    })
    .await
}

async fn media_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(s) = c.session(&headers) else {
        return to_sign_in();
    };
    let body = media_body(c.clone(), s.viewer().csrf_field()).await;
    render(&s, Section::Media, "媒体", None, body)
}

/// The import form, read in order: the CSRF token must come first (as the form puts it) and is
/// checked before a byte of the file is read, so a request without a session or from another
/// page never makes the hub hold an upload.
async fn read_import(
    c: &Console,
    headers: &HeaderMap,
    mut m: Multipart,
) -> Result<Result<(Signed, Option<(String, Bytes)>), Box<Response>>, ConsoleError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        ConsoleError::Input(format!("送信されたファイルを読めません: {}", e.body_text()))
    };
    let csrf = match m.next_field().await.map_err(bad)? {
        Some(field) if field.name() == Some("csrf") => field.text().await.map_err(bad)?,
        _ => return Err(ConsoleError::RequestRefused),
    };
    let s = match c.post_session(headers, &csrf) {
        Ok(s) => s,
        Err(refused) => return Ok(Err(refused)),
    };
    let mut file = None;
    while let Some(field) = m.next_field().await.map_err(bad)? {
        if field.name() == Some("file") {
            let name = field.file_name().unwrap_or("media.bin").to_owned();
            file = Some((name, field.bytes().await.map_err(bad)?));
        }
    }
    Ok(Ok((s, file)))
}

async fn media_import(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Response {
    // No session: the sign-in page, and the body is never read.
    let Some(session) = c.session(&headers) else {
        return to_sign_in();
    };
    let form = match multipart {
        Ok(m) => read_import(&c, &headers, m).await,
        Err(e) => Err(ConsoleError::Input(format!(
            "送信された内容を読めません: {}",
            e.body_text()
        ))),
    };
    let (s, file) = match form {
        Ok(Ok(f)) => f,
        Ok(Err(refused)) => return *refused,
        Err(ConsoleError::RequestRefused) => {
            let e = ConsoleError::RequestRefused;
            return html_response(e.status(), html::sign_in(Some(&e.notice()), ""));
        }
        Err(e) => return after(c.clone(), &session, Section::Media, Err(e)).await,
    };
    let Some((file_name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        let e = ConsoleError::Input("取り込む媒体ファイルを選んでください".into());
        return after(c.clone(), &s, Section::Media, Err(e)).await;
    };
    let c2 = c.clone();
    let op = s.operator.clone();
    let imported = off_thread(move || Ok(c2.hub.import_media(&bytes, &op)?)).await;
    match imported {
        Ok((report, receipt)) => {
            let id = match random_hex(16) {
                Ok(id) => id,
                Err(e) => return after(c.clone(), &s, Section::Media, Err(e)).await,
            };
            let receipt_name = format!("{file_name}.receipt");
            if let Ok(mut d) = c.downloads.lock() {
                d.retain(|_, x| x.made.elapsed() < DOWNLOAD_TTL);
                d.insert(
                    id.clone(),
                    Download {
                        operator: s.operator.clone(),
                        file_name: receipt_name.clone(),
                        bytes: receipt,
                        made: Instant::now(),
                    },
                );
            }
            html_response(
                StatusCode::OK,
                page(
                    &s.viewer(),
                    Section::Media,
                    "媒体の取り込み結果",
                    Some(&Notice::Done(import_summary(&report))),
                    &import_body(&report, &id, &receipt_name),
                ),
            )
        }
        Err(e) => after(c.clone(), &s, Section::Media, Err(e)).await,
    }
}

fn import_summary(r: &MediaImportReport) -> String {
    if r.batches_already_imported == r.batches && r.batches > 0 {
        format!(
            "媒体 {} は取り込み済みです（新たに保存したものはありません）。受領ファイルを作り直しました",
            r.medium_id
        )
    } else {
        format!(
            "媒体 {} を取り込みました: 新規 {} 件、受信済み {} 件、競合 {} 件",
            r.medium_id,
            num(r.accepted),
            num(r.already_have),
            num(r.conflicts)
        )
    }
}

fn import_body(r: &MediaImportReport, id: &str, receipt_name: &str) -> String {
    format!(
        "{}<p><a class=\"button\" href=\"/it/download/{}\" download=\"{}\" autofocus>受領ファイルを保存（{}）</a></p>\
         <p class=\"hint\">受領ファイルを媒体に保存し、端末の「同期」画面で「受領ファイルの取り込み」を行うと、\
         端末の項目が受領確認済みになります。その後、媒体を消去して「媒体」画面で「消去を記録」を押してください。\
         受領ファイルはこの画面から 1 時間保存できます。</p><p><a href=\"/it/media\">媒体の画面へ戻る</a></p>",
        facts(&[
            ("媒体 ID", format!("<code>{}</code>", esc(&r.medium_id))),
            ("端末", format!("<code>{}</code>", esc(&r.terminal_id))),
            ("ファイル SHA-256", format!("<code>{}</code>", esc(&r.file_sha256))),
            ("バッチ", format!("{} 件（取り込み済み {} 件）", num(r.batches), num(r.batches_already_imported))),
            ("項目", format!("{} 件", num(r.items))),
            ("新規に保存", format!("{} 件", num(r.accepted))),
            ("受信済み（重複）", format!("{} 件", num(r.already_have))),
            ("競合（保留）", format!("{} 件", num(r.conflicts))),
        ]),
        esc(id),
        esc(receipt_name),
        esc(receipt_name),
    )
}

async fn download(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Response {
    let Some(s) = c.session(&headers) else {
        return to_sign_in();
    };
    let found = c.downloads.lock().ok().and_then(|mut d| {
        d.retain(|_, x| x.made.elapsed() < DOWNLOAD_TTL);
        d.get(&id)
            .filter(|x| x.operator == s.operator && x.made.elapsed() < DOWNLOAD_TTL)
            .map(|x| (x.file_name.clone(), x.bytes.clone()))
    });
    match found {
        Some((name, bytes)) => attachment(&name, "application/octet-stream", bytes),
        None => {
            let e = ConsoleError::DownloadGone;
            after(c.clone(), &s, Section::Media, Err(e)).await
        }
    }
}

/// A file the browser saves. The name is reduced to safe ASCII for the header's plain form
/// and given whole in `filename*` (RFC 6266).
fn attachment(name: &str, content_type: &'static str, bytes: Vec<u8>) -> Response {
    let plain: String = name
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ".-_".contains(ch) {
                ch
            } else {
                '_'
            }
        })
        .collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b".-_".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let disposition = format!("attachment; filename=\"{plain}\"; filename*=UTF-8''{encoded}");
    let mut res = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, content_type)],
        bytes,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&disposition) {
        res.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    res
}

#[derive(Deserialize)]
struct ErasedForm {
    csrf: String,
    medium_id: String,
}

async fn media_erased(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<ErasedForm>,
) -> Response {
    let csrf = f.csrf.clone();
    post_action(c, headers, &csrf, Section::Media, move |hub, op| {
        let medium = f.medium_id.trim().to_owned();
        record_erased(hub.store_ref(), hub.now(), &medium, op)?;
        Ok(Notice::Done(format!("媒体 {medium} の消去を記録しました")))
    })
    .await
}

/// A signed-in form's action: run on the hub (off the async threads) as the operator, then
/// the section's page again with the outcome above it.
async fn post_action(
    c: Arc<Console>,
    headers: HeaderMap,
    csrf: &str,
    section: Section,
    act: impl FnOnce(&Hub, &str) -> Result<Notice, ConsoleError> + Send + 'static,
) -> Response {
    let s = match c.post_session(&headers, csrf) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let c2 = c.clone();
    let op = s.operator.clone();
    let outcome = off_thread(move || act(&c2.hub, &op)).await;
    after(c, &s, section, outcome).await
}

// ---- 端末 --------------------------------------------------------------------------------

async fn terminals_body(c: Arc<Console>, csrf: String) -> Result<String, ConsoleError> {
    off_thread(move || {
        let terminals = c.hub.store_ref().terminals().map_err(HubError::from)?;
        let rows: Vec<Vec<String>> = terminals
            .iter()
            .map(|t| {
                let state = match t.revoked_at {
                    Some(at) => format!("<span class=\"bad\">取消</span> {}", esc(&when(&at))),
                    None => "<span class=\"ok\">有効</span>".to_owned(),
                };
                let action = if t.revoked_at.is_none() {
                    format!(
                        "<form method=\"post\" action=\"/it/terminals/revoke\">{csrf}\
                         <input type=\"hidden\" name=\"terminal_id\" value=\"{id}\">\
                         <label class=\"check\"><input type=\"checkbox\" name=\"confirm\" value=\"yes\">取り消す</label> \
                         <button type=\"submit\" class=\"danger\">登録取消</button></form>",
                        id = esc(&t.terminal_id)
                    )
                } else {
                    String::new()
                };
                vec![
                    format!("<code>{}</code>", esc(&t.terminal_id)),
                    esc(&t.terminal_name),
                    esc(&t.municipality_code),
                    if t.demo { "デモ" } else { "本番" }.to_owned(),
                    esc(&when(&t.enrolled_at)),
                    state,
                    num(u64::try_from(t.chain.seq).unwrap_or(0)),
                    action,
                ]
            })
            .collect();
        Ok(format!(
            "<form class=\"card\" method=\"post\" action=\"/it/terminals/enrol-code\">{csrf}\
             <label for=\"municipality\">地方公共団体コード（6 桁）</label>\
             <input id=\"municipality\" name=\"municipality\" inputmode=\"numeric\" maxlength=\"6\" required autofocus>\
             <p class=\"hint\">端末の登録に使うワンタイムコードを発行します（24 時間、1 回だけ有効）。</p>\
             <button type=\"submit\">登録コードを発行</button></form>{}",
            table(
                "登録端末",
                &["端末 ID", "名称", "団体コード", "種別", "登録日時", "状態", "受信した操作ログ", ""],
                &rows,
                "登録された端末はまだありません。"
            )
        ))
    })
    .await
}

async fn terminals_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(s) = c.session(&headers) else {
        return to_sign_in();
    };
    let body = terminals_body(c.clone(), s.viewer().csrf_field()).await;
    render(&s, Section::Terminals, "端末", None, body)
}

#[derive(Deserialize)]
struct EnrolCodeForm {
    csrf: String,
    municipality: String,
}

async fn enrol_code(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<EnrolCodeForm>,
) -> Response {
    let s = match c.post_session(&headers, &f.csrf) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let c2 = c.clone();
    let op = s.operator.clone();
    let municipality = f.municipality.trim().to_owned();
    let m2 = municipality.clone();
    match off_thread(move || Ok(c2.hub.new_enrol_code_by(&m2, &op)?)).await {
        Ok(code) => {
            let body = format!(
                "<p>端末の「同期」画面（または <code>sesshu enrol</code>）で次のコードを入力してください。\
                 このコードは 24 時間、1 回だけ使えます。この画面を閉じると二度と表示されません。</p>\
                 <p class=\"big\" id=\"enrol-code\">{}</p>{}<p><a href=\"/it/terminals\" autofocus>端末の画面へ戻る</a></p>",
                esc(&code),
                facts(&[
                    ("地方公共団体コード", esc(&municipality)),
                    (
                        "ハブ鍵の指紋",
                        format!("<code>{}</code>", esc(&c.hub.public_key().fingerprint())),
                    ),
                ])
            );
            html_response(
                StatusCode::OK,
                page(
                    &s.viewer(),
                    Section::Terminals,
                    "端末登録コード",
                    Some(&Notice::Done("登録コードを発行しました".into())),
                    &body,
                ),
            )
        }
        Err(e) => after(c.clone(), &s, Section::Terminals, Err(e)).await,
    }
}

#[derive(Deserialize)]
struct RevokeForm {
    csrf: String,
    terminal_id: String,
    #[serde(default)]
    confirm: Option<String>,
}

async fn revoke(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<RevokeForm>,
) -> Response {
    let csrf = f.csrf.clone();
    post_action(c, headers, &csrf, Section::Terminals, move |hub, op| {
        if f.confirm.as_deref() != Some("yes") {
            return Err(ConsoleError::Input(
                "登録を取り消すには「取り消す」にチェックを入れてください".into(),
            ));
        }
        let id = f.terminal_id.trim().to_owned();
        if hub.revoke_by(&id, op)? {
            Ok(Notice::Done(format!(
                "端末 {id} の登録を取り消しました。以後この端末のバッチは拒否されます"
            )))
        } else {
            Err(ConsoleError::Input(format!(
                "端末 {id} は登録されていません"
            )))
        }
    })
    .await
}

// ---- 出力 --------------------------------------------------------------------------------

fn encoding_select(id: &str) -> String {
    format!(
        "<label for=\"{id}\">文字コード</label><select id=\"{id}\" name=\"encoding\">\
         <option value=\"utf-8\">UTF-8</option><option value=\"cp932\">Shift_JIS (CP932)</option></select>"
    )
}

fn exports_body(v: &Viewer<'_>) -> String {
    let csrf = v.csrf_field();
    format!(
        "<p class=\"hint\">出力はすべてハブの操作ログに操作者名とともに記録されます。</p>\
         <form class=\"card\" method=\"post\" action=\"/it/exports/records\">{csrf}<h2>接種記録（CSV）</h2>\
         {}<button type=\"submit\">接種記録を出力</button></form>\
         <form class=\"card\" method=\"post\" action=\"/it/exports/reconciliation\">{csrf}<h2>突合レポート（CSV）</h2>\
         <label for=\"by\">集計単位</label><select id=\"by\" name=\"by\"><option value=\"terminal\">端末</option>\
         <option value=\"batch\">受付バッチ</option><option value=\"clinic\">医療機関</option></select>\
         {}<button type=\"submit\">突合レポートを出力</button></form>\
         <form class=\"card\" method=\"post\" action=\"/it/exports/disclosure\">{csrf}<h2>開示請求（JSON）</h2>\
         <label for=\"resident\">宛名番号</label><input id=\"resident\" name=\"resident\" inputmode=\"numeric\" required>\
         <p class=\"hint\">その宛名番号についてハブが保持するすべて（接種記録・訂正・削除・競合・閲覧記録）を出力します。</p>\
         <button type=\"submit\">開示用データを出力</button></form>",
        encoding_select("records-encoding"),
        encoding_select("reconciliation-encoding"),
    )
}

async fn exports_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(s) = c.session(&headers) else {
        return to_sign_in();
    };
    let body = exports_body(&s.viewer());
    render(&s, Section::Exports, "出力", None, Ok(body))
}

#[derive(Deserialize)]
struct ExportForm {
    csrf: String,
    #[serde(default)]
    encoding: Option<String>,
    #[serde(default)]
    by: Option<String>,
    #[serde(default)]
    resident: Option<String>,
}

fn parse_encoding(s: Option<&str>) -> Result<Encoding, ConsoleError> {
    Encoding::parse(s.unwrap_or("utf-8"))
        .ok_or_else(|| ConsoleError::Input("文字コードは UTF-8 か Shift_JIS (CP932) です".into()))
}

fn csv_type(enc: Encoding) -> &'static str {
    match enc {
        Encoding::Utf8 => "text/csv; charset=utf-8",
        Encoding::Cp932 => "text/csv; charset=shift_jis",
    }
}

/// An export: writes the file for the form's choices as the operator, and names it and its
/// content type.
type ExportRun =
    fn(&Hub, &ExportForm, &mut Vec<u8>, &str) -> Result<(String, &'static str), ConsoleError>;

async fn export_with(
    c: Arc<Console>,
    headers: HeaderMap,
    f: ExportForm,
    run: ExportRun,
) -> Response {
    let s = match c.post_session(&headers, &f.csrf) {
        Ok(s) => s,
        Err(refused) => return *refused,
    };
    let c2 = c.clone();
    let op = s.operator.clone();
    let made = off_thread(move || {
        let mut out = Vec::new();
        let (name, ty) = run(&c2.hub, &f, &mut out, &op)?;
        Ok((name, ty, out))
    })
    .await;
    match made {
        Ok((name, ty, bytes)) => attachment(&name, ty, bytes),
        Err(e) => after(c.clone(), &s, Section::Exports, Err(e)).await,
    }
}

fn stamp(hub: &Hub) -> String {
    hub.now().format("%Y%m%d-%H%M%S").to_string()
}

async fn export_records(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<ExportForm>,
) -> Response {
    export_with(c, headers, f, |hub, f, out, op| {
        let enc = parse_encoding(f.encoding.as_deref())?;
        hub.export_records_mapped(out, enc, None, op)?;
        Ok((format!("records-{}.csv", stamp(hub)), csv_type(enc)))
    })
    .await
}

async fn export_reconciliation(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<ExportForm>,
) -> Response {
    export_with(c, headers, f, |hub, f, out, op| {
        let enc = parse_encoding(f.encoding.as_deref())?;
        let by = GroupBy::parse(f.by.as_deref().unwrap_or("terminal")).ok_or_else(|| {
            ConsoleError::Input("集計単位は端末・受付バッチ・医療機関です".into())
        })?;
        hub.export_reconciliation(out, by, enc, op)?;
        Ok((
            format!("reconciliation-{}-{}.csv", by.name(), stamp(hub)),
            csv_type(enc),
        ))
    })
    .await
}

async fn export_disclosure(
    State(c): State<Arc<Console>>,
    headers: HeaderMap,
    Form(f): Form<ExportForm>,
) -> Response {
    export_with(c, headers, f, |hub, f, out, op| {
        let resident = f.resident.as_deref().unwrap_or("").trim().to_owned();
        sesshu_domain::resident::AtenaNumber::parse(&resident)
            .map_err(|e| ConsoleError::Input(e.to_string()))?;
        hub.export_disclosure(out, &resident, op)?;
        Ok((
            format!("disclosure-{}.json", stamp(hub)),
            "application/json",
        ))
    })
    .await
}

// ---- 操作ログ ----------------------------------------------------------------------------

async fn audit_page(State(c): State<Arc<Console>>, headers: HeaderMap) -> Response {
    let Some(s) = c.session(&headers) else {
        return to_sign_in();
    };
    let c2 = c.clone();
    let body = off_thread(move || {
        let v = c2.hub.verify_audit()?;
        let mut newest = std::collections::VecDeque::with_capacity(AUDIT_ROWS);
        c2.hub
            .store_ref()
            .hub_audit_visit(0, &mut |l| {
                if newest.len() == AUDIT_ROWS {
                    newest.pop_front();
                }
                newest.push_back(l.clone());
                Ok(())
            })
            .map_err(HubError::from)?;
        let rows: Vec<Vec<String>> = newest
            .iter()
            .rev()
            .map(|l| {
                let event = HubEvent::from_code(l.action);
                vec![
                    num(u64::try_from(l.seq).unwrap_or(0)),
                    esc(&l.at),
                    esc(l.actor.as_deref().unwrap_or("")),
                    event.map_or_else(|| l.action.to_string(), |e| e.label_ja().to_owned()),
                    format!("<code>{}</code>", esc(l.target.as_deref().unwrap_or(""))),
                    format!("<code>{}</code>", esc(&l.detail)),
                ]
            })
            .collect();
        let status = match &v.broken {
            None => Notice::Done(format!(
                "ハブの操作ログの連鎖を検証しました: 正常（{} 件）",
                num(v.entries)
            )),
            Some(b) => Notice::Error {
                code: "HUB_AUDIT_BROKEN",
                message: format!(
                    "ハブの操作ログの連鎖が壊れています: {}",
                    serde_json::to_string(b).unwrap_or_default()
                ),
            },
        };
        Ok((
            status,
            table(
                &format!("新しい順（最大 {AUDIT_ROWS} 件）"),
                &["番号", "日時", "操作者", "操作", "対象", "詳細"],
                &rows,
                "操作ログはまだありません。",
            ),
        ))
    })
    .await;
    match body {
        Ok((status, b)) => render(&s, Section::Audit, "操作ログ", Some(status), Ok(b)),
        Err(e) => render(&s, Section::Audit, "操作ログ", None, Err(e)),
    }
}
