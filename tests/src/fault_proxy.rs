//! A loopback TCP fault proxy for the sync reliability tests and the benchmark.
//!
//! It sits between a terminal and the hub and, per accepted connection, decides from a seeded
//! generator (so a failing run can be replayed) to:
//! - **drop** it: close at once, before any byte reaches the hub;
//! - **delay** it: hold it for `delay_ms` before connecting upstream;
//! - **cut** it mid-stream: forward a random number of bytes (in either direction, counted
//!   together) and then shut both sides — so requests die half-sent, and answers die after the
//!   hub has stored the batch but before the terminal reads the receipt;
//! - **cut the answer**: forward the request whole, then cut the connection within the first
//!   bytes the server sends after the client has sent [`REQUEST_STARTED`] bytes — the hub stores
//!   the batch and the terminal never reads the receipt (a plain cut lands there only when its
//!   random byte count happens to fall between the end of the request and the end of the
//!   answer, which for large requests and small receipts is rare);
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
    /// Probability of cutting the answer (see the module doc); 0 in [`FaultConfig::hostile`].
    pub cut_answer: f64,
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
            cut_answer: 0.0,
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
            cut_answer: 0.0,
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
    pub answers_cut: u64,
    pub passed: u64,
}

impl FaultCounts {
    pub fn faulted(&self) -> u64 {
        self.dropped + self.delayed + self.cut + self.answers_cut
    }
}

#[derive(Default)]
struct Counters {
    connections: AtomicU64,
    dropped: AtomicU64,
    delayed: AtomicU64,
    cut: AtomicU64,
    answers_cut: AtomicU64,
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
    /// Bytes of the answer let through before the cut.
    CutAnswer(u64),
    Pass,
}

/// Client bytes after which the server's next bytes count as the answer: more than a TLS
/// handshake and a request's headers, less than any batch of a few records.
pub const REQUEST_STARTED: u64 = 8 * 1024;

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
            answers_cut: c.answers_cut.load(Ordering::Relaxed),
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
        } else if r < cfg.drop + cfg.delay + cfg.cut + cfg.cut_answer {
            // No second draw: adding answer cuts leaves every other connection's fate as the
            // same seed gave it without them.
            Fate::CutAnswer(((r * 1e6) as u64) % 64)
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
        Fate::CutAnswer(n) => {
            counters.answers_cut.fetch_add(1, Ordering::Relaxed);
            let Ok(up) = TcpStream::connect_timeout(&target, Duration::from_secs(5)) else {
                let _ = client.shutdown(Shutdown::Both);
                return;
            };
            relay_cutting_answer(client, up, n);
            return;
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

/// Relays the request whole and cuts the answer after `allowance` of its bytes (see
/// [`REQUEST_STARTED`]).
fn relay_cutting_answer(client: TcpStream, up: TcpStream, allowance: u64) {
    let (Ok(c2), Ok(u2)) = (client.try_clone(), up.try_clone()) else {
        return;
    };
    let sent = Arc::new(AtomicU64::new(0));
    let sent_up = sent.clone();
    let requests = std::thread::spawn(move || {
        let (mut from, mut to) = (client, up);
        let mut buf = [0u8; 16 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            sent_up.fetch_add(n as u64, Ordering::Relaxed);
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
    let (mut from, mut to) = (u2, c2);
    let mut buf = [0u8; 16 * 1024];
    let mut left: Option<u64> = None;
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        if left.is_none() && sent.load(Ordering::Relaxed) >= REQUEST_STARTED {
            left = Some(allowance);
        }
        let take = left.map_or(n, |l| usize::try_from(l).map_or(n, |l| l.min(n)));
        if to.write_all(&buf[..take]).is_err() {
            break;
        }
        if let Some(l) = left.as_mut() {
            *l -= take as u64;
            if take < n || *l == 0 {
                break;
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
    let _ = requests.join();
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

    /// A server that reads a whole request of `len` bytes, counts it as stored, then answers
    /// 1,000 bytes.
    fn storing_server(len: usize) -> (SocketAddr, Arc<AtomicU64>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        let stored = Arc::new(AtomicU64::new(0));
        let s2 = stored.clone();
        std::thread::spawn(move || {
            for s in l.incoming() {
                let Ok(mut s) = s else { continue };
                let stored = s2.clone();
                std::thread::spawn(move || {
                    let mut req = vec![0u8; len];
                    if s.read_exact(&mut req).is_ok() {
                        stored.fetch_add(1, Ordering::Relaxed);
                        let _ = s.write_all(&[1u8; 1000]);
                    }
                });
            }
        });
        (a, stored)
    }

    #[test]
    fn an_answer_cut_lets_the_request_through_and_loses_the_answer() {
        let (server, stored) = storing_server(20_000);
        let mut cfg = FaultConfig::clean();
        cfg.cut_answer = 1.0;
        let proxy = FaultProxy::start(server, cfg).unwrap();
        for i in 1..=10u64 {
            let mut s = TcpStream::connect(proxy.addr()).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            s.write_all(&[7u8; 20_000]).unwrap();
            let mut got = Vec::new();
            let _ = s.read_to_end(&mut got);
            assert!(got.len() < 64, "{} answer bytes got through", got.len());
            // The server had the whole request before the answer was cut.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            while stored.load(Ordering::Relaxed) < i && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
            assert_eq!(stored.load(Ordering::Relaxed), i);
        }
        let c = proxy.counts();
        assert_eq!((c.answers_cut, c.passed, c.faulted()), (10, 0, 10));
    }
}
