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
pub mod keystats;
pub mod keying;
pub mod lifecycle;
pub mod normalize;
pub mod profile;
pub mod questionnaire;
pub mod record;
pub mod resident;
pub mod role;
pub mod sampling;
pub mod schedule;
pub mod text;
