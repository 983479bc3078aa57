//! Password-based key derivation (Argon2id), behind one injectable trait.
//!
//! Every derivation of the ledger crate — key-encryption keys of the key file and password
//! hashes of accounts — goes through a [`Deriver`]. Production uses [`Argon2Deriver`]; tests
//! inject cheap parameters and count derivations, so "every sign-in path runs the same
//! derivation" is tested by counting, never by timing.

use std::sync::atomic::{AtomicU64, Ordering};

/// Argon2id cost parameters: memory in KiB, passes, lanes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfParams {
    pub m_cost: u32,
    pub t_cost: u32,
    pub p_cost: u32,
}

/// Key wrapping: 64 MiB, 3 passes, 1 lane. A copy of the ledger key is worth an offline
/// attack on the whole ledger, so it costs four times OWASP's minimum (about 0.2 s per
/// unwrap on the terminals, paid only at recovery and by administrators).
pub const WRAP_PARAMS: KdfParams = KdfParams {
    m_cost: 64 * 1024,
    t_cost: 3,
    p_cost: 1,
};

// The floor promised to municipal auditors, enforced at compile time.
const _: () = assert!(WRAP_PARAMS.m_cost >= 64 * 1024 && WRAP_PARAMS.t_cost >= 3);

/// The upper bounds accepted from a key file: a file asking for more is refused rather than
/// letting it exhaust memory or time (1 GiB, 16 passes, 8 lanes).
pub const WRAP_PARAMS_MAX: KdfParams = KdfParams {
    m_cost: 1024 * 1024,
    t_cost: 16,
    p_cost: 8,
};

/// The parameters of key files of format 1 (OWASP's minimum: 19 MiB, t=2). Accepted only
/// on copies read from such files, so that existing terminals keep working; see
/// [`crate::wrap`] for how they are replaced.
pub const LEGACY_WRAP_PARAMS: KdfParams = KdfParams {
    m_cost: 19 * 1024,
    t_cost: 2,
    p_cost: 1,
};

/// Password hashes of accounts (checked at every sign-in): OWASP's minimum, 19 MiB, t=2.
pub const PASSWORD_PARAMS: KdfParams = KdfParams {
    m_cost: 19 * 1024,
    t_cost: 2,
    p_cost: 1,
};

/// What a deriver uses for new material and accepts from stored material.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KdfPolicy {
    /// Parameters of new key wraps; also the minimum a stored wrap may have.
    pub wrap: KdfParams,
    /// The maximum a stored wrap may ask for.
    pub wrap_max: KdfParams,
    /// Parameters of stored wraps of the previous file format, accepted as they are.
    pub legacy_wrap: KdfParams,
    /// Parameters of new password hashes.
    pub password: KdfParams,
}

/// Production policy.
pub const POLICY: KdfPolicy = KdfPolicy {
    wrap: WRAP_PARAMS,
    wrap_max: WRAP_PARAMS_MAX,
    legacy_wrap: LEGACY_WRAP_PARAMS,
    password: PASSWORD_PARAMS,
};

impl KdfPolicy {
    /// True when stored wrap parameters are within `[wrap, wrap_max]` component-wise.
    pub fn accepts_wrap(&self, p: KdfParams) -> bool {
        (self.wrap.m_cost..=self.wrap_max.m_cost).contains(&p.m_cost)
            && (self.wrap.t_cost..=self.wrap_max.t_cost).contains(&p.t_cost)
            && (self.wrap.p_cost..=self.wrap_max.p_cost).contains(&p.p_cost)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("key derivation failed: {0}")]
pub struct KdfError(pub String);

/// Argon2id derivation. Implementations must not log secrets.
pub trait Deriver: Send + Sync {
    /// The parameters this deriver uses and accepts.
    fn policy(&self) -> KdfPolicy {
        POLICY
    }
    /// Fills `out` with Argon2id(secret, salt, params).
    fn derive(
        &self,
        secret: &[u8],
        salt: &[u8],
        params: KdfParams,
        out: &mut [u8],
    ) -> Result<(), KdfError>;
}

/// The production deriver (or any policy, for tests that need real Argon2 at low cost).
#[derive(Debug, Clone, Copy)]
pub struct Argon2Deriver {
    policy: KdfPolicy,
}

impl Default for Argon2Deriver {
    fn default() -> Self {
        Argon2Deriver { policy: POLICY }
    }
}

impl Argon2Deriver {
    pub fn with_policy(policy: KdfPolicy) -> Self {
        Argon2Deriver { policy }
    }
}

/// Runs Argon2id v1.3 with `params`.
pub fn argon2id(
    secret: &[u8],
    salt: &[u8],
    params: KdfParams,
    out: &mut [u8],
) -> Result<(), KdfError> {
    let p = argon2::Params::new(params.m_cost, params.t_cost, params.p_cost, Some(out.len()))
        .map_err(|e| KdfError(e.to_string()))?;
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, p)
        .hash_password_into(secret, salt, out)
        .map_err(|e| KdfError(e.to_string()))
}

impl Deriver for Argon2Deriver {
    fn policy(&self) -> KdfPolicy {
        self.policy
    }
    fn derive(
        &self,
        secret: &[u8],
        salt: &[u8],
        params: KdfParams,
        out: &mut [u8],
    ) -> Result<(), KdfError> {
        argon2id(secret, salt, params, out)
    }
}

/// A cheap policy for tests: Argon2's minimum memory (8-16 KiB), one pass. Never for
/// production: it makes every password and key copy cheap to guess.
pub const TEST_POLICY: KdfPolicy = KdfPolicy {
    wrap: KdfParams {
        m_cost: 16,
        t_cost: 1,
        p_cost: 1,
    },
    wrap_max: KdfParams {
        m_cost: 64,
        t_cost: 2,
        p_cost: 1,
    },
    // Below `wrap`, like the real legacy cost.
    legacy_wrap: KdfParams {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    },
    password: KdfParams {
        m_cost: 8,
        t_cost: 1,
        p_cost: 1,
    },
};

/// Test helper: a real (cheap) Argon2 deriver that counts its derivations by parameter set.
#[derive(Debug)]
pub struct CountingDeriver {
    inner: Argon2Deriver,
    count: AtomicU64,
    last: std::sync::Mutex<Option<KdfParams>>,
}

impl CountingDeriver {
    pub fn new(policy: KdfPolicy) -> Self {
        CountingDeriver {
            inner: Argon2Deriver::with_policy(policy),
            count: AtomicU64::new(0),
            last: std::sync::Mutex::new(None),
        }
    }

    /// Derivations run so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Parameters of the most recent derivation.
    pub fn last_params(&self) -> Option<KdfParams> {
        self.last.lock().ok().and_then(|g| *g)
    }
}

impl Deriver for CountingDeriver {
    fn policy(&self) -> KdfPolicy {
        self.inner.policy()
    }
    fn derive(
        &self,
        secret: &[u8],
        salt: &[u8],
        params: KdfParams,
        out: &mut [u8],
    ) -> Result<(), KdfError> {
        self.count.fetch_add(1, Ordering::SeqCst);
        if let Ok(mut g) = self.last.lock() {
            *g = Some(params);
        }
        self.inner.derive(secret, salt, params, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn production_bounds_accept_the_floor_and_refuse_legacy_and_absurd_costs() {
        assert!(POLICY.accepts_wrap(WRAP_PARAMS));
        assert!(POLICY.accepts_wrap(WRAP_PARAMS_MAX));
        assert!(!POLICY.accepts_wrap(LEGACY_WRAP_PARAMS));
        assert!(!POLICY.accepts_wrap(KdfParams {
            m_cost: 4 * 1024 * 1024,
            ..WRAP_PARAMS
        }));
        assert!(!POLICY.accepts_wrap(KdfParams {
            t_cost: 100,
            ..WRAP_PARAMS
        }));
    }

    #[test]
    fn counting_deriver_counts_and_matches_argon2() {
        let d = CountingDeriver::new(TEST_POLICY);
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        d.derive(b"pw", b"saltsaltsalt", TEST_POLICY.wrap, &mut a)
            .unwrap();
        argon2id(b"pw", b"saltsaltsalt", TEST_POLICY.wrap, &mut b).unwrap();
        assert_eq!(a, b);
        assert_eq!(d.count(), 1);
        assert_eq!(d.last_params(), Some(TEST_POLICY.wrap));
    }
}
