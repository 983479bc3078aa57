//! The record life cycle as a state machine with the second-person rules.
//!
//! ```text
//! keyed_once ─key second pass─▶ keyed_twice ─compare─▶ matched ──────────────┐
//!      ▲                                          └──▶ mismatched ─resolve─▶ resolved
//!      │                                                                     │
//!      └──────── rekey (first keyer) ◀── rejected ◀──reject── matched|resolved ─approve─▶ approved
//! approved ─queue─▶ queued ─mark synced─▶ synced
//! approved|queued|synced ─request correction─▶ correction_pending ─confirm─▶ queued (refuse: back)
//! approved|queued|synced ─request deletion─▶ deletion_pending ─confirm─▶ deletion_queued ─mark synced─▶ deleted
//! ```
//!
//! Transitions take the acting user and their roles and refuse (README: "one person never checks
//! their own work"): one person keying both passes; resolving a mismatch in one's own keying;
//! approving or rejecting a record one keyed or resolved; confirming one's own correction or
//! deletion request; acting without the permission. Pure: the caller persists the new state and
//! writes the audit row.

use serde::{Deserialize, Serialize};

use crate::role::{any_grants, Permission, Role};

/// A personal user id (個人ID); shared ids are forbidden.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UserId(pub String);

/// The user performing a transition, with the roles they hold now.
#[derive(Debug, Clone, Copy)]
pub struct Actor<'a> {
    pub user: &'a UserId,
    pub roles: &'a [Role],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordState {
    KeyedOnce,
    KeyedTwice,
    Matched,
    Mismatched,
    Resolved,
    Approved,
    /// Back to the first keyer.
    Rejected,
    Queued,
    Synced,
    CorrectionPending,
    DeletionPending,
    DeletionQueued,
    Deleted,
}

impl RecordState {
    pub fn label_ja(self) -> &'static str {
        match self {
            RecordState::KeyedOnce => "1回目入力済",
            RecordState::KeyedTwice => "2回目入力済",
            RecordState::Matched => "一致",
            RecordState::Mismatched => "不一致",
            RecordState::Resolved => "不一致解消済",
            RecordState::Approved => "承認済",
            RecordState::Rejected => "差戻し",
            RecordState::Queued => "送信待ち",
            RecordState::Synced => "送信済",
            RecordState::CorrectionPending => "修正確認待ち",
            RecordState::DeletionPending => "削除確認待ち",
            RecordState::DeletionQueued => "削除送信待ち",
            RecordState::Deleted => "削除済",
        }
    }
}

/// A field change of a correction, kept with its before and after values.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChangeKind {
    Correction { changes: Vec<FieldChange> },
    Deletion,
}

/// A correction or deletion waiting for a second person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingChange {
    pub kind: ChangeKind,
    pub requested_by: UserId,
    pub reason: String,
    /// Reference to the evidence (e.g. the paper form's bundle and page).
    pub evidence: String,
    /// State to return to if the request is refused.
    pub return_to: RecordState,
}

/// The life-cycle facts of one record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    pub state: RecordState,
    pub first_keyer: UserId,
    pub second_keyer: Option<UserId>,
    pub resolver: Option<UserId>,
    pub approver: Option<UserId>,
    pub rejection_reason: Option<String>,
    pub pending: Option<PendingChange>,
}

/// What a user asks the life cycle to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    KeySecondPass,
    /// The verification sampling chose no second pass for this form.
    SkipSecondPass,
    /// Result of the double-entry comparison (see [`crate::double_entry::ComparisonReport::matched`]).
    Compare {
        matched: bool,
    },
    Resolve,
    Approve,
    Reject {
        reason: String,
    },
    Rekey,
    Queue,
    MarkSynced,
    RequestCorrection {
        changes: Vec<FieldChange>,
        reason: String,
        evidence: String,
    },
    RequestDeletion {
        reason: String,
        evidence: String,
    },
    ConfirmChange,
    RefuseChange,
}

impl Action {
    pub fn label_ja(&self) -> &'static str {
        match self {
            Action::KeySecondPass => "2回目入力",
            Action::SkipSecondPass => "2回目入力の省略",
            Action::Compare { .. } => "照合",
            Action::Resolve => "不一致の解消",
            Action::Approve => "承認",
            Action::Reject { .. } => "差戻し",
            Action::Rekey => "再入力",
            Action::Queue => "送信登録",
            Action::MarkSynced => "送信完了",
            Action::RequestCorrection { .. } => "修正申請",
            Action::RequestDeletion { .. } => "削除申請",
            Action::ConfirmChange => "修正・削除の確認",
            Action::RefuseChange => "修正・削除の却下",
        }
    }
}

/// Why a transition was refused. Display strings are shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LifecycleError {
    #[error("この操作を行う権限がありません")]
    MissingPermission { needed: Permission },
    #[error("1回目を入力した人は2回目の入力を行えません")]
    SameKeyerBothPasses,
    #[error("自分が入力した記録の不一致は解消できません")]
    ResolveOwnKeying,
    #[error("自分が入力した記録は承認・差戻しできません")]
    CheckOwnWork,
    #[error("差し戻された記録は1回目の入力者が入力し直します")]
    NotFirstKeyer,
    #[error("自分が申請した修正・削除は確認できません")]
    ConfirmOwnRequest,
    #[error("理由を入力してください")]
    ReasonRequired,
    #[error("修正する項目がありません")]
    NoChanges,
    #[error("現在の状態（{}）では{action}はできません", state.label_ja())]
    InvalidTransition {
        state: RecordState,
        action: &'static str,
    },
}

fn require(actor: Actor<'_>, any_of: &[Permission]) -> Result<(), LifecycleError> {
    if any_of.iter().any(|p| any_grants(actor.roles, *p)) {
        Ok(())
    } else {
        Err(LifecycleError::MissingPermission {
            needed: any_of.first().copied().unwrap_or(Permission::ViewOwnWork),
        })
    }
}

impl Workflow {
    /// A record keyed for the first time by `actor`.
    pub fn keyed_by(actor: Actor<'_>) -> Result<Workflow, LifecycleError> {
        require(actor, &[Permission::KeyForms])?;
        Ok(Workflow {
            state: RecordState::KeyedOnce,
            first_keyer: actor.user.clone(),
            second_keyer: None,
            resolver: None,
            approver: None,
            rejection_reason: None,
            pending: None,
        })
    }

    /// Whether `user` keyed a pass of this record. The resolver is not counted: they keyed
    /// from the paper only the fields the two keyers disputed, so the supervisor who settled a
    /// mismatch may still approve the record (the acceptance flow of the keying issue: "user C
    /// resolves … and, as supervisor, approves"). A keyer never approves their own keying.
    fn keyed_by_user(&self, user: &UserId) -> bool {
        self.first_keyer == *user || self.second_keyer.as_ref() == Some(user)
    }

    /// Applies `action` by `actor`, returning the new workflow or why it is refused.
    pub fn apply(&self, actor: Actor<'_>, action: &Action) -> Result<Workflow, LifecycleError> {
        use RecordState as S;
        let invalid = || LifecycleError::InvalidTransition {
            state: self.state,
            action: action.label_ja(),
        };
        let mut next = self.clone();
        match (self.state, action) {
            (S::KeyedOnce, Action::KeySecondPass) => {
                require(actor, &[Permission::KeyForms])?;
                if *actor.user == self.first_keyer {
                    return Err(LifecycleError::SameKeyerBothPasses);
                }
                next.second_keyer = Some(actor.user.clone());
                next.state = S::KeyedTwice;
            }
            (S::KeyedOnce, Action::SkipSecondPass) => {
                // The caller decides from the profile's sampling rule; the first keyer's own
                // save is the only one that can skip.
                require(actor, &[Permission::KeyForms])?;
                if *actor.user != self.first_keyer {
                    return Err(LifecycleError::NotFirstKeyer);
                }
                next.state = S::Matched;
            }
            (S::KeyedTwice, Action::Compare { matched }) => {
                require(actor, &[Permission::KeyForms, Permission::Verify])?;
                next.state = if *matched { S::Matched } else { S::Mismatched };
            }
            (S::Mismatched, Action::Resolve) => {
                require(actor, &[Permission::ResolveMismatch])?;
                if self.first_keyer == *actor.user || self.second_keyer.as_ref() == Some(actor.user)
                {
                    return Err(LifecycleError::ResolveOwnKeying);
                }
                next.resolver = Some(actor.user.clone());
                next.state = S::Resolved;
            }
            (S::Matched | S::Resolved, Action::Approve) => {
                require(actor, &[Permission::Verify])?;
                if self.keyed_by_user(actor.user) {
                    return Err(LifecycleError::CheckOwnWork);
                }
                next.approver = Some(actor.user.clone());
                next.state = S::Approved;
            }
            (S::Matched | S::Resolved, Action::Reject { reason }) => {
                require(actor, &[Permission::Verify])?;
                if self.keyed_by_user(actor.user) {
                    return Err(LifecycleError::CheckOwnWork);
                }
                if reason.trim().is_empty() {
                    return Err(LifecycleError::ReasonRequired);
                }
                next.rejection_reason = Some(reason.clone());
                next.state = S::Rejected;
            }
            (S::Rejected, Action::Rekey) => {
                require(actor, &[Permission::KeyForms])?;
                if *actor.user != self.first_keyer {
                    return Err(LifecycleError::NotFirstKeyer);
                }
                // A fresh double entry: the second pass, resolution and approval start over.
                next.second_keyer = None;
                next.resolver = None;
                next.approver = None;
                next.state = S::KeyedOnce;
            }
            (S::Approved, Action::Queue) => {
                require(actor, &[Permission::Verify, Permission::RunSync])?;
                next.state = S::Queued;
            }
            (S::Queued, Action::MarkSynced) => {
                require(actor, &[Permission::RunSync])?;
                next.state = S::Synced;
            }
            (S::DeletionQueued, Action::MarkSynced) => {
                require(actor, &[Permission::RunSync])?;
                next.state = S::Deleted;
            }
            (
                S::Approved | S::Queued | S::Synced,
                Action::RequestCorrection {
                    changes,
                    reason,
                    evidence,
                },
            ) => {
                require(actor, &[Permission::KeyForms, Permission::Verify])?;
                if reason.trim().is_empty() {
                    return Err(LifecycleError::ReasonRequired);
                }
                if changes.is_empty() {
                    return Err(LifecycleError::NoChanges);
                }
                next.pending = Some(PendingChange {
                    kind: ChangeKind::Correction {
                        changes: changes.clone(),
                    },
                    requested_by: actor.user.clone(),
                    reason: reason.clone(),
                    evidence: evidence.clone(),
                    return_to: self.state,
                });
                next.state = S::CorrectionPending;
            }
            (S::Approved | S::Queued | S::Synced, Action::RequestDeletion { reason, evidence }) => {
                require(actor, &[Permission::KeyForms, Permission::Verify])?;
                if reason.trim().is_empty() {
                    return Err(LifecycleError::ReasonRequired);
                }
                next.pending = Some(PendingChange {
                    kind: ChangeKind::Deletion,
                    requested_by: actor.user.clone(),
                    reason: reason.clone(),
                    evidence: evidence.clone(),
                    return_to: self.state,
                });
                next.state = S::DeletionPending;
            }
            (S::CorrectionPending | S::DeletionPending, Action::ConfirmChange) => {
                require(actor, &[Permission::ConfirmCorrection])?;
                let pending = self.pending.as_ref().ok_or_else(invalid)?;
                if pending.requested_by == *actor.user {
                    return Err(LifecycleError::ConfirmOwnRequest);
                }
                next.pending = None;
                // A confirmed change must reach the ledger again.
                next.state = match pending.kind {
                    ChangeKind::Correction { .. } => S::Queued,
                    ChangeKind::Deletion => S::DeletionQueued,
                };
            }
            (S::CorrectionPending | S::DeletionPending, Action::RefuseChange) => {
                require(actor, &[Permission::ConfirmCorrection])?;
                let pending = self.pending.as_ref().ok_or_else(invalid)?;
                if pending.requested_by == *actor.user {
                    return Err(LifecycleError::ConfirmOwnRequest);
                }
                next.state = pending.return_to;
                next.pending = None;
            }
            _ => return Err(invalid()),
        }
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> UserId {
        UserId(s.into())
    }

    const KEYER: &[Role] = &[Role::Keyer];
    const VERIFIER: &[Role] = &[Role::Verifier];
    const BOTH: &[Role] = &[Role::Keyer, Role::Verifier];
    const SYNC: &[Role] = &[Role::SyncOperator];

    fn act<'a>(user: &'a UserId, roles: &'a [Role]) -> Actor<'a> {
        Actor { user, roles }
    }

    fn keyed_twice(a: &UserId, b: &UserId) -> Workflow {
        Workflow::keyed_by(act(a, KEYER))
            .unwrap()
            .apply(act(b, KEYER), &Action::KeySecondPass)
            .unwrap()
    }

    #[test]
    fn happy_path_to_synced() {
        let (a, b, v, s) = (u("a"), u("b"), u("v"), u("s"));
        let w = keyed_twice(&a, &b)
            .apply(act(&b, KEYER), &Action::Compare { matched: true })
            .unwrap();
        assert_eq!(w.state, RecordState::Matched);
        let w = w.apply(act(&v, VERIFIER), &Action::Approve).unwrap();
        let w = w.apply(act(&v, VERIFIER), &Action::Queue).unwrap();
        let w = w.apply(act(&s, SYNC), &Action::MarkSynced).unwrap();
        assert_eq!(w.state, RecordState::Synced);
        assert_eq!(w.approver, Some(v));
    }

    #[test]
    fn mismatch_path_and_rejection_back_to_first_keyer() {
        let (a, b, r, v) = (u("a"), u("b"), u("r"), u("v"));
        let w = keyed_twice(&a, &b)
            .apply(act(&b, KEYER), &Action::Compare { matched: false })
            .unwrap();
        assert_eq!(w.state, RecordState::Mismatched);
        let w = w.apply(act(&r, VERIFIER), &Action::Resolve).unwrap();
        assert_eq!(w.state, RecordState::Resolved);
        assert_eq!(
            w.apply(act(&a, BOTH), &Action::Approve),
            Err(LifecycleError::CheckOwnWork),
            "a keyer may not approve their own keying"
        );
        assert_eq!(
            w.apply(act(&r, VERIFIER), &Action::Approve)
                .map(|w| w.state),
            Ok(RecordState::Approved),
            "the resolver settled only the disputed fields and may approve"
        );
        let rejected = w
            .apply(
                act(&v, VERIFIER),
                &Action::Reject {
                    reason: "ロット番号が読めない".into(),
                },
            )
            .unwrap();
        assert_eq!(rejected.state, RecordState::Rejected);
        assert_eq!(
            rejected.apply(act(&b, KEYER), &Action::Rekey),
            Err(LifecycleError::NotFirstKeyer)
        );
        let again = rejected.apply(act(&a, KEYER), &Action::Rekey).unwrap();
        assert_eq!(again.state, RecordState::KeyedOnce);
        assert_eq!(again.second_keyer, None);
    }

    /// Every refusal named in issue 3 (Deliver 7).
    #[test]
    fn refusals_table() {
        let (a, b, v) = (u("a"), u("b"), u("v"));
        let once = Workflow::keyed_by(act(&a, BOTH)).unwrap();
        let mismatched = keyed_twice(&a, &b)
            .apply(act(&a, KEYER), &Action::Compare { matched: false })
            .unwrap();
        let matched = keyed_twice(&a, &b)
            .apply(act(&a, KEYER), &Action::Compare { matched: true })
            .unwrap();
        let cases: Vec<(&str, Result<Workflow, LifecycleError>, LifecycleError)> = vec![
            (
                "one person keying both passes",
                once.apply(act(&a, BOTH), &Action::KeySecondPass),
                LifecycleError::SameKeyerBothPasses,
            ),
            (
                "first keyer resolving",
                mismatched.apply(act(&a, BOTH), &Action::Resolve),
                LifecycleError::ResolveOwnKeying,
            ),
            (
                "second keyer resolving",
                mismatched.apply(act(&b, BOTH), &Action::Resolve),
                LifecycleError::ResolveOwnKeying,
            ),
            (
                "approving one's own keying",
                matched.apply(act(&b, BOTH), &Action::Approve),
                LifecycleError::CheckOwnWork,
            ),
            (
                "approving without the role",
                matched.apply(act(&v, KEYER), &Action::Approve),
                LifecycleError::MissingPermission {
                    needed: Permission::Verify,
                },
            ),
            (
                "keying without the role",
                Workflow::keyed_by(act(&v, VERIFIER)),
                LifecycleError::MissingPermission {
                    needed: Permission::KeyForms,
                },
            ),
            (
                "marking synced without the role",
                matched
                    .apply(act(&v, VERIFIER), &Action::Approve)
                    .and_then(|w| w.apply(act(&v, VERIFIER), &Action::Queue))
                    .and_then(|w| w.apply(act(&v, VERIFIER), &Action::MarkSynced)),
                LifecycleError::MissingPermission {
                    needed: Permission::RunSync,
                },
            ),
            (
                "rejecting without a reason",
                matched.apply(act(&v, VERIFIER), &Action::Reject { reason: " ".into() }),
                LifecycleError::ReasonRequired,
            ),
            (
                "approving before the comparison",
                keyed_twice(&a, &b).apply(act(&v, VERIFIER), &Action::Approve),
                LifecycleError::InvalidTransition {
                    state: RecordState::KeyedTwice,
                    action: "承認",
                },
            ),
        ];
        for (name, got, want) in cases {
            assert_eq!(got, Err(want), "{name}");
        }
    }

    #[test]
    fn corrections_and_deletions_need_a_second_person() {
        let (a, b, v, w2, s) = (u("a"), u("b"), u("v"), u("w"), u("s"));
        let synced = keyed_twice(&a, &b)
            .apply(act(&b, KEYER), &Action::Compare { matched: true })
            .and_then(|w| w.apply(act(&v, VERIFIER), &Action::Approve))
            .and_then(|w| w.apply(act(&v, VERIFIER), &Action::Queue))
            .and_then(|w| w.apply(act(&s, SYNC), &Action::MarkSynced))
            .unwrap();
        let change = Action::RequestCorrection {
            changes: vec![FieldChange {
                field: "lot".into(),
                before: Some("FF3602".into()),
                after: Some("FF3620".into()),
            }],
            reason: "シールと相違".into(),
            evidence: "束2025-06-001 p.3".into(),
        };
        let pending = synced.apply(act(&v, VERIFIER), &change).unwrap();
        assert_eq!(pending.state, RecordState::CorrectionPending);
        assert_eq!(
            pending.apply(act(&v, VERIFIER), &Action::ConfirmChange),
            Err(LifecycleError::ConfirmOwnRequest)
        );
        let refused = pending
            .apply(act(&w2, VERIFIER), &Action::RefuseChange)
            .unwrap();
        assert_eq!(
            refused.state,
            RecordState::Synced,
            "refusal returns to the former state"
        );
        let confirmed = pending
            .apply(act(&w2, VERIFIER), &Action::ConfirmChange)
            .unwrap();
        assert_eq!(
            confirmed.state,
            RecordState::Queued,
            "a correction is synced again"
        );

        let del = synced
            .apply(
                act(&a, KEYER),
                &Action::RequestDeletion {
                    reason: "二重登録".into(),
                    evidence: "束2025-06-001 p.4".into(),
                },
            )
            .unwrap();
        assert_eq!(del.state, RecordState::DeletionPending);
        let queued = del
            .apply(act(&v, VERIFIER), &Action::ConfirmChange)
            .unwrap();
        assert_eq!(queued.state, RecordState::DeletionQueued);
        let gone = queued.apply(act(&s, SYNC), &Action::MarkSynced).unwrap();
        assert_eq!(gone.state, RecordState::Deleted);
        assert!(matches!(
            synced.apply(
                act(&a, KEYER),
                &Action::RequestCorrection {
                    changes: vec![],
                    reason: "x".into(),
                    evidence: String::new()
                }
            ),
            Err(LifecycleError::NoChanges)
        ));
    }

    #[test]
    fn messages_are_japanese() {
        let e = LifecycleError::InvalidTransition {
            state: RecordState::Synced,
            action: "承認",
        };
        assert_eq!(e.to_string(), "現在の状態（送信済）では承認はできません");
    }
}
