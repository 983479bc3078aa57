//! Verification sampling: which forms get a second (blind) keying pass.
//!
//! Every form is double-keyed by default. A municipality profile may let one keyer's second-pass
//! rate fall to `reduced_rate_percent` — but only once that keyer has a measured record: at least
//! `min_records` of their forms double-keyed and compared, with fewer than
//! `max_errors_per_1000_fields` errors attributed to them per 1,000 verified fields, counted over
//! their most recent `window_records` compared forms. A keyer whose quality drops therefore loses
//! the reduction as soon as the window shows it.
//!
//! The choice for one form is deterministic (no randomness in the domain): the caller passes a
//! `sample_key` derived from the form's UUID ([`sample_key`](crate::sampling::sample_key)), so the same form always gets the same
//! answer on every terminal and on every re-evaluation.

use serde::{Deserialize, Serialize};

/// The profile's sampling rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SamplingPolicy {
    /// Second-pass rate in percent once a keyer qualifies (100 = always double-keyed = the default).
    pub reduced_rate_percent: u8,
    /// A keyer qualifies only after at least this many of their records were double-keyed and
    /// compared.
    pub min_records: u32,
    /// ... and only while their attributed errors per 1,000 verified fields stay below this.
    pub max_errors_per_1000_fields: u32,
    /// Window: only the keyer's most recent `window_records` compared records count (so a keyer
    /// whose quality drops loses the reduction).
    pub window_records: u32,
}

impl Default for SamplingPolicy {
    /// Always 100 %: the thresholds are there so that lowering the rate alone is a sane profile.
    fn default() -> Self {
        SamplingPolicy {
            reduced_rate_percent: 100,
            min_records: 200,
            max_errors_per_1000_fields: 5,
            window_records: 500,
        }
    }
}

/// One keyer's measured quality over the policy's window (their most recent compared records).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyerQuality {
    /// Records of this keyer that were double-keyed and compared.
    pub records_compared: u32,
    /// Fields of those records that the comparison verified.
    pub fields_verified: u64,
    /// Differences resolved against this keyer's value.
    pub errors_attributed: u64,
}

/// One compared record of a keyer, as input to [`quality_over_window`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ComparedRecord {
    pub fields_verified: u32,
    pub errors_attributed: u32,
}

/// Why a sampling policy cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SamplingError {
    #[error("2回目入力の割合は1〜100%で指定してください（0%にはできません）: {0}%")]
    RateOutOfRange(u8),
    #[error("割合を下げる条件の件数は1件以上にしてください")]
    NoMinimumRecords,
    #[error("評価の対象件数（{window}件）は条件の件数（{min}件）以上にしてください")]
    WindowTooSmall { window: u32, min: u32 },
}

/// Checks a profile's policy: the rate is 1..=100 (never zero checking), at least one record is
/// required, and the window holds at least that many records.
pub fn validate(policy: &SamplingPolicy) -> Result<(), SamplingError> {
    if !(1..=100).contains(&policy.reduced_rate_percent) {
        return Err(SamplingError::RateOutOfRange(policy.reduced_rate_percent));
    }
    if policy.min_records == 0 {
        return Err(SamplingError::NoMinimumRecords);
    }
    if policy.window_records < policy.min_records {
        return Err(SamplingError::WindowTooSmall {
            window: policy.window_records,
            min: policy.min_records,
        });
    }
    Ok(())
}

/// Whether the keyer's record earns the reduced rate.
fn qualifies(policy: &SamplingPolicy, q: &KeyerQuality) -> bool {
    // Nothing verified is nothing measured; a malformed policy (min 0) must not qualify an unknown keyer.
    if q.records_compared < policy.min_records.max(1) || q.fields_verified == 0 {
        return false;
    }
    // errors / fields * 1000 < max, in integers (u128: no overflow for any u64 inputs).
    u128::from(q.errors_attributed) * 1000
        < u128::from(policy.max_errors_per_1000_fields) * u128::from(q.fields_verified)
}

/// The keyer's second-pass rate in percent: 100 unless they qualify, then the policy's reduced
/// rate. Never 0 and never above 100, even for a policy [`validate`] would refuse.
pub fn second_pass_rate(policy: &SamplingPolicy, q: &KeyerQuality) -> u8 {
    if qualifies(policy, q) {
        policy.reduced_rate_percent.clamp(1, 100)
    } else {
        100
    }
}

impl SamplingPolicy {
    /// Whether any form can ever skip its second pass under this policy (the default: never).
    /// A caller may skip measuring the keyer's quality when it cannot matter.
    pub fn may_skip(&self) -> bool {
        self.reduced_rate_percent < 100
    }
}

/// Deterministic decision for one form: `sample_key` is derived by the caller from the form's UUID
/// (see [`sample_key`]); the same form always gets the same answer.
pub fn needs_second_pass(policy: &SamplingPolicy, q: &KeyerQuality, sample_key: u64) -> bool {
    let rate = second_pass_rate(policy, q);
    if rate >= 100 {
        return true;
    }
    // Mix the key first: UUIDv7 keys start with a timestamp, so consecutive forms have close keys;
    // the mixed value is spread evenly, then mapped onto 0..100 by multiply-shift (no modulo bias).
    let bucket = (u128::from(mix(sample_key)) * 100) >> 64;
    bucket < u128::from(rate)
}

/// The sample key of a form: the first 8 bytes of its UUID, big-endian. One definition, so every
/// terminal picks the same forms.
pub fn sample_key(form_uuid: &[u8; 16]) -> u64 {
    let mut first = [0u8; 8];
    first.copy_from_slice(&form_uuid[..8]);
    u64::from_be_bytes(first)
}

/// The keyer's quality over the policy's window: the most recent `window_records` of `newest_first`
/// (their compared records, newest first).
pub fn quality_over_window(
    policy: &SamplingPolicy,
    newest_first: &[ComparedRecord],
) -> KeyerQuality {
    let window = usize::try_from(policy.window_records).unwrap_or(usize::MAX);
    newest_first
        .iter()
        .take(window)
        .fold(KeyerQuality::default(), |mut q, r| {
            q.records_compared = q.records_compared.saturating_add(1);
            q.fields_verified = q
                .fields_verified
                .saturating_add(u64::from(r.fields_verified));
            q.errors_attributed = q
                .errors_attributed
                .saturating_add(u64::from(r.errors_attributed));
            q
        })
}

/// SplitMix64's finaliser: a bijection on u64 that spreads nearby inputs over the whole range.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reducing(rate: u8) -> SamplingPolicy {
        SamplingPolicy {
            reduced_rate_percent: rate,
            ..SamplingPolicy::default()
        }
    }

    fn good_keyer() -> KeyerQuality {
        KeyerQuality {
            records_compared: 300,
            fields_verified: 6_000,
            errors_attributed: 10,
        }
    }

    #[test]
    fn the_default_is_always_a_second_pass() {
        let p = SamplingPolicy::default();
        assert_eq!(p.reduced_rate_percent, 100);
        assert_eq!(p.min_records, 200);
        assert_eq!(p.max_errors_per_1000_fields, 5);
        assert_eq!(p.window_records, 500);
        assert_eq!(validate(&p), Ok(()));
        assert_eq!(second_pass_rate(&p, &good_keyer()), 100);
    }

    #[test]
    fn a_qualified_keyer_gets_the_reduced_rate() {
        let p = reducing(20);
        assert_eq!(second_pass_rate(&p, &good_keyer()), 20);
        // 10 errors in 6,000 fields = 1.67‰; at 30 errors = 5‰: not below the threshold.
        let at_threshold = KeyerQuality {
            errors_attributed: 30,
            ..good_keyer()
        };
        assert_eq!(second_pass_rate(&p, &at_threshold), 100);
        let just_below = KeyerQuality {
            errors_attributed: 29,
            ..good_keyer()
        };
        assert_eq!(second_pass_rate(&p, &just_below), 20);
        let too_few = KeyerQuality {
            records_compared: 199,
            ..good_keyer()
        };
        assert_eq!(second_pass_rate(&p, &too_few), 100);
        let nothing_verified = KeyerQuality {
            fields_verified: 0,
            errors_attributed: 0,
            ..good_keyer()
        };
        assert_eq!(second_pass_rate(&p, &nothing_verified), 100);
    }

    #[test]
    fn validate_refuses_zero_checking_and_empty_windows() {
        assert_eq!(
            validate(&reducing(0)),
            Err(SamplingError::RateOutOfRange(0))
        );
        assert_eq!(
            validate(&reducing(101)),
            Err(SamplingError::RateOutOfRange(101))
        );
        assert_eq!(validate(&reducing(1)), Ok(()));
        let no_min = SamplingPolicy {
            min_records: 0,
            ..reducing(50)
        };
        assert_eq!(validate(&no_min), Err(SamplingError::NoMinimumRecords));
        let small_window = SamplingPolicy {
            min_records: 200,
            window_records: 199,
            ..reducing(50)
        };
        assert_eq!(
            validate(&small_window),
            Err(SamplingError::WindowTooSmall {
                window: 199,
                min: 200
            })
        );
        for e in [
            SamplingError::RateOutOfRange(0),
            SamplingError::NoMinimumRecords,
            SamplingError::WindowTooSmall { window: 1, min: 2 },
        ] {
            assert!(!e.to_string().is_ascii(), "Japanese message: {e}");
        }
    }

    #[test]
    fn a_refused_policy_still_never_stops_checking() {
        let zero = reducing(0);
        assert_eq!(second_pass_rate(&zero, &good_keyer()), 1);
        let over = reducing(200);
        assert_eq!(second_pass_rate(&over, &good_keyer()), 100);
        let no_min = SamplingPolicy {
            min_records: 0,
            ..reducing(10)
        };
        assert_eq!(second_pass_rate(&no_min, &KeyerQuality::default()), 100);
    }

    #[test]
    fn the_same_form_gets_the_same_answer() {
        let p = reducing(30);
        let q = good_keyer();
        for key in [0u64, 1, 42, u64::MAX, 0x0190_0000_0000_7000] {
            assert_eq!(
                needs_second_pass(&p, &q, key),
                needs_second_pass(&p, &q, key)
            );
        }
        let chosen = (0u64..1_000)
            .filter(|k| needs_second_pass(&p, &q, *k))
            .count();
        assert!((250..=350).contains(&chosen), "{chosen} of 1,000 at 30 %");
    }

    #[test]
    fn sample_keys_are_the_uuid_prefix() {
        let mut uuid = [0u8; 16];
        uuid[..8].copy_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        uuid[8..].copy_from_slice(&[0xFF; 8]);
        assert_eq!(sample_key(&uuid), 0x0102_0304_0506_0708);
    }

    #[test]
    fn the_window_counts_only_recent_records() {
        let p = SamplingPolicy {
            reduced_rate_percent: 25,
            min_records: 2,
            max_errors_per_1000_fields: 5,
            window_records: 3,
        };
        let clean = ComparedRecord {
            fields_verified: 1_000,
            errors_attributed: 0,
        };
        let sloppy = ComparedRecord {
            fields_verified: 1_000,
            errors_attributed: 40,
        };
        // The sloppy record is the fourth newest: outside the window.
        let recent = [clean, clean, clean, sloppy];
        let q = quality_over_window(&p, &recent);
        assert_eq!(
            q,
            KeyerQuality {
                records_compared: 3,
                fields_verified: 3_000,
                errors_attributed: 0
            }
        );
        assert_eq!(second_pass_rate(&p, &q), 25);
        // Quality drops: the newest record is sloppy, and the reduction is lost.
        let dropped = [sloppy, clean, clean, clean];
        assert_eq!(
            second_pass_rate(&p, &quality_over_window(&p, &dropped)),
            100
        );
    }

    #[test]
    fn the_policy_reads_from_a_profile_with_defaults() {
        let p: SamplingPolicy = serde_json::from_str(r#"{"reduced_rate_percent": 20}"#).unwrap();
        assert_eq!(p, reducing(20));
        assert!(serde_json::from_str::<SamplingPolicy>(r#"{"rate": 20}"#).is_err());
    }
}
