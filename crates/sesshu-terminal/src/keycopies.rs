//! The wrapped copies of the ledger key in `ledger.keys`: made, refreshed and pruned so that
//! they follow the accounts — a copy for each active administrator and none for anyone else
//! ([`holds_key_copy`]) — and written only after the ledger change they follow commits.

use crate::error::{Error, Result};
use crate::terminal::{Inner, Status, Terminal};
use sesshu_domain::account::holds_key_copy;
use sesshu_domain::role::Role;
use sesshu_ledger::KeyWraps;

impl Terminal {
    /// A copy of the key wraps with `login_id`'s copy (re)made under `password` when the
    /// account holds one (`None` when it does not); the caller commits its change and then
    /// keeps it ([`Self::keep_wraps`]).
    pub(crate) fn wraps_with_user(
        &self,
        inner: &Inner,
        login_id: &str,
        roles: &[Role],
        password: &str,
    ) -> Result<Option<KeyWraps>> {
        if !holds_key_copy(roles) {
            return Ok(None);
        }
        let Status::Ready { wraps, .. } = &inner.status else {
            return Err(Error::Internal("key wraps"));
        };
        let key = self
            .keystore
            .get(wraps.ledger_id())?
            .ok_or(Error::Internal("ledger key"))?;
        let mut new_wraps = wraps.clone();
        new_wraps.set_user(&key, login_id, password)?;
        Ok(Some(new_wraps))
    }

    /// Writes new key wraps after the change that needed them has committed, and only then
    /// adopts them in memory, so memory and disk never disagree. A failed write is logged, not
    /// returned: the change itself stands, and the copy is repaired at that user's next
    /// sign-in ([`Self::refresh_own_wrap`]) or the next prune.
    pub(crate) fn keep_wraps(&self, inner: &mut Inner, new_wraps: KeyWraps) {
        if let Err(e) = new_wraps.save(&self.paths.keys) {
            tracing::error!(error = %e, "key file not updated; it is repaired at next sign-in");
            return;
        }
        if let Status::Ready { wraps, .. } = &mut inner.status {
            *wraps = new_wraps;
        }
    }

    /// After a verified sign-in: makes sure this user's wrapped key copy exists and opens with
    /// the password just verified (a user re-enabled after a disable has none; a key file
    /// write that failed after a password change left an old one).
    pub(crate) fn refresh_own_wrap(
        &self,
        inner: &mut Inner,
        login_id: &str,
        roles: &[Role],
        password: &str,
    ) {
        if !holds_key_copy(roles) {
            return;
        }
        let Status::Ready { wraps, .. } = &mut inner.status else {
            return;
        };
        let Ok(Some(key)) = self.keystore.get(wraps.ledger_id()) else {
            return;
        };
        let current = wraps
            .unwrap_with_password(login_id, password)
            .is_ok_and(|k| k.as_bytes() == key.as_bytes());
        if current {
            return;
        }
        let mut new_wraps = wraps.clone();
        match new_wraps.set_user(&key, login_id, password) {
            Ok(()) => self.keep_wraps(inner, new_wraps),
            Err(e) => tracing::error!(error = %e, "wrapped key copy not refreshed"),
        }
    }

    /// Drops the wrapped key copies of users who are no longer active (disabled now, or
    /// whose scheduled disable date has come) or no longer administrators, so their password
    /// cannot recover the ledger key. Runs at start, at every sign-in and after a disable or a
    /// role change.
    pub(crate) fn prune_inactive_wraps(&self, inner: &mut Inner) {
        let Status::Ready { ledger, wraps } = &inner.status else {
            return;
        };
        let now = self.now();
        let today = self.today();
        let users = match ledger.read(|r| r.users()) {
            Ok(u) => u,
            Err(e) => {
                tracing::error!(error = %e, "cannot list users to prune key copies");
                return;
            }
        };
        let mut new_wraps = wraps.clone();
        let mut removed = 0;
        for u in users.iter().filter(|u| {
            (!u.is_active(now, today) || !holds_key_copy(&u.roles)) && wraps.has_user(&u.login_id)
        }) {
            new_wraps.remove_user(&u.login_id);
            removed += 1;
        }
        if removed > 0 {
            tracing::info!(removed, "key copies of inactive users removed");
            self.keep_wraps(inner, new_wraps);
        }
    }
}
