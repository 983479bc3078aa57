//! Rotating the ledger key (`PRAGMA rekey`), so that key copies in old backups — of an
//! administrator who has left, or the old recovery key — open nothing any more. The storage
//! protocol is crash-safe (`sesshu_ledger::rotate`); here the terminal closes its ledger,
//! rotates, and reopens with whatever key is in force.

use crate::error::{Error, Result};
use crate::session::check_session_password;
use crate::terminal::{Status, Terminal};
use sesshu_domain::audit::AuditAction;
use sesshu_ipc::{cmd, KeyRotateRequest, KeyRotateResponse};
use sesshu_ledger::rotate::{
    open_with_keystore, rotate_key, LedgerFiles, NoFaults, RotateContext, RotateError,
};
use sesshu_ledger::KeyWraps;
use std::sync::Arc;

impl Terminal {
    pub fn key_rotate(&self, req: KeyRotateRequest) -> Result<KeyRotateResponse> {
        let mut inner = self.lock();
        let actor = self.actor::<cmd::KeyRotate>(&mut inner)?;
        // The person at the screen proves it is this administrator (a failure counts towards
        // the lockout like any other password check).
        check_session_password(
            self.deriver.as_ref(),
            &mut inner,
            &actor,
            &req.password,
            AuditAction::LedgerKeyRotated,
            Error::WrongPassword,
        )?;
        let admin = actor.login_id().to_owned();
        drop(actor);
        // Every handle on the ledger must be closed before the rekey.
        let Status::Ready { ledger, wraps } =
            std::mem::replace(&mut inner.status, Status::NeedsSetup)
        else {
            return Err(Error::Internal("rotation without a ledger"));
        };
        let ledger_id = wraps.ledger_id().to_owned();
        drop(ledger);
        let files = LedgerFiles {
            db: self.paths.ledger.clone(),
            keys: self.paths.keys.clone(),
        };
        let outcome = rotate_key(
            &files,
            &RotateContext {
                keystore: self.keystore.as_ref(),
                deriver: self.deriver.as_ref(),
                admin_login: &admin,
                admin_password: &req.password,
                clock: self.clock.clone(),
                ids: self.ids.clone(),
            },
            &NoFaults,
        );
        // Reopen with the key in force: the new one, or the old one if the rotation stopped
        // before the rekey (open_with_keystore finishes or discards a half-done rotation).
        inner.status = match (
            open_with_keystore(
                &files,
                &ledger_id,
                self.keystore.as_ref(),
                self.clock.clone(),
                self.ids.clone(),
            ),
            KeyWraps::load(&self.paths.keys),
        ) {
            (Ok(ledger), Ok(Some(wraps))) => Status::Ready {
                ledger: Arc::new(ledger),
                wraps,
            },
            (Err(RotateError::Ledger(e)), _) => Status::Fatal(e.into()),
            (_, Err(e)) => Status::Fatal(e.into()),
            _ => Status::Fatal(Error::KeyRotationFailed),
        };
        match outcome {
            Ok(recovery) => {
                tracing::warn!("ledger key rotated");
                Ok(KeyRotateResponse {
                    recovery_key: recovery.display().to_string(),
                })
            }
            Err(RotateError::NotAHolder) => Err(Error::WrongPassword),
            Err(e) => {
                tracing::error!(error = %e, "key rotation failed");
                Err(Error::KeyRotationFailed)
            }
        }
    }
}
