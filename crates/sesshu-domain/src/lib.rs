// The crate documentation is the README (one text for GitHub readers and rustdoc); its shell
// examples are fenced as `sh`, so rustdoc does not run them as doctests.
#![doc = include_str!("../README.md")]

pub mod account;
pub mod age;
pub mod audit;
pub mod batch;
pub mod codes;
pub mod date;
pub mod double_entry;
pub mod ids;
pub mod interval;
pub mod keying;
/// Operator statistics: keying time without idle pauses, keystrokes per hour, error rates.
pub mod keystats;
pub mod lifecycle;
pub mod normalize;
pub mod profile;
pub mod questionnaire;
pub mod record;
pub mod resident;
pub mod retention;
pub mod role;
/// Verification sampling: which forms get a second keying pass, from the keyer's measured quality.
pub mod sampling;
pub mod schedule;
pub mod sync;
pub mod text;
