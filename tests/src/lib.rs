//! Cross-crate and end-to-end tests live in `tests/`; this library holds what they (and the
//! demo profile and the benchmarks) share: the synthetic data generator and the fault proxy.

pub mod fault_proxy;
pub mod synth;
