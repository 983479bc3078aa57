//! Cross-crate and end-to-end tests live in `tests/`; this library holds what they (and the
//! demo profile and the benchmarks) share: the synthetic data generator, the fault proxy and a
//! terminal with a filled outbox (`sync_terminal`).

pub mod fault_proxy;
pub mod sync_terminal;
pub mod synth;
