//! The hub's HTTPS server: axum routes over hyper 1, TLS by rustls (aws-lc-rs).
//!
//! State directory (`--state DIR`, made 0700, files 0600), created at first start and reused:
//! - `hub-key`: the hub's Ed25519 signing key (hex). Receipts and enrolments are signed with it;
//!   terminals pin its public key.
//! - `hub-id`: a UUIDv7 naming this hub.
//! - `tls-key.pem`, `tls-cert.der`: a self-signed certificate (ECDSA P-256). Terminals pin its
//!   public key (SubjectPublicKeyInfo), not the address, so IT can move the hub.
//! - `hub-profile`: `demo` or `production`, fixed at the first `serve`: a hub that enrolled demo
//!   terminals must not later be started as a production hub (or the reverse) by a missing flag.
//!
//! On start the server prints one JSON line ([`Announce`]) to stdout. Logs carry ids and counts
//! only, never a payload.

use crate::service::{Clock, Hub};
use crate::store::HubStore;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use sesshu_protocol::errors::Refusal;
use sesshu_protocol::sign::fingerprint;
use sesshu_protocol::{RefusalCode, SigningKey, MAX_BATCH_BYTES};
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A TLS handshake or a request header that takes longer than this is dropped: an idle or slow
/// client must not hold a connection task for ever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
/// How long shutdown waits for requests in flight (a batch being stored) to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("状態ディレクトリ {path} を使えません: {source}")]
    State {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("状態ディレクトリの {0} が壊れています")]
    StateCorrupt(&'static str),
    #[error("証明書を作れません: {0}")]
    Certificate(String),
    #[error("TLS の設定に失敗しました: {0}")]
    Tls(String),
    #[error("{addr} で待ち受けできません: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("乱数を取得できません: {0}")]
    Random(String),
    #[error(
        "この状態ディレクトリは{}のハブのものです。{}で起動してください",
        if *.0 { "デモ用" } else { "本番用" },
        if *.0 { "--demo 付き" } else { "--demo なし" }
    )]
    ProfileMismatch(bool),
}

/// The hub's identity, kept in the state directory.
pub struct HubIdentity {
    pub key: SigningKey,
    pub hub_id: String,
}

/// The line the server prints on start (tests and the README read it).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Announce {
    /// `https://ADDR:PORT` actually bound (the real port with `:0`).
    pub listen: String,
    /// [`fingerprint`] of the TLS certificate's SubjectPublicKeyInfo DER.
    pub cert_fingerprint: String,
    /// [`fingerprint`] of the hub's Ed25519 public key.
    pub hub_key_fingerprint: String,
    pub hub_id: String,
    /// `http://127.0.0.1:PORT/it/` when the IT console is served (`--console`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub console: Option<String>,
}

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// `HOST:PORT`; port 0 picks a free one.
    pub listen: String,
    pub state_dir: PathBuf,
    pub demo: bool,
}

fn state_err(path: &Path) -> impl FnOnce(std::io::Error) -> ServerError + '_ {
    move |source| ServerError::State {
        path: path.to_owned(),
        source,
    }
}

/// Creates the state directory (0700) if missing.
pub fn ensure_state_dir(dir: &Path) -> Result<(), ServerError> {
    std::fs::create_dir_all(dir).map_err(state_err(dir))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(state_err(dir))?;
    }
    Ok(())
}

/// Writes a secret or state file readable by the hub's user only (0600), replacing it whole.
fn write_private(dir: &Path, name: &str, bytes: &[u8]) -> Result<(), ServerError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(&tmp).map_err(state_err(&tmp))?;
    f.write_all(bytes).map_err(state_err(&tmp))?;
    f.sync_all().map_err(state_err(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(state_err(&path))
}

fn read_optional(dir: &Path, name: &str) -> Result<Option<Vec<u8>>, ServerError> {
    let path = dir.join(name);
    match std::fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(state_err(&path)(e)),
    }
}

/// The hub's signing key and id from `dir`, made at the first call.
pub fn load_or_create_identity(dir: &Path) -> Result<HubIdentity, ServerError> {
    ensure_state_dir(dir)?;
    let key = match read_optional(dir, "hub-key")? {
        Some(b) => {
            let hex = String::from_utf8(b).map_err(|_| ServerError::StateCorrupt("hub-key"))?;
            SigningKey::from_hex(&hex).map_err(|_| ServerError::StateCorrupt("hub-key"))?
        }
        None => {
            let mut secret = zeroize::Zeroizing::new([0u8; 32]);
            getrandom::getrandom(secret.as_mut())
                .map_err(|e| ServerError::Random(e.to_string()))?;
            let key = SigningKey::from_bytes(&secret);
            write_private(dir, "hub-key", key.to_hex().as_bytes())?;
            key
        }
    };
    let hub_id = match read_optional(dir, "hub-id")? {
        Some(b) => String::from_utf8(b)
            .map_err(|_| ServerError::StateCorrupt("hub-id"))?
            .trim()
            .to_owned(),
        None => {
            let mut random = [0u8; 10];
            getrandom::getrandom(&mut random).map_err(|e| ServerError::Random(e.to_string()))?;
            let ms = u64::try_from(chrono::Utc::now().timestamp_millis()).unwrap_or(0);
            let id = uuid::Builder::from_unix_timestamp_millis(ms, &random)
                .into_uuid()
                .to_string();
            write_private(dir, "hub-id", id.as_bytes())?;
            id
        }
    };
    if hub_id.is_empty() {
        return Err(ServerError::StateCorrupt("hub-id"));
    }
    Ok(HubIdentity { key, hub_id })
}

/// Fixes the hub's profile (demo or production) at the first start; refuses the other later.
pub fn check_profile(dir: &Path, demo: bool) -> Result<(), ServerError> {
    let want = if demo { "demo" } else { "production" };
    match read_optional(dir, "hub-profile")? {
        None => write_private(dir, "hub-profile", want.as_bytes()),
        Some(b) => match String::from_utf8_lossy(&b).trim() {
            p if p == want => Ok(()),
            "demo" => Err(ServerError::ProfileMismatch(true)),
            "production" => Err(ServerError::ProfileMismatch(false)),
            _ => Err(ServerError::StateCorrupt("hub-profile")),
        },
    }
}

/// The TLS certificate and key, and the SPKI the terminals pin.
pub struct TlsMaterial {
    pub cert_der: Vec<u8>,
    pub key_pkcs8_der: Vec<u8>,
    pub spki_der: Vec<u8>,
}

impl TlsMaterial {
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.spki_der)
    }
}

/// The certificate from `dir`, made at the first call for `localhost`, `127.0.0.1` and
/// `listen_host` (later starts reuse it whatever the address: the pin is on the key).
pub fn load_or_create_tls(dir: &Path, listen_host: &str) -> Result<TlsMaterial, ServerError> {
    use rcgen::PublicKeyData;
    ensure_state_dir(dir)?;
    let cert = read_optional(dir, "tls-cert.der")?;
    let key = read_optional(dir, "tls-key.pem")?;
    let (cert_der, key_pair) = match (cert, key) {
        (Some(cert), Some(pem)) => {
            let pem =
                String::from_utf8(pem).map_err(|_| ServerError::StateCorrupt("tls-key.pem"))?;
            let kp = rcgen::KeyPair::from_pem(&pem)
                .map_err(|_| ServerError::StateCorrupt("tls-key.pem"))?;
            (cert, kp)
        }
        _ => {
            let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
            let host = listen_host.trim_start_matches('[').trim_end_matches(']');
            let unspecified = host == "0.0.0.0" || host == "::";
            if !host.is_empty() && !unspecified && !names.iter().any(|n| n == host) {
                names.push(host.to_owned());
            }
            let made = rcgen::generate_simple_self_signed(names)
                .map_err(|e| ServerError::Certificate(e.to_string()))?;
            write_private(
                dir,
                "tls-key.pem",
                made.signing_key.serialize_pem().as_bytes(),
            )?;
            write_private(dir, "tls-cert.der", made.cert.der())?;
            (made.cert.der().to_vec(), made.signing_key)
        }
    };
    Ok(TlsMaterial {
        cert_der,
        key_pkcs8_der: key_pair.serialize_der(),
        spki_der: key_pair.subject_public_key_info(),
    })
}

fn tls_acceptor(tls: &TlsMaterial) -> Result<TlsAcceptor, ServerError> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| ServerError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(tls.cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(tls.key_pkcs8_der.clone())),
        )
        .map_err(|e| ServerError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn refusal_response(r: Refusal) -> Response {
    // The code only: messages may name item ids, and logs keep to ids and counts of terminals.
    tracing::info!(code = ?r.code, "request refused");
    let status =
        StatusCode::from_u16(r.code.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, axum::Json(r)).into_response()
}

fn body_refusal(rej: BytesRejection) -> Response {
    let code = if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
        RefusalCode::TooLarge
    } else {
        RefusalCode::Malformed
    };
    refusal_response(Refusal {
        code,
        message: match code {
            RefusalCode::TooLarge => format!("a request may have at most {MAX_BATCH_BYTES} bytes"),
            _ => "the request body could not be read".to_owned(),
        },
    })
}

/// Runs a hub call off the async threads (the store is synchronous and may fsync).
async fn blocking<T, F>(f: F) -> Response
where
    F: FnOnce() -> Result<T, Refusal> + Send + 'static,
    T: serde::Serialize + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(Ok(v)) => axum::Json(v).into_response(),
        Ok(Err(r)) => refusal_response(r),
        Err(e) => {
            tracing::error!(error = %e, "request task failed");
            refusal_response(Refusal {
                code: RefusalCode::Unavailable,
                message: "the hub failed while handling this request; nothing was stored".into(),
            })
        }
    }
}

async fn hello(State(hub): State<Arc<Hub>>) -> Response {
    axum::Json(hub.hello()).into_response()
}

async fn enrol(State(hub): State<Arc<Hub>>, body: Result<Bytes, BytesRejection>) -> Response {
    match body {
        Ok(b) => blocking(move || hub.enrol_body(&b)).await,
        Err(rej) => body_refusal(rej),
    }
}

async fn batches(
    State(hub): State<Arc<Hub>>,
    headers: axum::http::HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let detached = headers
        .get(sesshu_protocol::wire::SIGNATURE_HEADER)
        .map(|v| v.to_str().map(str::to_owned));
    match (body, detached) {
        (Ok(b), None) => blocking(move || hub.ingest(&b)).await,
        (Ok(b), Some(Ok(sig))) => blocking(move || hub.ingest_detached(&b, sig)).await,
        (Ok(_), Some(Err(_))) => refusal_response(Refusal {
            code: RefusalCode::Malformed,
            message: "the signature header is not text".into(),
        }),
        (Err(rej), _) => body_refusal(rej),
    }
}

async fn downlink(State(hub): State<Arc<Hub>>, body: Result<Bytes, BytesRejection>) -> Response {
    match body {
        Ok(b) => blocking(move || hub.downlink_request(&b)).await,
        Err(rej) => body_refusal(rej),
    }
}

/// The routes of `sesshu_protocol::wire` on `hub`.
pub fn router(hub: Arc<Hub>) -> Router {
    Router::new()
        .route("/v1/hello", get(hello))
        .route("/v1/enrol", post(enrol))
        .route("/v1/batches", post(batches))
        .route("/v1/downlink", post(downlink))
        .layer(DefaultBodyLimit::max(MAX_BATCH_BYTES))
        .with_state(hub)
}

/// A bound, not yet running server.
pub struct Server {
    listener: TcpListener,
    acceptor: TlsAcceptor,
    hub: Arc<Hub>,
    announce: Announce,
}

impl Server {
    /// Loads or creates the state, binds the address. Nothing is served until [`Server::run`].
    pub async fn bind(
        store: Arc<dyn HubStore>,
        opts: &ServeOptions,
        clock: Clock,
    ) -> Result<Server, ServerError> {
        let identity = load_or_create_identity(&opts.state_dir)?;
        check_profile(&opts.state_dir, opts.demo)?;
        let host = opts
            .listen
            .rsplit_once(':')
            .map_or(opts.listen.as_str(), |(h, _)| h);
        let tls = load_or_create_tls(&opts.state_dir, host)?;
        let hub = Arc::new(Hub::new(
            store,
            identity.key,
            identity.hub_id,
            opts.demo,
            clock,
        ));
        Server::from_parts(hub, &tls, &opts.listen).await
    }

    /// A server for an existing hub and certificate (tests and benchmarks that build the
    /// [`Hub`] themselves, e.g. with a moved clock or another store).
    pub async fn from_parts(
        hub: Arc<Hub>,
        tls: &TlsMaterial,
        listen: &str,
    ) -> Result<Server, ServerError> {
        let acceptor = tls_acceptor(tls)?;
        let listener = TcpListener::bind(listen)
            .await
            .map_err(|source| ServerError::Bind {
                addr: listen.to_owned(),
                source,
            })?;
        let addr: SocketAddr = listener.local_addr().map_err(|source| ServerError::Bind {
            addr: listen.to_owned(),
            source,
        })?;
        let announce = Announce {
            listen: format!("https://{addr}"),
            cert_fingerprint: tls.fingerprint(),
            hub_key_fingerprint: hub.public_key().fingerprint(),
            hub_id: hub.hub_id().to_owned(),
            console: None,
        };
        Ok(Server {
            listener,
            acceptor,
            hub,
            announce,
        })
    }

    pub fn announce(&self) -> &Announce {
        &self.announce
    }

    pub fn hub(&self) -> Arc<Hub> {
        self.hub.clone()
    }

    /// Serves until `shutdown` completes, then stops accepting and lets requests in flight
    /// finish (at most 20 seconds).
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send) {
        let router = router(self.hub.clone());
        let graceful = hyper_util::server::graceful::GracefulShutdown::new();
        tracing::info!(listen = %self.announce.listen, demo = self.hub.is_demo(), "hub serving");
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                accepted = self.listener.accept() => {
                    let (tcp, _peer) = match accepted {
                        Ok(x) => x,
                        Err(e) => {
                            // Out of file descriptors and the like: pause rather than spin.
                            tracing::warn!(error = %e, "accept failed");
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    };
                    let acceptor = self.acceptor.clone();
                    let service = hyper_util::service::TowerToHyperService::new(router.clone());
                    let watcher = graceful.watcher();
                    tokio::spawn(async move {
                        let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                            Ok(Ok(s)) => s,
                            Ok(Err(e)) => {
                                tracing::debug!(error = %e, "TLS handshake failed");
                                return;
                            }
                            Err(_) => return,
                        };
                        let conn = hyper::server::conn::http1::Builder::new()
                            .timer(TokioTimer::new())
                            .header_read_timeout(HEADER_TIMEOUT)
                            .serve_connection(TokioIo::new(tls), service);
                        if let Err(e) = watcher.watch(conn).await {
                            tracing::debug!(error = %e, "connection ended with an error");
                        }
                    });
                }
                () = &mut shutdown => break,
            }
        }
        drop(self.listener);
        tracing::info!("hub stopping: finishing requests in flight");
        tokio::select! {
            () = graceful.shutdown() => {}
            () = tokio::time::sleep(DRAIN_TIMEOUT) => {
                tracing::warn!("requests still running at shutdown were cut");
            }
        }
    }
}

/// Completes on Ctrl-C or, on Unix, SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
