//! Request and response types of the downlink commands (signed hub downlinks, first sign-in
//! with the hub's one-time code).

use serde::{Deserialize, Serialize};

/// A downlink file chosen on the sync screen (`Signed<Downlink>` JSON, base64 as the WebView
/// reads it).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownlinkImportRequest {
    pub file_name: String,
    pub content_base64: String,
}

impl std::fmt::Debug for DownlinkImportRequest {
    // The content may hold personal data: never in a debug print.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownlinkImportRequest")
            .field("file_name", &self.file_name)
            .field("bytes", &self.content_base64.len())
            .finish()
    }
}

/// What one applied downlink did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DownlinkReport {
    /// `profile`, `residents` or `roster`.
    pub kind: String,
    pub from_version: u64,
    pub to_version: u64,
    /// False when the hub had nothing new (`from == to`).
    pub applied: bool,
    pub residents_upserted: u64,
    pub residents_removed: u64,
    pub clinics: u64,
    pub products: u64,
    pub accounts_created: u64,
    pub accounts_updated: u64,
    pub accounts_disabled: u64,
    /// Set when the hub expects a rules table or question set version this terminal's build
    /// does not carry (for IT; the downlink is applied all the same).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_note: Option<String>,
}

/// First sign-in of an account the hub's roster created: login id, the one-time code the
/// centre handed over, and the new password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirstSignInRequest {
    pub login_id: String,
    pub code: String,
    pub new_password: String,
}

impl std::fmt::Debug for FirstSignInRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FirstSignInRequest")
            .field("login_id", &self.login_id)
            .field("code", &"<redacted>")
            .field("new_password", &"<redacted>")
            .finish()
    }
}
