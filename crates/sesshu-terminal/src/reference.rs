//! Commands over the reference data the keyers match against: the resident extract (import,
//! status, audited lookups), the code tables and the 受付バッチ.

use crate::batches::{self, Batch};
use crate::codes::{self, CodeImportOptions, ImportMode};
use crate::csv_text::TextEncoding;
use crate::error::{Error, Result};
use crate::residents::{self, Encoding, ImportKind, ImportOptions};
use crate::terminal::Terminal;
use sesshu_domain::batch::{BatchInput, ClaimMonth};
use sesshu_domain::resident::ResidentView;
use sesshu_ipc::{
    cmd, BatchRef, BatchRegisterRequest, BatchView, ClinicView, CodeTable, CodesImportReport,
    CodesImportRequest, FileEncoding, ImportFile, ImportProgressEvent, ResidentKey,
    ResidentLookupRequest, ResidentsImportReport, ResidentsImportRequest, ResidentsStatus,
};
use std::sync::Arc;

/// Receives the progress of long imports (the desktop shell sends it to the window as
/// `sesshu_ipc::IMPORT_PROGRESS_EVENT`).
pub type ProgressSink = Arc<dyn Fn(ImportProgressEvent) + Send + Sync>;

/// The largest file an import accepts (a full extract of a city of a million is ~80 MB).
const IMPORT_MAX_BYTES: usize = 512 * 1024 * 1024;

fn file_bytes(file: &ImportFile) -> Result<Vec<u8>> {
    // Base64 grows the size by 4/3: refuse before decoding what cannot be accepted anyway.
    if file.content_base64.len() / 4 * 3 > IMPORT_MAX_BYTES {
        return Err(Error::ImportFileUnreadable);
    }
    data_encoding::BASE64
        .decode(file.content_base64.as_bytes())
        .map_err(|_| Error::ImportFileUnreadable)
}

fn encoding(e: FileEncoding) -> Option<Encoding> {
    match e {
        FileEncoding::Auto => None,
        FileEncoding::Utf8 => Some(Encoding::Utf8),
        FileEncoding::Cp932 => Some(Encoding::Cp932),
    }
}

fn text_encoding(e: FileEncoding) -> TextEncoding {
    match e {
        FileEncoding::Auto => TextEncoding::Auto,
        FileEncoding::Utf8 => TextEncoding::Utf8,
        FileEncoding::Cp932 => TextEncoding::Cp932,
    }
}

pub(crate) fn batch_view(b: Batch) -> BatchView {
    BatchView {
        id: b.id,
        clinic_code: b.clinic_code,
        clinic_name: b.clinic_name,
        received_on: b.received_on,
        claim_month: b.claim_month,
        programme: b.programme,
        note: b.note,
        status: b.status,
        registered_by: b.registered_by,
        closed_by: b.closed_by,
        progress: b.progress,
    }
}

impl Terminal {
    /// Where progress of long imports goes (set once by the shell).
    pub fn set_progress_sink(&self, sink: ProgressSink) {
        if let Ok(mut s) = self.progress.lock() {
            *s = Some(sink);
        }
    }

    fn progress_sink(&self) -> Option<ProgressSink> {
        self.progress.lock().ok().and_then(|s| s.clone())
    }

    pub fn residents_status(&self) -> Result<ResidentsStatus> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::ResidentsStatus>(&mut inner)?;
        let residents = actor.ledger.read(|r| r.resident_count())?;
        let meta = actor.ledger.read(|r| r.resident_extract())?;
        Ok(ResidentsStatus {
            residents,
            version: meta.as_ref().map(|m| m.version),
            as_of: meta.as_ref().and_then(|m| m.as_of),
            imported_at: meta.map(|m| m.imported_at),
        })
    }

    /// Replaces the extract (or applies a delta) from a file, whole or not at all.
    pub fn residents_import(&self, req: ResidentsImportRequest) -> Result<ResidentsImportReport> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::ResidentsImport>(&mut inner)?;
        let bytes = file_bytes(&req.file)?;
        self.import_residents_bytes(
            &actor.ledger,
            actor.login_id(),
            &bytes,
            req.file.encoding,
            req.delta,
        )
    }

    /// The import itself, for the screen and for `sesshu residents import` (the CLI reads the
    /// file from disk instead of receiving it base64-encoded).
    pub(crate) fn import_residents_bytes(
        &self,
        ledger: &sesshu_ledger::Ledger,
        actor: &str,
        bytes: &[u8],
        file_encoding: FileEncoding,
        delta: bool,
    ) -> Result<ResidentsImportReport> {
        let sink = self.progress_sink();
        let mut progress = |p: residents::ImportProgress| {
            if let Some(sink) = &sink {
                sink(ImportProgressEvent {
                    done: p.done,
                    total: p.total,
                });
            }
        };
        let opts = ImportOptions {
            kind: if delta {
                ImportKind::Delta
            } else {
                ImportKind::Full
            },
            encoding: encoding(file_encoding),
            as_of: None,
        };
        let s = residents::import_extract(ledger, actor, bytes, opts, &mut progress)?;
        tracing::info!(
            rows = s.rows,
            version = s.version,
            "resident extract imported"
        );
        Ok(ResidentsImportReport {
            kind: if delta { "delta" } else { "full" }.to_owned(),
            encoding: s.encoding.label().to_owned(),
            rows: s.rows,
            added: s.added,
            changed: s.changed,
            removed: s.removed,
            total_after: s.total_after,
            file_sha256: s.file_sha256,
            version: s.version,
        })
    }

    /// Signed in at the CLI: imports a file read from disk (the same code as the screen).
    pub fn residents_import_file(
        &self,
        bytes: &[u8],
        file_encoding: FileEncoding,
        delta: bool,
    ) -> Result<ResidentsImportReport> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::ResidentsImport>(&mut inner)?;
        self.import_residents_bytes(&actor.ledger, actor.login_id(), bytes, file_encoding, delta)
    }

    /// Finds residents for a form; every resident shown is an audit entry (who, whom, why).
    pub fn resident_lookup(&self, req: ResidentLookupRequest) -> Result<Vec<ResidentView>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::ResidentLookup>(&mut inner)?;
        let (ledger, who) = (&actor.ledger, actor.login_id());
        Ok(match req.key {
            ResidentKey::Atena { atena } => {
                residents::lookup_by_atena(ledger, who, req.purpose, &atena)?
                    .into_iter()
                    .collect()
            }
            ResidentKey::Ticket { ocr_line } => {
                residents::lookup_by_ticket(ledger, who, req.purpose, &ocr_line)?
                    .into_iter()
                    .collect()
            }
            ResidentKey::KanaBirth {
                kana,
                birth_date,
                sex,
            } => residents::search_by_kana_birth(ledger, who, req.purpose, &kana, birth_date, sex)?,
        })
    }

    pub fn codes_import(&self, req: CodesImportRequest) -> Result<CodesImportReport> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::CodesImport>(&mut inner)?;
        let bytes = file_bytes(&req.file)?;
        let opts = CodeImportOptions {
            encoding: text_encoding(req.file.encoding),
            mode: ImportMode::Replace,
        };
        let r = match req.table {
            CodeTable::Clinics => {
                codes::import_clinics(&actor.ledger, actor.login_id(), &bytes, opts)?
            }
            CodeTable::Products => {
                codes::import_products(&actor.ledger, actor.login_id(), &bytes, opts)?
            }
        };
        Ok(CodesImportReport {
            table: req.table,
            rows: r.rows,
            added: r.added,
            updated: r.updated,
            removed: r.removed,
            file_sha256: r.file_sha256,
        })
    }

    pub fn clinics_list(&self) -> Result<Vec<ClinicView>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::ClinicsList>(&mut inner)?;
        Ok(codes::list_clinics(&actor.ledger)?
            .into_iter()
            .map(|c| ClinicView {
                code: c.code.as_str().to_owned(),
                name: c.name,
            })
            .collect())
    }

    pub fn batches_list(&self) -> Result<Vec<BatchView>> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::BatchesList>(&mut inner)?;
        Ok(batches::list_batches(&actor.ledger, None)?
            .into_iter()
            .map(batch_view)
            .collect())
    }

    pub fn batch_register(&self, req: BatchRegisterRequest) -> Result<BatchView> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::BatchRegister>(&mut inner)?;
        let month = ClaimMonth::parse(&req.claim_month).map_err(Error::InvalidBatch)?;
        let input = BatchInput {
            clinic_code: req.clinic_code,
            received_on: req.received_on,
            claim_year: month.year,
            claim_month: month.month,
            programme: req.programme,
            declared_forms: req.declared_forms,
            note: req.note,
        };
        let b = batches::register_batch(&actor.ledger, actor.login_id(), &input)?;
        Ok(batch_view(b))
    }

    /// Closes a batch: only when every declared form is approved or withdrawn (the refusal
    /// names the counts and is audited).
    pub fn batch_close(&self, req: BatchRef) -> Result<BatchView> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::BatchClose>(&mut inner)?;
        let b = batches::close_batch(&actor.ledger, actor.login_id(), req.batch_id)?;
        Ok(batch_view(b))
    }
}
