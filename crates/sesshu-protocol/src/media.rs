//! Removable media (媒体): what a terminal writes for a hub it cannot reach, and the receipt
//! file the hub writes back.
//!
//! - The **medium id file** ([`MEDIUM_ID_FILE`], JSON [`MediumIdFile`]) sits at the root of a
//!   registered stick; IT creates it once (`sesshu media register`) and the terminal's media
//!   ledger lists the id. A file is written only to a medium whose id the terminal registered.
//! - The **media file** is an envelope ([`crate::envelope`], purpose `MediaBatches`) sealed to
//!   the pinned hub key; inside, [`MediaPayload`]: the same `Signed<Batch>`es the network sync
//!   sends, oldest first.
//! - The **receipt file** ([`RECEIPT_MAGIC`] line, then [`MediaReceiptFile`] JSON): the hub's
//!   `Signed<Receipt>` for every batch, each signed exactly like a network receipt. It holds ids
//!   and outcomes only, so it is not encrypted.

use crate::sign::Signed;
use crate::wire::{Batch, Receipt};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The name of the id file at a registered medium's root.
pub const MEDIUM_ID_FILE: &str = "SESSHU-MEDIUM.json";
/// `format` of the id file, the payload and the receipt file.
pub const MEDIA_FORMAT: u32 = 1;
/// The first line of a receipt file.
pub const RECEIPT_MAGIC: &[u8] = b"SESSHU-MEDIA-RECEIPT/1\n";

/// The id file at a medium's root.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediumIdFile {
    pub format: u32,
    pub medium_id: String,
    /// What IT wrote on the stick's label (free text, no personal data).
    #[serde(default)]
    pub label: String,
    pub created_at: String,
}

/// The plaintext of a media file.
#[derive(Serialize, Deserialize)]
pub struct MediaPayload {
    pub format: u32,
    /// UUIDv7 of this export (the terminal's media ledger row).
    pub export_id: String,
    /// The batches, in outbox order.
    pub batches: Vec<Signed<Batch>>,
}

/// The hub's answer to a media file.
#[derive(Serialize, Deserialize)]
pub struct MediaReceiptFile {
    pub format: u32,
    pub hub_id: String,
    pub terminal_id: String,
    pub medium_id: String,
    pub export_id: String,
    /// [`file_sha256`] of the media file this answers.
    pub file_sha256: String,
    /// One signed receipt per batch, in the file's order.
    pub receipts: Vec<Signed<Receipt>>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaFormatError {
    #[error("not a sesshu media receipt file")]
    NotAReceiptFile,
    #[error("malformed: {0}")]
    Malformed(String),
    #[error("unsupported media format {0}")]
    UnsupportedFormat(u32),
    #[error("not a valid medium id")]
    BadMediumId,
}

/// Lower-case hex SHA-256 of a whole file: what both media ledgers record.
pub fn file_sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// A medium id: 1 to 64 ASCII letters, digits, `-` or `_` (it is printed on ledgers and typed
/// by IT when a stick is erased).
pub fn check_medium_id(id: &str) -> Result<(), MediaFormatError> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(MediaFormatError::BadMediumId);
    }
    Ok(())
}

impl MediumIdFile {
    pub fn parse(text: &str) -> Result<MediumIdFile, MediaFormatError> {
        let f: MediumIdFile =
            serde_json::from_str(text).map_err(|e| MediaFormatError::Malformed(e.to_string()))?;
        if f.format != MEDIA_FORMAT {
            return Err(MediaFormatError::UnsupportedFormat(f.format));
        }
        check_medium_id(&f.medium_id)?;
        Ok(f)
    }
}

impl MediaPayload {
    pub fn to_bytes(&self) -> Result<Vec<u8>, MediaFormatError> {
        serde_json::to_vec(self).map_err(|e| MediaFormatError::Malformed(e.to_string()))
    }

    pub fn parse(bytes: &[u8]) -> Result<MediaPayload, MediaFormatError> {
        let p: MediaPayload = serde_json::from_slice(bytes)
            .map_err(|e| MediaFormatError::Malformed(e.to_string()))?;
        if p.format != MEDIA_FORMAT {
            return Err(MediaFormatError::UnsupportedFormat(p.format));
        }
        Ok(p)
    }
}

impl MediaReceiptFile {
    pub fn to_bytes(&self) -> Result<Vec<u8>, MediaFormatError> {
        let mut out = RECEIPT_MAGIC.to_vec();
        serde_json::to_writer(&mut out, self)
            .map_err(|e| MediaFormatError::Malformed(e.to_string()))?;
        out.push(b'\n');
        Ok(out)
    }

    pub fn parse(bytes: &[u8]) -> Result<MediaReceiptFile, MediaFormatError> {
        let rest = bytes
            .strip_prefix(RECEIPT_MAGIC)
            .ok_or(MediaFormatError::NotAReceiptFile)?;
        let f: MediaReceiptFile =
            serde_json::from_slice(rest).map_err(|e| MediaFormatError::Malformed(e.to_string()))?;
        if f.format != MEDIA_FORMAT {
            return Err(MediaFormatError::UnsupportedFormat(f.format));
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn medium_ids_are_short_plain_ascii() {
        assert!(check_medium_id("MED-0001_a").is_ok());
        assert!(check_medium_id("0191f0e0-0000-7000-8000-000000000001").is_ok());
        for bad in ["", "a b", "媒体", "x/y", &"a".repeat(65)] {
            assert_eq!(check_medium_id(bad), Err(MediaFormatError::BadMediumId));
        }
        let f = MediumIdFile {
            format: MEDIA_FORMAT,
            medium_id: "MED-1".into(),
            label: "USB 1".into(),
            created_at: "2026-11-29T00:00:00Z".into(),
        };
        let text = serde_json::to_string(&f).unwrap();
        assert_eq!(MediumIdFile::parse(&text).unwrap(), f);
        assert!(MediumIdFile::parse(&text.replace("MED-1", "MED 1")).is_err());
    }

    #[test]
    fn a_receipt_file_round_trips_and_needs_its_magic() {
        let f = MediaReceiptFile {
            format: MEDIA_FORMAT,
            hub_id: "hub".into(),
            terminal_id: "t".into(),
            medium_id: "m".into(),
            export_id: "e".into(),
            file_sha256: file_sha256(b"x"),
            receipts: vec![],
        };
        let bytes = f.to_bytes().unwrap();
        let back = MediaReceiptFile::parse(&bytes).unwrap();
        assert_eq!(back.file_sha256, f.file_sha256);
        assert_eq!(
            MediaReceiptFile::parse(&bytes[1..]).err(),
            Some(MediaFormatError::NotAReceiptFile)
        );
    }
}
