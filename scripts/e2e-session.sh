#!/usr/bin/env bash
# Runs inside `dbus-run-session` (started by test.sh under xvfb-run): unlocks a throwaway
# gnome-keyring so the app stores its ledger key in a real Secret Service, then runs the
# end-to-end test.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${E2E_HOME:?}" "${SESSHU_APP:?}"
export XDG_DATA_HOME="$E2E_HOME/data"
mkdir -p "$XDG_DATA_HOME"
printf 'sesshu-e2e' | gnome-keyring-daemon --unlock --components=secrets >/dev/null
sleep 1
cargo test -p sesshu-tests --features e2e --test e2e --test e2e_keying -- --nocapture
# The headless CLI against the same real Secret Service.
cargo test -p sesshu-cli --features os-keyring-tests --test os_keyring
# The terminal killed mid-sync: the real `sesshu sync push` (OS key store) SIGKILLed and run
# again, against a hub on PostgreSQL (SESSHU_TEST_PG_URL from test.sh's cluster).
cargo build -p sesshu-cli
cargo test -p sesshu-tests --features os-keyring-tests --test sync_reliability -- killed
