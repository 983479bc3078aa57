#!/usr/bin/env bash
# Every check and every test — the command CI runs (.ci/run). Works on a fresh Debian 12
# machine with only the Rust toolchain: it installs what is missing first.
#
# Every step runs even when an earlier one failed (a step whose input is missing is skipped and
# counts as failed), so one run reports everything that is wrong. The closing line
# `tests: N passed, M failed` is always printed: N and M add up every cargo test run and UI flow;
# M also gains 1 for each failed or skipped step (fmt, clippy, build, ...) and for a test step
# that failed without a failing test (a compile error, a crash). The exit code is non-zero when
# M is. No `set -e`: each step's status is checked by `run_step`.
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=${CARGO_TERM_COLOR:-never}
TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
T0=$(date +%s)

# Every temporary file and directory lives under TMP_ROOT, removed however the script ends.
TMP_ROOT=$(mktemp -d)
trap 'pg_stop; rm -rf "$TMP_ROOT"' EXIT

# The throwaway PostgreSQL cluster of the test step (scripts/pg-temp.sh), stopped however the
# script ends.
pg_stop() {
  if [ -n "${SESSHU_PG_TEMP_DIR:-}" ]; then
    scripts/pg-temp.sh --stop "$SESSHU_PG_TEMP_DIR" || true
    unset SESSHU_PG_TEMP_DIR SESSHU_TEST_PG_URL
  fi
}

FAILED_STEPS=()
STEP_NO=0
STEP_FAILURES=0   # failed steps, plus test steps that failed without a failing test
STEP_LOG=""       # test output of the running step, read for the closing line

# run_step NAME FUNCTION: runs FUNCTION, records NAME as failed if it returns non-zero.
run_step() {
  local name=$1 fn=$2
  echo
  echo "==> $name (+$(( $(date +%s) - T0 )) s)"
  STEP_NO=$(( STEP_NO + 1 ))
  STEP_LOG="$TMP_ROOT/step-$STEP_NO.log"
  : > "$STEP_LOG"
  if "$fn"; then return 0; fi
  echo "==> FAILED: $name"
  FAILED_STEPS+=("$name")
  # A test step whose log counts a failing test is already counted by those tests.
  if [ "$(count_failed "$STEP_LOG")" -eq 0 ]; then STEP_FAILURES=$(( STEP_FAILURES + 1 )); fi
}

# passed NAME: whether the step NAME has run without failing.
passed() {
  local s
  for s in "${FAILED_STEPS[@]}"; do [ "$s" != "$1" ] || return 1; done
}

# needs NAME: fails (so skips the calling step) when the step NAME has failed.
needs() {
  passed "$1" && return 0
  echo "skipped: needs \"$1\", which failed"
  return 1
}

# Without ui/dist, sesshu-desktop does not compile (tauri::generate_context! embeds it): the
# workspace-wide steps then leave it out, check the rest and still fail.
WITHOUT_UI=(--exclude sesshu-desktop)
without_ui_fails() {
  passed "$S_UI" && return 0
  echo "sesshu-desktop left out: needs \"$S_UI\", which failed"
  return 1
}

# Tests passed / failed in a log of cargo test runs and UI flows.
count_passed() {
  local n
  n=$(grep -Eo 'test result: [a-zA-Z]+\. [0-9]+ passed' "$1" | awk '{s+=$4} END {print s+0}')
  echo $(( n + $(grep -c '^flow .*: pass' "$1" || true) ))
}
count_failed() {
  local n
  n=$(grep -Eo '[0-9]+ failed;' "$1" | awk '{s+=$1} END {print s+0}')
  echo $(( n + $(grep -c '^flow .*: FAIL' "$1" || true) ))
}

# --- the steps, in the order they run ---------------------------------------------------------

S_SETUP="set up tools and packages"
s_setup() { scripts/setup.sh test; }

S_FMT="cargo fmt --check"
s_fmt() { cargo fmt --all -- --check; }

S_DENY="cargo deny (licences, banned and duplicate crates; deny.toml)"
# Not `advisories`: the advisory database cannot be fetched here. Duplicate versions are warnings
# (deny.toml); without their inclusion graphs they take a line or two each.
s_deny() { cargo deny --log-level warn check --hide-inclusion-graph licenses bans; }

S_MACHETE="cargo machete (unused dependencies)"
s_machete() { cargo machete; }

S_UI="build the UI (wasm)"
s_ui() { scripts/build-ui.sh; }

S_CLIPPY="clippy (native, all targets; UI for wasm32; e2e test)"
s_clippy() {
  local rc=0 ws=(--workspace)
  passed "$S_UI" || ws+=("${WITHOUT_UI[@]}")
  cargo clippy "${ws[@]}" --all-targets -- -D warnings || rc=1
  cargo clippy -p sesshu-ui --target wasm32-unknown-unknown -- -D warnings || rc=1
  cargo clippy -p sesshu-tests --features e2e --all-targets -- -D warnings || rc=1
  cargo clippy -p sesshu-cli --features os-keyring-tests --all-targets -- -D warnings || rc=1
  cargo clippy -p sesshu-tests --features os-keyring-tests --all-targets -- -D warnings || rc=1
  cargo clippy -p sesshu-desktop --features demo --all-targets -- -D warnings || rc=1
  without_ui_fails && return "$rc"
}

S_WINDOWS="Windows type-check (x86_64-pc-windows-gnu, every crate but the wasm UI)"
# Windows-only code (cfg(windows) key storage, paths) is compiled on every change. Needs ui/dist
# to exist (tauri::generate_context!); an empty one is enough for a type-check.
s_windows() {
  mkdir -p ui/dist
  cargo check --target x86_64-pc-windows-gnu --workspace --exclude sesshu-ui
}

S_DOC="cargo doc --workspace --no-deps (warnings denied)"
s_doc() {
  local ws=(--workspace)
  passed "$S_UI" || ws+=("${WITHOUT_UI[@]}")
  RUSTDOCFLAGS="-D warnings" cargo doc "${ws[@]}" --no-deps || return 1
  without_ui_fails
}

S_PURITY="domain purity (wasm32 build, no I/O crates)"
s_purity() { scripts/check-domain.sh; }

S_TEST="unit, integration and command tests"
# One throwaway PostgreSQL cluster for the whole step: the hub's store tests (the conformance
# suite) run against it through SESSHU_TEST_PG_URL, and fail in CI without it. Only this step
# pays its start (about a second).
s_test() {
  local rc=0 env
  if env=$(scripts/pg-temp.sh --start); then
    eval "$env"
  else
    echo "could not start a PostgreSQL cluster (scripts/pg-temp.sh): the hub store tests will fail"
    rc=1
  fi
  s_test_cargo || rc=1
  pg_stop
  return "$rc"
}
s_test_cargo() {
  local ws=(--workspace)
  passed "$S_UI" || ws+=("${WITHOUT_UI[@]}")
  # --no-fail-fast: one failing test binary must not hide the results of the others.
  cargo test --no-fail-fast "${ws[@]}" 2>&1 | tee -a "$STEP_LOG" || return 1
  # The demo profile exists only in builds with the `demo` feature: its own test run.
  cargo test -p sesshu-terminal --features demo --test demo 2>&1 | tee -a "$STEP_LOG" || return 1
  without_ui_fails
}

S_APP="build the desktop app"
s_app() {
  needs "$S_UI" || return 1
  # One build for both end-to-end tests: with the demo feature the app runs the ordinary
  # first-run setup unless the demo profile is asked for (SESSHU_PROFILE=demo), which the
  # keying test does to start from the demo's users, residents and batches.
  cargo build -p sesshu-desktop --features demo || return 1
  # The keying e2e test syncs the approved records to a real hub.
  cargo build -p sesshu-hub
}

S_E2E="end-to-end in a real window (Xvfb, tauri-driver, WebKitWebDriver, Secret Service)"
s_e2e() {
  needs "$S_APP" || return 1
  local home rc=0 env
  home=$(mktemp -d -p "$TMP_ROOT")
  # The keying test's hub stores on PostgreSQL, as in production.
  if env=$(scripts/pg-temp.sh --start); then
    eval "$env"
  else
    echo "could not start a PostgreSQL cluster (scripts/pg-temp.sh): the sync leg will fail"
    rc=1
  fi
  SESSHU_APP="$TARGET_DIR/debug/sesshu-desktop" E2E_HOME="$home" \
    xvfb-run -a -s "-screen 0 1280x800x24" \
    dbus-run-session -- scripts/e2e-session.sh 2>&1 | tee -a "$STEP_LOG" || rc=1
  pg_stop
  return "$rc"
}

S_MOCK="UI flows in headless Chromium with a mocked backend (admin screens, lock, recovery)"
s_mock() {
  needs "$S_UI" || return 1
  ui/tests/run-mock.sh "$PWD/tests/screenshots/ui-mock" 2>&1 | tee -a "$STEP_LOG"
}

run_step "$S_SETUP" s_setup
run_step "$S_FMT" s_fmt
run_step "$S_DENY" s_deny
run_step "$S_MACHETE" s_machete
run_step "$S_UI" s_ui
run_step "$S_CLIPPY" s_clippy
run_step "$S_WINDOWS" s_windows
run_step "$S_DOC" s_doc
run_step "$S_PURITY" s_purity
run_step "$S_TEST" s_test
run_step "$S_APP" s_app
run_step "$S_E2E" s_e2e
run_step "$S_MOCK" s_mock

# --- one closing line over every cargo test run and UI flow above --------------------------------
passed=0
failed=$STEP_FAILURES
for log in "$TMP_ROOT"/step-*.log; do
  [ -e "$log" ] || continue
  passed=$(( passed + $(count_passed "$log") ))
  failed=$(( failed + $(count_failed "$log") ))
done
echo
echo "==> done in $(( $(date +%s) - T0 )) s; target/ uses $(du -sh "$TARGET_DIR" 2>/dev/null | cut -f1)"
if [ ${#FAILED_STEPS[@]} -gt 0 ]; then
  echo "==> failed steps (${#FAILED_STEPS[@]}):"
  printf '    - %s\n' "${FAILED_STEPS[@]}"
fi
echo "tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
