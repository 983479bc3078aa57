//! HTTPS to the hub: reqwest (blocking) over rustls with a certificate verifier that accepts
//! exactly one TLS key.
//!
//! The hub's certificate is self-signed and made at its first start; no CA is involved and no
//! system root is loaded. What is pinned is the SHA-256 fingerprint of the certificate's
//! SubjectPublicKeyInfo (formatted by [`sesshu_protocol::sign::fingerprint`], as
//! `sesshu-hub serve` prints it): a new certificate for the same key, or the hub moved to
//! another address, still passes; another key never does. The handshake signature is still
//! verified against that certificate's key, so a replayed certificate without its private key
//! is refused. At enrolment there is no pin yet: the first key seen is accepted (trust on
//! first use) and returned, for IT to compare with what the hub printed.

use crate::transport::{Connector, Transport, TransportError};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use sesshu_protocol::errors::Refusal;
use sesshu_protocol::wire::{Batch, EnrolRequest, EnrolResponse, Hello, Receipt};
use sesshu_protocol::Signed;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Connect timeout: an absent hub is known quickly.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Whole-request timeout: a large batch over a slow LGWAN link still fits.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The fingerprint of a certificate's SubjectPublicKeyInfo, as pinned.
pub fn spki_fingerprint(cert: &CertificateDer<'_>) -> Result<String, rustls::Error> {
    let ee = webpki::EndEntityCert::try_from(cert)
        .map_err(|_| rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding))?;
    Ok(sesshu_protocol::sign::fingerprint(
        ee.subject_public_key_info().as_ref(),
    ))
}

#[derive(Debug)]
struct PinnedKey {
    /// `None`: trust on first use (enrolment).
    pin: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedKey {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let fp = spki_fingerprint(end_entity)?;
        if let Ok(mut g) = self.seen.lock() {
            *g = Some(fp.clone());
        }
        match &self.pin {
            Some(pin) if !pin.eq_ignore_ascii_case(&fp) => Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::ApplicationVerificationFailure,
            )),
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A TLS client configuration that accepts exactly the key whose fingerprint is `pin`
/// (handshake signatures still verified): the terminal's, and the one for tools and tests that
/// talk to the hub directly.
pub fn pinned_tls_config(pin: &str) -> Result<rustls::ClientConfig, rustls::Error> {
    tls_config(Some(pin.trim().to_owned()), Arc::new(Mutex::new(None)))
}

fn tls_config(
    pin: Option<String>,
    seen: Arc<Mutex<Option<String>>>,
) -> Result<rustls::ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier = PinnedKey {
        pin,
        seen,
        provider: provider.clone(),
    };
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The hub over HTTPS.
pub struct HttpsTransport {
    base: String,
    pin: Option<String>,
    client: reqwest::blocking::Client,
    seen: Arc<Mutex<Option<String>>>,
}

impl std::fmt::Debug for HttpsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsTransport")
            .field("base", &self.base)
            .field("pin", &self.pin)
            .finish_non_exhaustive()
    }
}

impl HttpsTransport {
    /// A transport that accepts only the TLS key whose fingerprint is `pin`.
    pub fn pinned(hub_url: &str, pin: &str) -> Result<HttpsTransport, TransportError> {
        Self::build(hub_url, Some(pin.trim().to_owned()))
    }

    /// Enrolment only: accepts the first key the hub presents; read it with
    /// [`Transport::server_fingerprint`] and pin it.
    pub fn trust_on_first_use(hub_url: &str) -> Result<HttpsTransport, TransportError> {
        Self::build(hub_url, None)
    }

    fn build(hub_url: &str, pin: Option<String>) -> Result<HttpsTransport, TransportError> {
        let base = hub_url.trim().trim_end_matches('/').to_owned();
        if !base.starts_with("https://") {
            return Err(TransportError::Unreachable(format!(
                "the hub address must start with https:// ({base})"
            )));
        }
        let seen = Arc::new(Mutex::new(None));
        let tls = tls_config(pin.clone(), seen.clone())
            .map_err(|e| TransportError::Unreachable(format!("TLS set-up: {e}")))?;
        let client = reqwest::blocking::Client::builder()
            .tls_backend_preconfigured(tls)
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // A closed network: never route the hub through a proxy from the environment.
            .no_proxy()
            .build()
            .map_err(|e| TransportError::Unreachable(format!("HTTP client set-up: {e}")))?;
        Ok(HttpsTransport {
            base,
            pin,
            client,
            seen,
        })
    }

    fn classify(&self, e: reqwest::Error) -> TransportError {
        // Full chain: reqwest's own text says little ("error sending request").
        let mut detail = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            detail.push_str(": ");
            detail.push_str(&s.to_string());
            src = s.source();
        }
        if let (Some(pin), Some(seen)) = (&self.pin, self.server_fingerprint())
            && !pin.eq_ignore_ascii_case(&seen)
        {
            return TransportError::Unreachable(format!(
                "the hub presented TLS key {seen}, not the pinned {pin}"
            ));
        }
        if e.is_connect() {
            TransportError::Unreachable(detail)
        } else {
            TransportError::Cut(detail)
        }
    }

    fn answer<T: serde::de::DeserializeOwned>(
        &self,
        resp: reqwest::blocking::Response,
    ) -> Result<T, TransportError> {
        let status = resp.status();
        // A body that stops half-way is a cut: the hub may have stored the request.
        let body = resp.text().map_err(|e| self.classify(e))?;
        if status.is_success() {
            return serde_json::from_str(&body)
                .map_err(|e| TransportError::BadAnswer(format!("{status}: {e}")));
        }
        match serde_json::from_str::<Refusal>(&body) {
            Ok(r) => Err(TransportError::Refused(r)),
            Err(_) => Err(TransportError::BadAnswer(format!(
                "HTTP {status} without a refusal body"
            ))),
        }
    }

    fn post<B: serde::Serialize, T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<T, TransportError> {
        let json = serde_json::to_vec(body)
            .map_err(|e| TransportError::BadAnswer(format!("encoding the request: {e}")))?;
        let resp = self
            .client
            .post(format!("{}{path}", self.base))
            .header("content-type", "application/json")
            .body(json)
            .send()
            .map_err(|e| self.classify(e))?;
        self.answer(resp)
    }
}

impl Transport for HttpsTransport {
    fn hello(&self) -> Result<Hello, TransportError> {
        let resp = self
            .client
            .get(format!("{}/v1/hello", self.base))
            .send()
            .map_err(|e| self.classify(e))?;
        self.answer(resp)
    }

    fn enrol(&self, req: &EnrolRequest) -> Result<Signed<EnrolResponse>, TransportError> {
        self.post("/v1/enrol", req)
    }

    fn send_batch(&self, batch: &Signed<Batch>) -> Result<Signed<Receipt>, TransportError> {
        // Detached: the body as signed, the signature in a header.
        let resp = self
            .client
            .post(format!("{}/v1/batches", self.base))
            .header("content-type", "application/json")
            .header(
                sesshu_protocol::wire::SIGNATURE_HEADER,
                batch.signature.as_str(),
            )
            .body(batch.body.clone())
            .send()
            .map_err(|e| self.classify(e))?;
        self.answer(resp)
    }

    fn downlink(
        &self,
        req: &Signed<sesshu_protocol::downlink::DownlinkRequest>,
    ) -> Result<Signed<sesshu_protocol::downlink::Downlink>, TransportError> {
        self.post("/v1/downlink", req)
    }

    fn server_fingerprint(&self) -> Option<String> {
        self.seen.lock().ok().and_then(|g| g.clone())
    }
}

/// Makes [`HttpsTransport`]s: the connector of the app and the CLI.
#[derive(Debug, Default, Clone, Copy)]
pub struct HttpsConnector;

impl Connector for HttpsConnector {
    fn connect(
        &self,
        hub_url: &str,
        pin: Option<&str>,
    ) -> Result<Box<dyn Transport>, TransportError> {
        Ok(Box::new(match pin {
            Some(p) => HttpsTransport::pinned(hub_url, p)?,
            None => HttpsTransport::trust_on_first_use(hub_url)?,
        }))
    }
}
