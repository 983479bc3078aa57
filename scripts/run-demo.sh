#!/usr/bin/env bash
# Sets up what is missing, builds, and runs sesshu with the demo profile: a terminal of
# "デモ市" set up on first start with fictional staff (see README). Data in ./.demo.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh run
scripts/build-ui.sh
cargo build -p sesshu-desktop --features demo
export SESSHU_PROFILE=demo
export SESSHU_DATA_DIR="${SESSHU_DATA_DIR:-$PWD/.demo}"
mkdir -p "$SESSHU_DATA_DIR"
cat <<'TXT'

  sesshu デモ環境 — ログインID / パスワード
    admin01    / Demo-pass-2026  (管理者)
    keyer01    / Demo-pass-2026  (入力者)
    keyer02    / Demo-pass-2026  (入力者)
    verifier01 / Demo-pass-2026  (確認者)
    syncop01   / Demo-pass-2026  (システム担当)

TXT
APP="$PWD/target/debug/sesshu-desktop"
if [ -z "${DBUS_SESSION_BUS_ADDRESS:-}" ]; then
  # No desktop session: a private D-Bus with a demo keyring kept under .demo, so the
  # ledger key survives between demo runs. (A real terminal uses the user's own keyring.)
  export XDG_DATA_HOME="$SESSHU_DATA_DIR/keyring-home"
  mkdir -p "$XDG_DATA_HOME"
  exec dbus-run-session -- bash -c '
    printf "sesshu-demo" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    sleep 1
    exec "$0" "$1"' "$PWD/scripts/run-demo-window.sh" "$APP"
fi
exec scripts/run-demo-window.sh "$APP"
