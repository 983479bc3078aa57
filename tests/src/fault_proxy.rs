//! A loopback TCP fault proxy for the sync reliability tests and the benchmark.
//!
//! It sits between a terminal and the hub and, per accepted connection, decides from a seeded
//! generator (so a failing run can be replayed) to:
//! - **drop** it: close at once, before any byte reaches the hub;
//! - **delay** it: hold it for `delay_ms` before connecting upstream;
//! - **cut** it mid-stream: forward a random number of bytes (in either direction, counted
//!   together) and then shut both sides — so requests die half-sent, and answers die after the
//!   hub has stored the batch but before the terminal reads the receipt;
//! - or pass it through untouched.
//!
//! It works at the TCP level, so TLS and the certificate pin are end to end through it.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// What the proxy does to connections (probabilities per connection; the rest pass).
#[derive(Debug, Clone, Copy)]
pub struct FaultConfig {
    pub drop: f64,
    pub delay: f64,
    pub cut: f64,
    pub delay_ms: u64,
    /// A cut connection forwards between 0 and this many bytes first.
    pub cut_within_bytes: u64,
    pub seed: u64,
}

impl FaultConfig {
    /// No faults: a plain relay (the benchmark's "clean network" case).
    pub fn clean() -> FaultConfig {
        FaultConfig {
            drop: 0.0,
            delay: 0.0,
            cut: 0.0,
            delay_ms: 0,
            cut_within_bytes: 0,
            seed: 1,
        }
    }

    /// The reliability test's network: 40 % of connections faulted.
    pub fn hostile(seed: u64) -> FaultConfig {
        FaultConfig {
            drop: 0.12,
            delay: 0.12,
            cut: 0.16,
            delay_ms: 150,
            cut_within_bytes: 256 * 1024,
            seed,
        }
    }
}

/// What the proxy did so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FaultCounts {
    pub connections: u64,
    pub dropped: u64,
    pub delayed: u64,
    pub cut: u64,
    pub passed: u64,
}

impl FaultCounts {
    pub fn faulted(&self) -> u64 {
        self.dropped + self.delayed + self.cut
    }
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    dropped: AtomicU64,
    delayed: AtomicU64,
    cut: AtomicU64,
    passed: AtomicU64,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    upstream: Arc<Mutex<SocketAddr>>,
    accept: Option<JoinHandle<()>>,
}

enum Fate {
    Drop,
    Delay,
    Cut(u64),
    Pass,
}

/// splitmix64: tiny, seeded, good enough to pick fates.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

impl FaultProxy {
    /// Listens on 127.0.0.1 (a free port) and relays to `upstream`.
    pub fn start(upstream: SocketAddr, cfg: FaultConfig) -> std::io::Result<FaultProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let upstream = Arc::new(Mutex::new(upstream));
        let accept = {
            let counters = counters.clone();
            let stop = stop.clone();
            let upstream = upstream.clone();
            std::thread::spawn(move || accept_loop(listener, cfg, counters, stop, upstream))
        };
        Ok(FaultProxy {
            addr,
            counters,
            stop,
            upstream,
            accept: Some(accept),
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Points new connections elsewhere (a restarted hub on another port).
    pub fn set_upstream(&self, upstream: SocketAddr) {
        if let Ok(mut u) = self.upstream.lock() {
            *u = upstream;
        }
    }

    pub fn counts(&self) -> FaultCounts {
        let c = &self.counters;
        FaultCounts {
            connections: c.connections.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
            delayed: c.delayed.load(Ordering::Relaxed),
            cut: c.cut.load(Ordering::Relaxed),
            passed: c.passed.load(Ordering::Relaxed),
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

fn accept_loop(
    listener: TcpListener,
    cfg: FaultConfig,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    upstream: Arc<Mutex<SocketAddr>>,
) {
    let mut rng = Rng(cfg.seed);
    while !stop.load(Ordering::Relaxed) {
        let client = match listener.accept() {
            Ok((s, _)) => s,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::sleep(Duration::from_millis(2));
                continue;
            }
            Err(_) => continue,
        };
        counters.connections.fetch_add(1, Ordering::Relaxed);
        let r = rng.unit();
        let fate = if r < cfg.drop {
            Fate::Drop
        } else if r < cfg.drop + cfg.delay {
            Fate::Delay
        } else if r < cfg.drop + cfg.delay + cfg.cut {
            Fate::Cut(rng.next_u64() % cfg.cut_within_bytes.max(1))
        } else {
            Fate::Pass
        };
        let target = match upstream.lock() {
            Ok(u) => *u,
            Err(_) => continue,
        };
        let counters = counters.clone();
        std::thread::spawn(move || serve(client, target, fate, cfg.delay_ms, &counters));
    }
}

fn serve(client: TcpStream, target: SocketAddr, fate: Fate, delay_ms: u64, counters: &Counters) {
    let _ = client.set_nonblocking(false);
    let budget = match fate {
        Fate::Drop => {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            let _ = client.shutdown(Shutdown::Both);
            return;
        }
        Fate::Delay => {
            counters.delayed.fetch_add(1, Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(delay_ms));
            i64::MAX
        }
        Fate::Cut(n) => {
            counters.cut.fetch_add(1, Ordering::Relaxed);
            i64::try_from(n).unwrap_or(i64::MAX)
        }
        Fate::Pass => {
            counters.passed.fetch_add(1, Ordering::Relaxed);
            i64::MAX
        }
    };
    let Ok(up) = TcpStream::connect_timeout(&target, Duration::from_secs(5)) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let budget = Arc::new(AtomicI64::new(budget));
    let (Ok(c2), Ok(u2)) = (client.try_clone(), up.try_clone()) else {
        return;
    };
    let b2 = budget.clone();
    let back = std::thread::spawn(move || pump(u2, c2, &b2));
    pump(client, up, &budget);
    let _ = back.join();
}

/// Copies `from` → `to` until either side closes or the shared byte budget runs out, then
/// shuts both down (which also ends the pump in the other direction).
fn pump(mut from: TcpStream, mut to: TcpStream, budget: &AtomicI64) {
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let left = budget.fetch_sub(n as i64, Ordering::Relaxed);
        if left <= 0 {
            break;
        }
        let take = usize::try_from(left).map_or(n, |l| l.min(n));
        if to.write_all(&buf[..take]).is_err() || take < n {
            break;
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                std::thread::spawn(move || {
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        a
    }

    fn round_trip(addr: SocketAddr, bytes: usize) -> bool {
        let Ok(mut s) = TcpStream::connect(addr) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let msg = vec![7u8; bytes];
        if s.write_all(&msg).is_err() {
            return false;
        }
        let mut got = vec![0u8; bytes];
        s.read_exact(&mut got).is_ok() && got == msg
    }

    #[test]
    fn a_clean_proxy_relays_and_a_hostile_one_faults_about_as_configured() {
        let echo = echo_server();
        let clean = FaultProxy::start(echo, FaultConfig::clean()).unwrap();
        assert!((0..20).all(|_| round_trip(clean.addr(), 10_000)));
        assert_eq!(clean.counts().passed, 20);

        let mut cfg = FaultConfig::hostile(42);
        cfg.delay_ms = 1;
        cfg.cut_within_bytes = 5_000;
        let hostile = FaultProxy::start(echo, cfg).unwrap();
        let ok = (0..300)
            .filter(|_| round_trip(hostile.addr(), 20_000))
            .count();
        let c = hostile.counts();
        assert_eq!(c.connections, 300);
        assert_eq!(c.faulted() + c.passed, 300);
        // Dropped and cut connections cannot echo 20,000 bytes (cuts stop within 5,000).
        assert_eq!(ok as u64, c.passed + c.delayed);
        assert!(c.faulted() >= 90, "{c:?}");
    }
}
