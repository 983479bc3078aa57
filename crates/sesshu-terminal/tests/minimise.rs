//! Data minimisation with an injected clock, against the in-process hub: acknowledged records
//! purged only after the grace period (never unacknowledged ones, never one with an open
//! correction), audit entries purged only once the hub holds them, the audit chain and its
//! anchor verifying after a purge and across restarts; keying blocked past the maximum offline
//! age, the administrator's audited, expiring override, a sync lifting the block; and every
//! refusal.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

mod common;

use chrono::{Duration, NaiveDate};
use common::*;
use sesshu_domain::audit::AuditAction;
use sesshu_domain::double_entry::Keying;
use sesshu_domain::keying::InputMode;
use sesshu_domain::lifecycle::RecordState;
use sesshu_domain::retention::{KeyingBlock, RetentionPolicy};
use sesshu_domain::role::Role;
use sesshu_ipc::*;
use sesshu_protocol::planner::ChunkLimits;
use sesshu_sync::fake::FakeHub;
use sesshu_sync::DrainOptions;
use sesshu_terminal::sync::SyncSetup;
use sesshu_terminal::Terminal as Service;
use std::sync::Arc;

const DEMO_RESIDENTS: &[u8] = include_bytes!("../demo/residents.csv");
/// Born 2025-05-10, 2025-03-03, 2025-06-14: MR 1期 on 2026-11-02.
const INFANTS: [&str; 3] = ["0001000041", "0001000042", "0001000044"];
const HUB: &str = "https://127.0.0.1:9443";
const SYNC: &str = "sync01";

struct World {
    t: Terminal,
    hub: FakeHub,
}

fn sync_setup(hub: &FakeHub) -> SyncSetup {
    SyncSetup {
        connector: Arc::new(hub.clone()),
        options: DrainOptions {
            limits: ChunkLimits {
                start_items: 50,
                ..ChunkLimits::default()
            },
            max_retries: 1,
            sleep: |_| {},
            ..DrainOptions::default()
        },
    }
}

impl World {
    fn new() -> World {
        let t = terminal();
        t.state
            .residents_import_file(DEMO_RESIDENTS, FileEncoding::Utf8, false)
            .unwrap();
        create_user(&t.state, "keyer_a", "入力 一郎", &[Role::Keyer]);
        create_user(&t.state, "keyer_b", "入力 二郎", &[Role::Keyer]);
        create_user(&t.state, "super_c", "確認 三郎", &[Role::Verifier]);
        create_user(&t.state, SYNC, "同期 太郎", &[Role::SyncOperator]);
        let hub = FakeHub::default();
        hub.add_code("ABCD-EFGH-JKLM");
        t.state.configure_sync(sync_setup(&hub));
        World { t, hub }
    }

    fn s(&self) -> &Service {
        &self.t.state
    }

    fn as_user(&self, id: &str) {
        let _ = self.s().logout();
        let pw = if id == ADMIN { ADMIN_PW } else { USER_PW };
        login(self.s(), id, pw).unwrap();
    }

    /// Closes the terminal and starts it again on the same folder (the start-up purge runs).
    fn restart(&mut self) {
        self.s().shutdown();
        let fresh = start(self.t.dir.path(), &self.t.keystore, &self.t.clock);
        drop(std::mem::replace(&mut self.t.state, fresh));
        self.t.state.configure_sync(sync_setup(&self.hub));
    }

    fn batch(&self, declared: u32) -> i64 {
        self.as_user("keyer_a");
        self.s()
            .batch_register(BatchRegisterRequest {
                clinic_code: "0410100010".into(),
                received_on: NaiveDate::from_ymd_opt(2026, 11, 20).unwrap(),
                claim_month: "2026-11".into(),
                programme: "MR".into(),
                declared_forms: declared,
                note: String::new(),
            })
            .unwrap()
            .id
    }

    fn values(&self, batch: i64, atena: &str) -> Keying {
        let layout = self.s().form_layout(BatchRef { batch_id: batch }).unwrap();
        let mut k = Keying::new();
        for f in &layout.fields {
            let v = match f.key.as_str() {
                "atena" => atena,
                "temperature" => "36.5",
                "judgement" => "1",
                "vaccine" => "P005",
                "dose" => "1",
                "date" => "R8.11.2",
                "lot" => "MR123",
                "volume" => "0.5",
                "site" => "1",
                "clinic" => "0410100010",
                "doctor" => "山田 太郎",
                "outcome" => "1",
                "eligibility" | "judgement_reason" => "",
                _ => match f.input {
                    InputMode::Choice => "2",
                    InputMode::Date => "R8.1.5",
                    InputMode::Numeric => "3",
                    _ => "なし",
                },
            };
            k.insert(f.key.clone(), v.to_owned());
        }
        k
    }

    fn save(
        &self,
        batch: i64,
        form: Option<i64>,
        atena: &str,
    ) -> Result<KeyingSaved, sesshu_terminal::Error> {
        self.s().keying_save(KeyingSaveRequest {
            batch_id: batch,
            form_id: form,
            values: self.values(batch, atena),
            override_reason: None,
            metrics: KeyingMetrics {
                keystrokes: 120,
                active_ms: 60_000,
            },
        })
    }

    /// Keys a form twice (A, then B) and has C approve it.
    fn approved(&self, batch: i64, atena: &str) -> i64 {
        self.as_user("keyer_a");
        let form = self.save(batch, None, atena).unwrap().form.form_id;
        self.as_user("keyer_b");
        self.save(batch, Some(form), atena).unwrap();
        self.as_user("super_c");
        let a = self
            .s()
            .verification_approve(FormRef { form_id: form })
            .unwrap();
        assert_eq!(a.state, RecordState::Approved);
        form
    }

    fn enrol(&self) {
        self.as_user(SYNC);
        self.s().hub_enrol(HUB, "abcd efgh jklm").unwrap();
    }

    fn push(&self) {
        self.as_user(SYNC);
        let r = self.s().hub_push(None, &mut |_| {}).unwrap();
        assert_eq!(r.pending_left, 0);
    }

    fn data(&self) -> TerminalDataView {
        self.as_user(ADMIN);
        self.s().terminal_data().unwrap()
    }

    fn chain_ok(&self) -> AuditVerifyReport {
        self.as_user(ADMIN);
        let rep = self.s().audit_verify().unwrap();
        assert_eq!(rep.first_broken_seq, None);
        rep
    }

    fn audit_count(&self, action: AuditAction) -> usize {
        self.as_user(ADMIN);
        self.s()
            .audit_list(AuditListRequest {
                limit: 500,
                ..Default::default()
            })
            .unwrap()
            .iter()
            .filter(|e| e.action_code == action.code())
            .count()
    }
}

fn count_in(d: &TerminalDataView, state: &str) -> u64 {
    d.records_by_state
        .iter()
        .find(|s| s.state == state)
        .map_or(0, |s| s.count)
}

#[test]
fn acknowledged_records_go_after_the_grace_period_and_the_chain_still_verifies() {
    let mut w = World::new();
    let b = w.batch(3);
    let first = w.approved(b, INFANTS[0]);
    let corrected = w.approved(b, INFANTS[1]);
    w.enrol();
    w.push();
    // Receipt stored: nothing purged yet (grace 7 days), the next purge is 7 days away.
    let d = w.data();
    assert_eq!(d.records_total, 2);
    assert_eq!(d.purged_records, 0);
    let receipt_at = d.last_receipt_at.unwrap();
    assert_eq!(d.next_purge_at, Some(receipt_at + Duration::days(7)));
    assert_eq!(d.retention, RetentionPolicy::default());
    let audit_before = d.audit_entries;

    // An open correction task keeps its record; an approval after the sync is unacknowledged.
    w.as_user("keyer_a");
    w.s()
        .correction_request(CorrectionRequest {
            form_id: corrected,
            changes: [("lot".to_owned(), "MR124".to_owned())].into(),
            reason: "ロット番号の転記誤り".into(),
            evidence: "バッチ1 2枚目".into(),
        })
        .unwrap();
    w.approved(b, INFANTS[2]);

    // One minute before the grace period ends: a restart purges nothing.
    w.t.clock.advance(Duration::days(7) - Duration::minutes(1));
    w.restart();
    assert_eq!(w.data().purged_records, 0);
    assert_eq!(w.audit_count(AuditAction::DataPurged), 0);

    // Keep the anchor as it was before the purge: a crash between the purge's commit and its
    // anchor write leaves exactly this file behind.
    let anchor = w.t.dir.path().join("ledger.anchor");
    w.s().shutdown();
    let old_anchor = std::fs::read(&anchor).unwrap();

    // After the grace period: the start-up purge takes the acknowledged record only.
    w.t.clock.advance(Duration::minutes(2));
    w.restart();
    let d = w.data();
    assert_eq!(d.purged_records, 1);
    assert_eq!(d.records_total, 2);
    assert_eq!(count_in(&d, "correction_pending"), 1);
    assert_eq!(count_in(&d, "approved"), 1);
    assert!(d.last_purge_at.is_some());
    // The audit entries the hub held (per a receipt past the grace period) went too.
    assert!(
        d.audit_entries < audit_before,
        "{} < {audit_before}",
        d.audit_entries
    );
    assert_eq!(w.audit_count(AuditAction::DataPurged), 1);
    w.chain_ok();
    w.as_user("super_c");
    assert_eq!(
        code(w.s().verification_get(FormRef { form_id: first })),
        ErrorCode::FormNotFound
    );
    // The ledger reopens: the anchor covers the new base.
    w.restart();
    w.chain_ok();
    // A crash right after the purge's commit (the old anchor, without the base) is accepted:
    // the purge's own entry after the anchored one names the new base.
    w.s().shutdown();
    std::fs::write(&anchor, &old_anchor).unwrap();
    w.restart();
    assert!(matches!(w.s().app_status().unwrap().phase, Phase::Ready));
    w.chain_ok();

    // Form numbers are never reused after a purge.
    w.as_user("keyer_a");
    let next = w.s().keying_next(BatchRef { batch_id: b }).unwrap();
    assert!(next.task.is_none(), "3 of 3 declared forms exist");

    // The rest goes after its own receipt and grace period.
    w.push();
    w.t.clock.advance(Duration::days(8));
    w.restart();
    let d = w.data();
    assert_eq!(d.purged_records, 2, "the correction is still pending");
    assert_eq!(count_in(&d, "approved"), 0);
    w.chain_ok();
}

#[test]
fn nothing_unacknowledged_is_ever_purged() {
    let mut w = World::new();
    let b = w.batch(2);
    w.approved(b, INFANTS[0]);
    w.approved(b, INFANTS[1]);
    let before = w.data();
    w.t.clock.advance(Duration::days(60));
    w.restart();
    let d = w.data();
    assert_eq!(d.records_total, 2);
    assert_eq!(d.purged_records, 0);
    assert!(d.audit_entries > before.audit_entries);
    assert_eq!(d.next_purge_at, None);
    assert_eq!(w.audit_count(AuditAction::DataPurged), 0);
    w.chain_ok();
}

#[test]
fn keying_is_blocked_past_the_offline_age_until_a_sync_or_an_override() {
    let w = World::new();
    let b = w.batch(3);
    w.approved(b, INFANTS[0]);
    // Never synced: the age runs from the first approval waiting.
    w.as_user("keyer_a");
    assert!(matches!(
        w.s().keying_block().unwrap(),
        KeyingBlock::Open { blocks_at: Some(_) }
    ));
    w.t.clock.advance(Duration::days(15));
    w.as_user("keyer_a");
    let blocked = w.s().keying_block().unwrap();
    assert!(matches!(
        blocked,
        KeyingBlock::Blocked {
            never_synced: true,
            ..
        }
    ));
    let e = w.save(b, None, INFANTS[1]).unwrap_err();
    assert_eq!(e.code(), ErrorCode::KeyingBlockedOffline);
    assert!(e.to_string().contains("同期"), "{e}");
    assert_eq!(w.audit_count(AuditAction::KeyingBlockedOffline), 1);
    // Everything else that creates personal data is refused the same way.
    w.as_user("keyer_a");
    assert_eq!(
        code(w.s().correction_request(CorrectionRequest {
            form_id: 1,
            changes: [("lot".to_owned(), "MR124".to_owned())].into(),
            reason: "ロット番号の転記誤り".into(),
            evidence: "バッチ1 1枚目".into(),
        })),
        ErrorCode::KeyingBlockedOffline
    );
    w.as_user("super_c");
    assert_eq!(
        code(w.s().mismatch_resolve(ResolveRequest {
            form_id: 1,
            values: Keying::new(),
        })),
        ErrorCode::KeyingBlockedOffline
    );
    assert_eq!(w.audit_count(AuditAction::KeyingBlockedOffline), 3);

    // Only an administrator overrides, with a reason, and only while blocked.
    w.as_user("keyer_a");
    assert_eq!(
        code(w.s().offline_override(OfflineOverrideRequest {
            reason: "回線障害".into()
        })),
        ErrorCode::PermissionDenied
    );
    w.as_user(ADMIN);
    assert_eq!(
        code(w.s().offline_override(OfflineOverrideRequest {
            reason: "  ".into()
        })),
        ErrorCode::InvalidInput
    );
    let o = w
        .s()
        .offline_override(OfflineOverrideRequest {
            reason: "回線障害のため本日のみ継続（情報政策課に連絡済）".into(),
        })
        .unwrap();
    let KeyingBlock::Overridden { until, by, .. } = o else {
        panic!("{o:?}")
    };
    assert_eq!(by, ADMIN);
    assert_eq!(w.audit_count(AuditAction::OfflineBlockOverridden), 1);
    w.as_user("keyer_a");
    w.save(b, None, INFANTS[1]).unwrap();

    // The override ends with the JST day.
    w.t.clock.set(until);
    w.as_user("keyer_a");
    assert_eq!(
        code(w.save(b, None, INFANTS[2])),
        ErrorCode::KeyingBlockedOffline
    );

    // A sync with a verified receipt lifts the block.
    w.enrol();
    w.push();
    w.as_user("keyer_a");
    assert!(!w.s().keying_block().unwrap().is_blocked());
    w.save(b, None, INFANTS[2]).unwrap();
    w.as_user(ADMIN);
    assert_eq!(
        code(w.s().offline_override(OfflineOverrideRequest {
            reason: "念のため".into()
        })),
        ErrorCode::InvalidInput,
        "nothing to override"
    );

    // 14 days + 1 after that receipt: blocked again.
    w.t.clock.advance(Duration::days(15));
    w.as_user("keyer_a");
    assert!(w.s().keying_block().unwrap().is_blocked());
}

#[test]
fn retention_settings_are_bounded_audited_and_change_the_rules() {
    let w = World::new();
    w.as_user(ADMIN);
    let s = w.s().settings_get().unwrap();
    assert_eq!(s.retention, RetentionPolicy::default());
    let req = |r: RetentionPolicy| SettingsUpdateRequest {
        policy: s.policy,
        log_level: s.log_level,
        retention: Some(r),
    };
    assert_eq!(
        code(w.s().settings_update(req(RetentionPolicy {
            purge_grace_days: 91,
            max_offline_days: 14
        }))),
        ErrorCode::InvalidInput
    );
    assert_eq!(
        code(w.s().settings_update(req(RetentionPolicy {
            purge_grace_days: 7,
            max_offline_days: 0
        }))),
        ErrorCode::InvalidInput
    );
    let short = RetentionPolicy {
        purge_grace_days: 1,
        max_offline_days: 3,
    };
    assert_eq!(w.s().settings_update(req(short)).unwrap().retention, short);
    assert_eq!(w.data().retention, short);
    // Without `retention` (an older screen) the setting is left as it is.
    let kept = w
        .s()
        .settings_update(SettingsUpdateRequest {
            policy: s.policy,
            log_level: s.log_level,
            retention: None,
        })
        .unwrap();
    assert_eq!(kept.retention, short);
    assert_eq!(w.audit_count(AuditAction::SettingsChanged), 2);

    // The data screen and the block follow the new limit.
    let b = w.batch(1);
    w.approved(b, INFANTS[0]);
    w.t.clock.advance(Duration::days(3) + Duration::minutes(1));
    w.as_user("keyer_a");
    assert!(w.s().keying_block().unwrap().is_blocked());
}

#[test]
fn only_administrators_see_the_data_screen() {
    let w = World::new();
    for who in ["keyer_a", "super_c", SYNC] {
        w.as_user(who);
        assert_eq!(code(w.s().terminal_data()), ErrorCode::PermissionDenied);
        // Everyone sees whether keying is blocked.
        w.s().keying_block().unwrap();
    }
    w.s().logout().unwrap();
    assert_eq!(code(w.s().terminal_data()), ErrorCode::NotLoggedIn);
    assert_eq!(code(w.s().keying_block()), ErrorCode::NotLoggedIn);
    let d = w.data();
    assert!(d.residents > 0);
    assert_eq!(d.records_total, 0);
    assert_eq!(d.block, KeyingBlock::Open { blocks_at: None });
}

#[test]
fn a_sync_purges_at_once_what_is_due_with_no_grace_period() {
    let w = World::new();
    w.as_user(ADMIN);
    let s = w.s().settings_get().unwrap();
    w.s()
        .settings_update(SettingsUpdateRequest {
            policy: s.policy,
            log_level: s.log_level,
            retention: Some(RetentionPolicy {
                purge_grace_days: 0,
                max_offline_days: 14,
            }),
        })
        .unwrap();
    let b = w.batch(2);
    w.approved(b, INFANTS[0]);
    w.enrol();
    // The push's own receipt makes the record due; the purge after the sync takes it.
    w.push();
    let d = w.data();
    assert_eq!(d.purged_records, 1);
    assert_eq!(d.records_total, 0);
    assert_eq!(w.audit_count(AuditAction::DataPurged), 1);
    w.chain_ok();
    // The purge's own entry goes with the next sync; that sync leaves nothing new behind
    // (an audit-only purge runs at most once a day).
    w.push();
    w.push();
    assert_eq!(w.audit_count(AuditAction::DataPurged), 1);
    w.chain_ok();
}
