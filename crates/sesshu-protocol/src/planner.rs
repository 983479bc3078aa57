//! The pure sync planner: how many items to send next, and how long to wait after a failure.
//!
//! Chunking is additive-increase / multiplicative-decrease, as TCP does with its window: start
//! small (a flaky LGWAN link loses little), double while requests come back well inside the size
//! and time limits, halve on any failure or on a slow or large answer. Backoff is exponential
//! with "full jitter" (a uniform draw below the cap), so terminals that lost the hub together
//! do not all return together. The caller passes the jitter draw in: no randomness here.

use crate::wire::{MAX_BATCH_BYTES, MAX_ITEMS_PER_BATCH};

/// Limits of the chunk planner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkLimits {
    pub min_items: usize,
    pub start_items: usize,
    pub max_items: usize,
    /// A request body above this is too large: the next chunk is halved.
    pub max_bytes: usize,
    /// A round trip slower than this is too slow: the next chunk is halved.
    pub max_millis: u64,
}

impl Default for ChunkLimits {
    fn default() -> Self {
        ChunkLimits {
            min_items: 1,
            start_items: 50,
            max_items: MAX_ITEMS_PER_BATCH,
            // Half the hub's limit, so one unusually large item never makes a chunk refused.
            max_bytes: MAX_BATCH_BYTES / 2,
            max_millis: 5_000,
        }
    }
}

/// Adaptive chunk size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlanner {
    limits: ChunkLimits,
    size: usize,
}

impl ChunkPlanner {
    pub fn new(limits: ChunkLimits) -> ChunkPlanner {
        let min = limits.min_items.max(1);
        let max = limits.max_items.max(min);
        let limits = ChunkLimits {
            min_items: min,
            max_items: max,
            ..limits
        };
        ChunkPlanner {
            size: limits.start_items.clamp(min, max),
            limits,
        }
    }

    /// Items to put in the next batch.
    pub fn next_size(&self) -> usize {
        self.size
    }

    /// A batch of `items` items and `bytes` bytes was answered after `millis`.
    pub fn on_success(&mut self, items: usize, bytes: usize, millis: u64) {
        let l = &self.limits;
        if bytes > l.max_bytes || millis > l.max_millis {
            self.shrink();
        } else if items >= self.size && bytes <= l.max_bytes / 2 && millis <= l.max_millis / 2 {
            // Grow only when the chunk was full: a short tail says nothing about capacity.
            self.size = self.size.saturating_mul(2).min(l.max_items);
        }
    }

    /// The batch failed (cut, timed out, refused as unavailable or too large).
    pub fn on_failure(&mut self) {
        self.shrink();
    }

    fn shrink(&mut self) {
        self.size = (self.size / 2).max(self.limits.min_items);
    }
}

/// How many of `item_sizes` (bytes, oldest first) go in the next batch: at most `planned`, and
/// no more than fit in `max_bytes`, but always at least one, so that a single large item is still
/// sent (the hub's own limit is twice the planner's).
pub fn take_items(item_sizes: &[usize], planned: usize, max_bytes: usize) -> usize {
    let mut total = 0usize;
    let mut n = 0usize;
    for &sz in item_sizes.iter().take(planned.max(1)) {
        if n > 0 && total.saturating_add(sz) > max_bytes {
            break;
        }
        total = total.saturating_add(sz);
        n += 1;
    }
    n
}

/// Exponential backoff with full jitter.
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    base_millis: u64,
    cap_millis: u64,
    attempt: u32,
}

impl Backoff {
    pub fn new(base_millis: u64, cap_millis: u64) -> Backoff {
        Backoff {
            base_millis: base_millis.max(1),
            cap_millis: cap_millis.max(base_millis.max(1)),
            attempt: 0,
        }
    }

    /// The wait before the next attempt, given a uniform draw `jitter` in [0, 1); counts the
    /// attempt. Never zero (at least 1 ms) and never above the cap.
    pub fn next_delay_millis(&mut self, jitter: f64) -> u64 {
        let ceiling = self.ceiling();
        self.attempt = self.attempt.saturating_add(1);
        let j = if jitter.is_finite() {
            jitter.clamp(0.0, 1.0)
        } else {
            0.5
        };
        // Precision is irrelevant here: the result is clamped to [1, ceiling].
        let d = (ceiling as f64 * j) as u64;
        d.clamp(1, ceiling)
    }

    /// The upper bound of the next delay: base × 2^attempt, capped.
    pub fn ceiling(&self) -> u64 {
        let shift = self.attempt.min(32);
        self.base_millis
            .saturating_mul(1u64 << shift)
            .min(self.cap_millis)
    }

    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// After a success: start again from the base.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Event {
        Ok {
            items: usize,
            bytes: usize,
            millis: u64,
        },
        Fail,
    }

    fn event() -> impl Strategy<Value = Event> {
        prop_oneof![
            (0usize..10_000, 0usize..20_000_000, 0u64..20_000).prop_map(
                |(items, bytes, millis)| Event::Ok {
                    items,
                    bytes,
                    millis
                }
            ),
            Just(Event::Fail),
        ]
    }

    proptest! {
        #[test]
        fn the_chunk_size_stays_within_its_limits(events in proptest::collection::vec(event(), 0..200)) {
            let limits = ChunkLimits::default();
            let mut p = ChunkPlanner::new(limits);
            for e in events {
                let before = p.next_size();
                match e {
                    Event::Ok { items, bytes, millis } => {
                        p.on_success(items, bytes, millis);
                        if bytes > limits.max_bytes || millis > limits.max_millis {
                            prop_assert!(p.next_size() <= before);
                        }
                    }
                    Event::Fail => {
                        p.on_failure();
                        prop_assert!(p.next_size() <= before);
                        prop_assert!(p.next_size() == limits.min_items || p.next_size() < before);
                    }
                }
                prop_assert!(p.next_size() >= limits.min_items);
                prop_assert!(p.next_size() <= limits.max_items);
            }
        }

        #[test]
        fn a_chunk_never_exceeds_the_byte_limit_unless_it_is_one_item(
            sizes in proptest::collection::vec(1usize..5_000, 0..300),
            planned in 0usize..400,
            max_bytes in 1usize..50_000,
        ) {
            let n = take_items(&sizes, planned, max_bytes);
            prop_assert!(n <= sizes.len());
            prop_assert!(n <= planned.max(1));
            if !sizes.is_empty() {
                prop_assert!(n >= 1);
            }
            let total: usize = sizes[..n].iter().sum();
            prop_assert!(n <= 1 || total <= max_bytes);
            // Maximal: one more item would break a limit.
            if n < sizes.len() && n < planned.max(1) {
                prop_assert!(total + sizes[n] > max_bytes);
            }
        }

        #[test]
        fn backoff_is_bounded_and_its_ceiling_grows(base in 1u64..1_000, cap in 1u64..600_000, draws in proptest::collection::vec(0.0f64..1.0, 1..60)) {
            let mut b = Backoff::new(base, cap);
            let mut last_ceiling = 0;
            for j in draws {
                let ceiling = b.ceiling();
                prop_assert!(ceiling >= last_ceiling);
                let d = b.next_delay_millis(j);
                prop_assert!(d >= 1 && d <= ceiling);
                prop_assert!(ceiling <= cap.max(base));
                last_ceiling = ceiling;
            }
            b.reset();
            prop_assert_eq!(b.ceiling(), base.min(cap.max(base)));
        }
    }

    #[test]
    fn a_fast_full_chunk_doubles_and_a_slow_one_halves() {
        let mut p = ChunkPlanner::new(ChunkLimits::default());
        assert_eq!(p.next_size(), 50);
        p.on_success(50, 10_000, 20);
        assert_eq!(p.next_size(), 100);
        p.on_success(30, 10_000, 20); // a short tail: no growth
        assert_eq!(p.next_size(), 100);
        p.on_success(100, 10_000, 9_000);
        assert_eq!(p.next_size(), 50);
        p.on_failure();
        assert_eq!(p.next_size(), 25);
        let mut b = Backoff::new(100, 1_000);
        assert_eq!(b.next_delay_millis(0.999_999), 99);
        assert_eq!(b.ceiling(), 200);
        for _ in 0..10 {
            b.next_delay_millis(0.5);
        }
        assert_eq!(b.ceiling(), 1_000);
        assert_eq!(b.next_delay_millis(f64::NAN), 500);
    }
}
