#!/usr/bin/env bash
# Keeps sesshu-domain pure (house style rule 1; issue 3 acceptance):
#   1. it builds for wasm32-unknown-unknown, so the UI validates with the backend's code;
#   2. no I/O, clock or randomness crate is in its normal dependency tree (any target);
#   3. chrono's wall-clock feature is not enabled for it;
#   4. its sources do not reach for the file system, network, processes, environment, clock or RNG.
# Prints what it checked; exits non-zero on the first failure. Honours CARGO_TARGET_DIR.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
crate=sesshu-domain
src=crates/sesshu-domain/src

fail() {
  echo "check-domain: FAIL: $*" >&2
  exit 1
}

echo "check-domain: [1/4] $crate builds for wasm32-unknown-unknown"
if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  # RUSTUP_AUTO_INSTALL=0 on these machines: the project installs its own targets.
  rustup target add wasm32-unknown-unknown
fi
cargo build --quiet -p "$crate" --target wasm32-unknown-unknown || fail "$crate does not build for wasm32"
echo "  ok"

echo "check-domain: [2/4] normal dependency tree of $crate (all targets)"
tree=$(cargo tree -p "$crate" -e normal --target all --prefix none --format '{p}' | awk '{print $1}' | sort -u)
echo "  crates: $(echo "$tree" | tr '\n' ' ')"
# I/O runtimes, databases, HTTP/TLS stacks, OS bindings, GUI shells, clocks and RNGs.
forbidden=(
  rusqlite libsqlite3-sys sqlx diesel
  tokio tokio-util mio socket2 async-std smol futures-io
  reqwest hyper hyper-util h2 ureq curl axum tower warp
  openssl openssl-sys native-tls rustls ring
  tauri tauri-runtime tauri-runtime-wry wry tao
  keyring secret-service dbus
  libc nix windows windows-sys winapi
  getrandom rand rand_core
  iana-time-zone
  tempfile walkdir notify fs-err
  tracing-appender
)
echo "  forbidden: ${forbidden[*]}"
for name in "${forbidden[@]}"; do
  if echo "$tree" | grep -qx "$name"; then
    fail "$crate depends on $name (path: $(cargo tree -p "$crate" -e normal --target all -i "$name" 2>/dev/null | tail -n +2 | tr -s ' ' | tr '\n' ' '))"
  fi
done
echo "  ok"

echo "check-domain: [3/4] chrono features of $crate"
features=$(cargo tree -p "$crate" -e features --target all -i chrono --prefix none --format '{p}' 2>/dev/null || true)
if echo "$features" | grep -q 'feature "clock"'; then
  fail "chrono's \"clock\" feature is enabled for $crate: time must be a parameter"
fi
echo "  ok: no \"clock\" feature"

echo "check-domain: [4/4] sources of $crate ($src)"
patterns='std::fs|std::net|std::process|std::env|std::thread|SystemTime|Instant::now|Utc::now|Local::now|::now\(\)|thread_rng|getrandom|File::open|File::create'
# Comment lines may name what is forbidden; code may not.
hits=$(grep -rnE "$patterns" "$src" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true)
if [ -n "$hits" ]; then
  echo "$hits" >&2
  fail "$crate sources use I/O, the clock or randomness"
fi
echo "  ok: no match for $patterns"

echo "check-domain: all checks passed"
