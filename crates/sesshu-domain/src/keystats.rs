//! Placeholder until the statistics arithmetic lands.

use serde::{Deserialize, Serialize};

pub const IDLE_GAP_MS: u64 = 60_000;

pub fn active_ms(key_times_ms: &[u64]) -> u64 {
    let mut t = key_times_ms.to_vec();
    t.sort_unstable();
    t.windows(2)
        .map(|w| w[1] - w[0])
        .filter(|g| *g <= IDLE_GAP_MS)
        .sum()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyingTotals {
    pub forms: u32,
    pub fields: u32,
    pub keystrokes: u64,
    pub active_ms: u64,
    pub errors_first: u32,
    pub errors_second: u32,
}

impl KeyingTotals {
    pub fn add(&mut self, o: &KeyingTotals) {
        self.forms += o.forms;
        self.fields += o.fields;
        self.keystrokes += o.keystrokes;
        self.active_ms += o.active_ms;
        self.errors_first += o.errors_first;
        self.errors_second += o.errors_second;
    }
    pub fn keystrokes_per_hour(&self) -> Option<u32> {
        (self.active_ms > 0).then(|| (self.keystrokes * 3_600_000 / self.active_ms) as u32)
    }
    pub fn errors(&self) -> u32 {
        self.errors_first + self.errors_second
    }
    pub fn errors_per_1000_keystrokes(&self) -> Option<f64> {
        (self.keystrokes > 0).then(|| f64::from(self.errors()) * 1000.0 / self.keystrokes as f64)
    }
}
