//! Cross-crate and end-to-end tests live in `tests/`; this library holds what they (and the
//! demo profile and the benchmarks) share: the synthetic data generator, the fault proxy and the
//! test terminal maker.

pub mod fault_proxy;
pub mod synth;
pub mod terminal_maker;
