#!/usr/bin/env bash
# Every check and every test — the command CI runs (.ci/run). Works on a fresh Debian 12
# machine with only the Rust toolchain: it installs what is missing first.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
T0=$(date +%s)
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT
step() { echo; echo "==> $* (+$(( $(date +%s) - T0 )) s)"; }

step "set up tools and packages"
scripts/setup.sh test

step "cargo fmt --check"
cargo fmt --all -- --check

step "build the UI (wasm)"
scripts/build-ui.sh

step "clippy (native, all targets; UI for wasm32; e2e test)"
cargo clippy --workspace --all-targets -- -D warnings
cargo clippy -p sesshu-ui --target wasm32-unknown-unknown -- -D warnings
cargo clippy -p sesshu-tests --features e2e --all-targets -- -D warnings

step "Windows type-check (x86_64-pc-windows-gnu, every crate but the wasm UI)"
cargo check --target x86_64-pc-windows-gnu --workspace --exclude sesshu-ui

step "domain purity (wasm32 build, no I/O crates)"
scripts/check-domain.sh

step "unit, integration and command tests"
cargo test --workspace 2>&1 | tee -a "$LOG"

step "build the desktop app"
cargo build -p sesshu-desktop

step "end-to-end in a real window (Xvfb, tauri-driver, WebKitWebDriver, Secret Service)"
E2E_HOME=$(mktemp -d)
SESSHU_APP="$PWD/target/debug/sesshu-desktop" E2E_HOME="$E2E_HOME" \
  xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- scripts/e2e-session.sh 2>&1 | tee -a "$LOG"
rm -rf "$E2E_HOME"

step "UI flows in headless Chromium with a mocked backend (admin screens, lock, recovery)"
ui/tests/run-mock.sh "$PWD/tests/screenshots/ui-mock" 2>&1 | tee -a "$LOG"

# One closing line over every cargo test run and UI flow above.
passed=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$LOG" | awk '{s+=$4} END {print s+0}')
failed=$(grep -Eo '[0-9]+ failed;' "$LOG" | awk '{s+=$1} END {print s+0}')
passed=$(( passed + $(grep -c '^flow .*: pass' "$LOG" || true) ))
failed=$(( failed + $(grep -c '^flow .*: FAIL' "$LOG" || true) ))
echo
echo "==> done in $(( $(date +%s) - T0 )) s; target/ uses $(du -sh target 2>/dev/null | cut -f1)"
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
