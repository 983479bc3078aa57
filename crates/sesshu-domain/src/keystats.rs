//! Operator statistics arithmetic (as CSPro's operator statistics): keying time without idle
//! pauses, keystrokes per hour and errors per 1,000 keystrokes. Pure: the timestamps are inputs.

use serde::{Deserialize, Serialize};

/// A gap longer than this between two keystrokes is idle time and does not count as keying time.
pub const IDLE_GAP_MS: u64 = 60_000;

/// Keying time from keystroke timestamps (milliseconds, any monotonic origin, ascending): the sum
/// of the gaps between consecutive keystrokes, gaps longer than [`IDLE_GAP_MS`] left out. Unsorted
/// input is sorted first.
pub fn active_ms(key_times_ms: &[u64]) -> u64 {
    let sorted_storage;
    let times = if key_times_ms.is_sorted() {
        key_times_ms
    } else {
        let mut v = key_times_ms.to_vec();
        v.sort_unstable();
        sorted_storage = v;
        &sorted_storage
    };
    times
        .windows(2)
        .map(|w| w[1] - w[0])
        .filter(|gap| *gap <= IDLE_GAP_MS)
        .fold(0u64, u64::saturating_add)
}

/// Keying totals of one operator (or pass, or batch); summed with [`KeyingTotals::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyingTotals {
    pub forms: u32,
    pub fields: u32,
    pub keystrokes: u64,
    /// Keying time as [`active_ms`] counts it.
    pub active_ms: u64,
    /// Differences attributed to the first-pass keying.
    pub errors_first: u32,
    /// Differences attributed to the second-pass keying.
    pub errors_second: u32,
}

impl KeyingTotals {
    /// Adds `other` in place; saturating, so the sum is associative and commutative.
    pub fn add(&mut self, other: &KeyingTotals) {
        self.forms = self.forms.saturating_add(other.forms);
        self.fields = self.fields.saturating_add(other.fields);
        self.keystrokes = self.keystrokes.saturating_add(other.keystrokes);
        self.active_ms = self.active_ms.saturating_add(other.active_ms);
        self.errors_first = self.errors_first.saturating_add(other.errors_first);
        self.errors_second = self.errors_second.saturating_add(other.errors_second);
    }

    /// Keystrokes per hour of keying time, rounded; `None` when no keying time was measured.
    pub fn keystrokes_per_hour(&self) -> Option<u32> {
        if self.active_ms == 0 {
            return None;
        }
        let ms = u128::from(self.active_ms);
        let per_hour = (u128::from(self.keystrokes) * 3_600_000 + ms / 2) / ms;
        Some(u32::try_from(per_hour).unwrap_or(u32::MAX))
    }

    /// All attributed errors, both passes.
    pub fn errors(&self) -> u32 {
        self.errors_first.saturating_add(self.errors_second)
    }

    /// Errors per 1,000 keystrokes, rounded to one decimal; `None` when nothing was keyed.
    pub fn errors_per_1000_keystrokes(&self) -> Option<f64> {
        if self.keystrokes == 0 {
            return None;
        }
        // Tenths in integers, so the same totals give the same figure on every platform.
        let k = u128::from(self.keystrokes);
        let tenths = (u128::from(self.errors()) * 10_000 + k / 2) / k;
        // At most 10 * 1000 * u32::MAX: exact in an f64.
        Some(tenths as f64 / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_gaps_are_left_out() {
        assert_eq!(active_ms(&[]), 0);
        assert_eq!(active_ms(&[5]), 0);
        assert_eq!(active_ms(&[0, 1_000, 3_000]), 3_000);
        // Exactly the idle limit still counts; one millisecond more does not.
        assert_eq!(active_ms(&[0, IDLE_GAP_MS]), IDLE_GAP_MS);
        assert_eq!(active_ms(&[0, IDLE_GAP_MS + 1]), 0);
        assert_eq!(
            active_ms(&[0, 500, 500 + 10 * IDLE_GAP_MS, 500 + 10 * IDLE_GAP_MS + 700]),
            1_200
        );
    }

    #[test]
    fn unsorted_input_is_sorted_first() {
        assert_eq!(active_ms(&[3_000, 0, 1_000]), 3_000);
        assert_eq!(active_ms(&[u64::MAX, 0]), 0);
    }

    #[test]
    fn rates() {
        let t = KeyingTotals {
            forms: 10,
            fields: 200,
            keystrokes: 9_000,
            active_ms: 1_800_000,
            errors_first: 3,
            errors_second: 1,
        };
        assert_eq!(t.keystrokes_per_hour(), Some(18_000));
        assert_eq!(t.errors(), 4);
        // 4 / 9,000 * 1,000 = 0.444… → 0.4
        assert_eq!(t.errors_per_1000_keystrokes(), Some(0.4));
        let half_up = KeyingTotals {
            keystrokes: 2_000,
            errors_first: 1,
            ..KeyingTotals::default()
        };
        assert_eq!(half_up.errors_per_1000_keystrokes(), Some(0.5));
        let nothing = KeyingTotals::default();
        assert_eq!(nothing.keystrokes_per_hour(), None);
        assert_eq!(nothing.errors_per_1000_keystrokes(), None);
        let no_time = KeyingTotals {
            keystrokes: 5,
            ..KeyingTotals::default()
        };
        assert_eq!(no_time.keystrokes_per_hour(), None);
        let huge = KeyingTotals {
            keystrokes: u64::MAX,
            active_ms: 1,
            ..KeyingTotals::default()
        };
        assert_eq!(huge.keystrokes_per_hour(), Some(u32::MAX));
    }

    #[test]
    fn adding_sums_every_field() {
        let mut a = KeyingTotals {
            forms: 1,
            fields: 20,
            keystrokes: 300,
            active_ms: 40_000,
            errors_first: 1,
            errors_second: 0,
        };
        a.add(&KeyingTotals {
            forms: 2,
            fields: 30,
            keystrokes: 500,
            active_ms: 60_000,
            errors_first: 0,
            errors_second: 2,
        });
        assert_eq!(
            a,
            KeyingTotals {
                forms: 3,
                fields: 50,
                keystrokes: 800,
                active_ms: 100_000,
                errors_first: 1,
                errors_second: 2,
            }
        );
    }
}
