//! The demo profile (cargo feature `demo`): a terminal of 「デモ市」 set up on first start with
//! fictional staff, code tables, residents and batches, so the app can be tried at once.
//!
//! Only builds with the feature have it (`scripts/run-demo.sh` builds with it; release bundles
//! do not), its ledger is marked as demo for ever ([`DEMO_MARKER`]), and a build without the
//! feature refuses both the demo profile and a demo ledger.

use crate::error::{Error, Result};
use crate::terminal::{Status, Terminal};
use sesshu_domain::audit::{AuditAction, AuditOutcome};
use sesshu_domain::role::Role;
use sesshu_ipc::SetupRequest;
use sesshu_ledger::accounts::{hash_password_with, NewUser};
use sesshu_ledger::audit::AuditRecord;
use sesshu_ledger::Ledger;

use crate::terminal::DEMO_MARKER;

/// Demo users created by the demo profile (fictional staff; shown in README).
pub const DEMO_PASSWORD: &str = "Demo-pass-2026";
pub const DEMO_USERS: [(&str, &str, &[Role]); 4] = [
    ("keyer01", "入力 一郎", &[Role::Keyer]),
    ("keyer02", "入力 二葉", &[Role::Keyer]),
    ("verifier01", "確認 三郎", &[Role::Verifier]),
    ("syncop01", "連携 四季", &[Role::SyncOperator]),
];

impl Terminal {
    /// Marks the new ledger as a demo ledger, for ever: every screen shows the band, and a
    /// build without the demo feature refuses to open it.
    fn mark_demo(&self) -> Result<()> {
        let inner = self.lock();
        let ledger = crate::terminal::ready(&inner)?;
        ledger.mutate(|m| {
            m.put_setting(DEMO_MARKER.0, DEMO_MARKER.1)?;
            m.audit(
                AuditRecord::new(
                    Some(DEMO_ADMIN),
                    AuditAction::SettingsChanged,
                    Some(DEMO_MARKER.0),
                    AuditOutcome::Success,
                )
                .with_detail(serde_json::json!({ "profile": DEMO_MARKER.1 })),
            )
            .map(|_| ())
        })?;
        Ok(())
    }

    /// Demo profile: a terminal that is set up with fictional staff on first start, so the
    /// app can be tried at once. Never used outside `SESSHU_PROFILE=demo`.
    pub fn seed_demo(&self) -> Result<()> {
        if !matches!(self.lock().status, Status::NeedsSetup) {
            return Ok(());
        }
        self.setup(SetupRequest {
            municipality_name: "デモ市".into(),
            municipality_code: "041009".into(),
            terminal_name: "デモ端末".into(),
            admin_login_id: DEMO_ADMIN.into(),
            admin_display_name: "管理 花子".into(),
            admin_password: DEMO_PASSWORD.into(),
        })?;
        self.mark_demo()?;
        let mut inner = self.lock();
        let Status::Ready { ledger, wraps } = &mut inner.status else {
            return Err(Error::Internal("demo seed"));
        };
        let ledger = ledger.clone();
        let key = self
            .keystore
            .get(wraps.ledger_id())?
            .ok_or(Error::Internal("demo key"))?;
        let hash = hash_password_with(self.deriver.as_ref(), DEMO_PASSWORD)?;
        for (login_id, name, roles) in DEMO_USERS {
            if sesshu_domain::account::holds_key_copy(roles) {
                wraps.set_user(&key, login_id, DEMO_PASSWORD)?;
            }
            ledger.mutate(|m| {
                m.insert_user(&NewUser {
                    must_change_password: false,
                    login_id,
                    display_name: name,
                    password_hash: &hash,
                    roles,
                })?;
                m.audit(
                    AuditRecord::new(
                        Some(DEMO_ADMIN),
                        AuditAction::UserCreated,
                        Some(login_id),
                        AuditOutcome::Success,
                    )
                    .with_detail(serde_json::json!({
                        "roles": roles.iter().map(|r| r.code()).collect::<Vec<_>>(),
                        "demo": true,
                    })),
                )
            })?;
        }
        wraps.save(&self.paths.keys)?;
        drop(inner);
        self.seed_demo_reference_data(&ledger)
    }

    /// The demo's code tables, a small fictional resident extract and three batches to work
    /// on, loaded through the same import and registration code as real data.
    fn seed_demo_reference_data(&self, ledger: &Ledger) -> Result<()> {
        use crate::codes::{import_clinics, import_products, CodeImportOptions};
        use crate::csv_text::TextEncoding;
        let opts = CodeImportOptions {
            encoding: TextEncoding::Utf8,
            mode: crate::codes::ImportMode::Replace,
        };
        import_clinics(ledger, DEMO_ADMIN, DEMO_CLINICS, opts)?;
        import_products(ledger, DEMO_ADMIN, DEMO_PRODUCTS, opts)?;
        self.import_residents_bytes(
            ledger,
            DEMO_ADMIN,
            DEMO_RESIDENTS,
            sesshu_ipc::FileEncoding::Utf8,
            false,
        )?;
        let today = self.today();
        for (clinic, programme, forms) in [
            ("0410100010", "MR", 3),
            ("0410100028", "PCV20", 5),
            ("0410100036", "FLU", 12),
        ] {
            let month = sesshu_domain::batch::ClaimMonth::new(
                chrono::Datelike::year(&today),
                chrono::Datelike::month(&today),
            )
            .map_err(Error::InvalidBatch)?;
            crate::batches::register_batch(
                ledger,
                "keyer01",
                &sesshu_domain::batch::BatchInput {
                    clinic_code: clinic.into(),
                    received_on: today,
                    claim_year: month.year,
                    claim_month: month.month,
                    programme: programme.into(),
                    declared_forms: forms,
                    note: String::new(),
                },
            )?;
        }
        Ok(())
    }
}

/// The demo's administrator (the first user of the demo profile).
const DEMO_ADMIN: &str = "admin01";
/// Fictional clinics, products and residents of 「デモ市」 (`crates/sesshu-terminal/demo`).
const DEMO_CLINICS: &[u8] = include_bytes!("../demo/clinics.csv");
const DEMO_PRODUCTS: &[u8] = include_bytes!("../demo/products.csv");
const DEMO_RESIDENTS: &[u8] = include_bytes!("../demo/residents.csv");

impl Terminal {
    /// Demo profile: enrols the demo terminal with the local demo hub that `scripts/run-demo.sh`
    /// started (its address and a fresh one-time code in the environment), acting as the demo
    /// sync operator, so that approved records sync at once. Does nothing when already enrolled.
    pub fn enrol_demo_hub(&self, hub_url: &str, code: &str) -> Result<()> {
        let (ledger, ledger_id) = {
            let inner = self.lock();
            let Status::Ready { ledger, wraps } = &inner.status else {
                return Ok(());
            };
            (ledger.clone(), wraps.ledger_id().to_owned())
        };
        if ledger.read(|r| r.sync_enrolment())?.is_some() {
            return Ok(());
        }
        let user = ledger
            .read(|r| r.user_by_login(DEMO_SYNC_OPERATOR))?
            .ok_or(Error::Internal("demo sync operator"))?;
        let actor = crate::authz::Actor::unchecked(user, ledger);
        let setup = locked_setup(self);
        let ctx = crate::sync::SyncContext {
            keystore: self.keystore.as_ref(),
            ledger_id: &ledger_id,
            setup: &setup,
            demo: self.demo,
        };
        crate::sync::sync_enrol(&actor, &ctx, hub_url, code).map(|_| ())
    }
}

/// The demo's sync operator (one of [`DEMO_USERS`]).
const DEMO_SYNC_OPERATOR: &str = "syncop01";

fn locked_setup(t: &Terminal) -> crate::sync::SyncSetup {
    match t.sync.lock() {
        Ok(g) => g.clone(),
        Err(p) => p.into_inner().clone(),
    }
}
