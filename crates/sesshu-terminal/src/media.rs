//! Sync by removable media (媒体), for sites with no network path to the hub: register a
//! medium (IT, once per stick), write every pending item to it sealed to the pinned hub key,
//! import the hub's receipt file, record the medium's erasure. Permission `ManageMedia`
//! (システム担当). How the file is made and the receipts checked is `sesshu_sync::media`'s.
//!
//! The media ledger (媒体管理簿) records every file written (`out`), every receipt file read
//! (`in`) and every erasure: medium id, who, when, item count and file hash.

use crate::error::{Error, Result};
use crate::sync::{locked, SyncContext};
use crate::terminal::Terminal;
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_ipc::{
    cmd, MediaErasedRequest, MediaExportReport, MediaExportRequest, MediaLedgerLine,
    MediaReceiptReport, MediaReceiptRequest, MediaRegisterRequest, MediumView,
};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::keys::load_identity_secret;
use sesshu_ledger::media::{MediaLedgerRow, Medium, NewMediaLine};
use sesshu_ledger::Ledger;
use sesshu_protocol::media::{MediumIdFile, MEDIA_FORMAT, MEDIUM_ID_FILE};
use sesshu_protocol::{SigningKey, VerifyingKey};
use sesshu_sync::media::{build_media_file, ephemeral_secret, import_receipt_file, MediaError};
use sesshu_sync::SyncIdentity;
use std::path::{Path, PathBuf};

/// How many media ledger lines the list shows.
pub const MEDIA_LEDGER_LINES: u32 = 500;

/// The medium a path lies on: the nearest directory, from `dir` upwards, that holds the id
/// file. Its id is what the terminal checks against its registered media.
pub fn find_medium(dir: &Path) -> Result<(PathBuf, MediumIdFile)> {
    let start = dir.canonicalize().map_err(|_| Error::MediaIo)?;
    for d in start.ancestors() {
        let f = d.join(MEDIUM_ID_FILE);
        if f.is_file() {
            let text = std::fs::read_to_string(&f).map_err(|_| Error::MediumIdFileInvalid)?;
            let id = MediumIdFile::parse(&text).map_err(|_| Error::MediumIdFileInvalid)?;
            return Ok((d.to_owned(), id));
        }
    }
    Err(Error::MediumNotIdentified)
}

fn line_view(r: MediaLedgerRow) -> MediaLedgerLine {
    MediaLedgerLine {
        at: r.at,
        medium_id: r.medium_id,
        actor: r.actor,
        direction: r.direction,
        status: r.status,
        items: r.item_count,
        file_sha256: r.file_sha256,
        file_name: r.file_name,
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The pieces a media export or receipt import needs: the terminal, its identity key and the
/// pinned hub key, checked the way a network push checks them.
struct Identity {
    terminal_id: String,
    municipality_code: String,
    key: SigningKey,
    hub_key: VerifyingKey,
}

fn identity(ledger: &Ledger, ctx: &SyncContext<'_>) -> Result<Identity> {
    let (enrolment, terminal) = ledger.read(|r| Ok((r.sync_enrolment()?, r.terminal()?)))?;
    let enrolment = enrolment.ok_or(Error::NotEnrolled)?;
    let terminal = terminal.ok_or(Error::NotSetUp)?;
    let secret =
        load_identity_secret(ctx.keystore, ctx.ledger_id)?.ok_or(Error::SyncIdentityMissing)?;
    let key = SigningKey::from_bytes(&secret);
    if key.verifying_key().to_hex() != enrolment.terminal_public_key {
        return Err(Error::SyncIdentityMissing);
    }
    let hub_key = VerifyingKey::from_hex(&enrolment.hub_public_key)
        .map_err(|_| Error::Internal("stored hub key"))?;
    Ok(Identity {
        terminal_id: terminal.terminal_id,
        municipality_code: terminal.municipality_code,
        key,
        hub_key,
    })
}

impl Identity {
    fn sync(&self) -> SyncIdentity<'_> {
        SyncIdentity {
            terminal_id: &self.terminal_id,
            municipality_code: &self.municipality_code,
            key: &self.key,
            hub_key: &self.hub_key,
        }
    }
}

fn media_error(e: MediaError) -> Error {
    match e {
        MediaError::Ledger(l) => l.into(),
        MediaError::NothingPending => Error::MediaNothingPending,
        other => {
            tracing::warn!(problem = %other, "media file refused");
            Error::MediaReceiptRejected
        }
    }
}

impl Terminal {
    /// Registers the medium mounted at `medium_path` (IT, once per stick): creates the id file
    /// at its root if absent (a new UUIDv7) and records the id, audited (`MediumRegistered`).
    pub fn media_register(&self, req: MediaRegisterRequest) -> Result<MediumView> {
        let (actor, _) = self.sync_actor::<cmd::MediaRegister>()?;
        let root = PathBuf::from(req.medium_path.trim());
        if !root.is_dir() {
            return Err(Error::MediaIo);
        }
        let label = req.label.trim().to_owned();
        let now = self.clock.now();
        let id_path = root.join(MEDIUM_ID_FILE);
        let id_file = if id_path.is_file() {
            let text = std::fs::read_to_string(&id_path).map_err(|_| Error::MediumIdFileInvalid)?;
            MediumIdFile::parse(&text).map_err(|_| Error::MediumIdFileInvalid)?
        } else {
            let f = MediumIdFile {
                format: MEDIA_FORMAT,
                medium_id: self.ids.new_id(now).to_string(),
                label: label.clone(),
                created_at: now.to_rfc3339(),
            };
            let text = serde_json::to_vec_pretty(&f).map_err(|_| Error::Internal("medium id"))?;
            sesshu_ledger::fsutil::write_private_atomic(&id_path, "tmp", &text)
                .map_err(|_| Error::MediaIo)?;
            f
        };
        if actor
            .ledger
            .read(|r| r.medium(&id_file.medium_id))?
            .is_some()
        {
            return Err(Error::MediumAlreadyRegistered(id_file.medium_id));
        }
        let medium = Medium {
            medium_id: id_file.medium_id.clone(),
            label: if label.is_empty() {
                id_file.label.clone()
            } else {
                label
            },
            registered_at: now.to_rfc3339(),
            registered_by: actor.login_id().to_owned(),
        };
        actor.ledger.mutate(|m| {
            m.register_medium(&medium)?;
            m.audit(
                AuditRecord::new(
                    Some(actor.login_id()),
                    AuditAction::MediumRegistered,
                    Some(&medium.medium_id),
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({ "label": medium.label })),
            )
            .map(|_| ())
        })?;
        Ok(MediumView {
            medium_id: medium.medium_id,
            label: medium.label,
            registered_at: medium.registered_at,
            registered_by: medium.registered_by,
        })
    }

    /// Writes every pending item to `path` on a registered medium, sealed to the pinned hub key
    /// (see `sesshu_sync::media`). Refused with nothing written when the file is not on a
    /// registered medium. Audited (`MediaExported`) before the outbox is read, so the entry
    /// travels in this file; the media ledger line gets the count and hash once the file is
    /// written (temporary file, fsync, rename). Marks nothing as sent.
    pub fn media_export(&self, req: MediaExportRequest) -> Result<MediaExportReport> {
        let (actor, ledger_id) = self.sync_actor::<cmd::MediaExport>()?;
        let _gate = locked(&self.sync_run.gate);
        let out = PathBuf::from(req.path.trim());
        let name = file_name(&out);
        if name.is_empty() {
            return Err(Error::MediaIo);
        }
        if out.exists() {
            return Err(Error::MediaFileExists);
        }
        let dir = out
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let (_, id_file) = find_medium(dir)?;
        let medium_id = id_file.medium_id;
        let ledger = &actor.ledger;
        if ledger.read(|r| r.medium(&medium_id))?.is_none() {
            return Err(Error::MediumNotRegistered(medium_id));
        }
        let ident = self.with_ctx(&ledger_id, |ctx| identity(ledger, ctx))?;
        if ledger.read(|r| r.outbox_pending_count())? == 0 {
            return Err(Error::MediaNothingPending);
        }
        let export_id = self.ids.new_id(self.clock.now()).to_string();
        ledger.mutate(|m| {
            m.media_line(&NewMediaLine {
                entry_id: &export_id,
                medium_id: &medium_id,
                actor: actor.login_id(),
                direction: "out",
                status: "writing",
                item_count: 0,
                file_sha256: None,
                file_name: Some(&name),
            })?;
            m.audit(
                AuditRecord::new(
                    Some(actor.login_id()),
                    AuditAction::MediaExported,
                    Some(&medium_id),
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({ "export_id": export_id })),
            )
            .map(|_| ())
        })?;
        let written = (|| -> Result<sesshu_sync::media::MediaFile> {
            let eph = ephemeral_secret().map_err(|_| Error::Internal("random source"))?;
            let file = self.with_ctx(&ledger_id, |ctx| {
                build_media_file(
                    ledger,
                    &ident.sync(),
                    &ctx.setup.options,
                    &medium_id,
                    &export_id,
                    &eph,
                )
            });
            let file = file.map_err(media_error)?;
            // The stick is not the ledger's directory, but the same discipline applies: a
            // pulled stick leaves the old state or the whole file, never half of one.
            sesshu_ledger::fsutil::write_private_atomic(&out, "partial", &file.bytes)
                .map_err(|_| Error::MediaIo)?;
            Ok(file)
        })();
        let file = match written {
            Ok(f) => f,
            Err(e) => {
                if let Err(le) = ledger.sync_state(|s| s.media_export_failed(&export_id)) {
                    tracing::warn!(error = %le, "media export not marked failed");
                }
                return Err(e);
            }
        };
        ledger.sync_state(|s| {
            s.media_export_written(
                &export_id,
                file.item_count,
                &file.file_sha256,
                &name,
                &file.batches,
            )
        })?;
        tracing::info!(
            items = file.item_count,
            batches = file.batches.len(),
            "media export written"
        );
        Ok(MediaExportReport {
            medium_id,
            export_id,
            file: out.display().to_string(),
            items: file.item_count,
            batches: file.batches.len() as u64,
            file_sha256: file.file_sha256,
        })
    }

    /// Imports the hub's receipt file: every receipt verified with the pinned hub key and
    /// matched to the batch it answers, the items acknowledged as from the network, and an
    /// `in` line in the media ledger; a receipt file imported before changes nothing.
    pub fn media_receipt_import(&self, req: MediaReceiptRequest) -> Result<MediaReceiptReport> {
        let (actor, ledger_id) = self.sync_actor::<cmd::MediaReceiptImport>()?;
        let _gate = locked(&self.sync_run.gate);
        let path = PathBuf::from(req.path.trim());
        let bytes = std::fs::read(&path).map_err(|_| Error::MediaIo)?;
        let ledger = &actor.ledger;
        let ident = self.with_ctx(&ledger_id, |ctx| identity(ledger, ctx))?;
        let entry_id = self.ids.new_id(self.clock.now()).to_string();
        let r = import_receipt_file(
            ledger,
            &ident.sync(),
            &bytes,
            actor.login_id(),
            &file_name(&path),
            &entry_id,
        )
        .map_err(media_error)?;
        // Correction tasks the hub's violations opened (issue 12 §5), audited as after a
        // network sync; a failure here is retried by the next sync or receipt import.
        if let Err(e) = crate::findings::audit_opened_tasks(ledger) {
            tracing::error!(error = %e, "correction task audit deferred");
        }
        Ok(MediaReceiptReport {
            medium_id: r.medium_id,
            export_id: r.export_id,
            receipts: r.receipts,
            acknowledged: r.acknowledged,
            already_acknowledged: r.already_acknowledged,
            accepted: r.accepted,
            already_have: r.already_have,
            conflicts: r.conflicts,
            repeated: r.repeated,
        })
    }

    /// Records that a registered medium was erased (after the hub imported it), audited
    /// (`MediumErased`).
    pub fn media_erased(&self, req: MediaErasedRequest) -> Result<MediaLedgerLine> {
        let (actor, _) = self.sync_actor::<cmd::MediaErased>()?;
        let medium_id = req.medium_id.trim().to_owned();
        let ledger = &actor.ledger;
        if ledger.read(|r| r.medium(&medium_id))?.is_none() {
            return Err(Error::MediumNotRegistered(medium_id));
        }
        let entry_id = self.ids.new_id(self.clock.now()).to_string();
        ledger.mutate(|m| {
            m.media_line(&NewMediaLine {
                entry_id: &entry_id,
                medium_id: &medium_id,
                actor: actor.login_id(),
                direction: "erased",
                status: "recorded",
                item_count: 0,
                file_sha256: None,
                file_name: None,
            })?;
            m.audit(AuditRecord::new(
                Some(actor.login_id()),
                AuditAction::MediumErased,
                Some(&medium_id),
                AuditOutcome::Success,
            ))
            .map(|_| ())
        })?;
        let line = ledger
            .read(|r| r.media_line(&entry_id))?
            .ok_or(Error::Internal("media ledger line"))?;
        Ok(line_view(line))
    }

    /// The media ledger, newest first.
    pub fn media_ledger_list(&self) -> Result<Vec<MediaLedgerLine>> {
        let (actor, _) = self.sync_actor::<cmd::MediaLedgerList>()?;
        let rows = actor.ledger.read(|r| r.media_ledger(MEDIA_LEDGER_LINES))?;
        Ok(rows.into_iter().map(line_view).collect())
    }
}
