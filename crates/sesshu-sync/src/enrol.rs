//! Enrolment on the terminal's side: send the request, check the hub's signed answer.

use crate::transport::{Transport, TransportError};
use sesshu_protocol::sign::Purpose;
use sesshu_protocol::wire::{EnrolRequest, EnrolResponse};
use sesshu_protocol::PROTOCOL_VERSION;

/// A verified enrolment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub response: EnrolResponse,
    /// The TLS key fingerprint seen during enrolment: the pin from now on.
    pub cert_fingerprint: String,
}

#[derive(Debug, thiserror::Error)]
pub enum EnrolError {
    #[error(transparent)]
    Transport(#[from] TransportError),
    /// The answer does not verify, or is not about this terminal.
    #[error("the hub's enrolment answer is not valid: {0}")]
    BadAnswer(String),
}

/// Sends `req` and checks the answer: signed (purpose `Enrolment`) by the key it announces,
/// which must be the key the hub's hello announced; for this terminal and municipality.
pub fn enrol(transport: &dyn Transport, req: &EnrolRequest) -> Result<Enrolled, EnrolError> {
    let hello = transport.hello()?;
    let signed = transport.enrol(req)?;
    let claimed = signed
        .peek()
        .map_err(|e| EnrolError::BadAnswer(e.to_string()))?;
    if claimed.hub_public_key != hello.hub_public_key {
        return Err(EnrolError::BadAnswer(
            "the enrolment was signed by another key than the hub announced".into(),
        ));
    }
    let response = signed
        .open(&claimed.hub_public_key, Purpose::Enrolment)
        .map_err(|e| EnrolError::BadAnswer(e.to_string()))?;
    if response.version != PROTOCOL_VERSION
        || response.terminal_id != req.terminal_id
        || response.municipality_code != req.municipality_code
    {
        return Err(EnrolError::BadAnswer(
            "the enrolment answer is for another terminal".into(),
        ));
    }
    let cert_fingerprint = transport
        .server_fingerprint()
        .ok_or_else(|| EnrolError::BadAnswer("no TLS key was seen during enrolment".into()))?;
    Ok(Enrolled {
        response,
        cert_fingerprint,
    })
}
