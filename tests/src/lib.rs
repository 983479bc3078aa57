//! Cross-crate and end-to-end tests live in `tests/`; this library holds what they (and the
//! demo profile and `ledger-bench`) share: the synthetic data generator.

pub mod synth;
