#!/usr/bin/env bash
# Sets up what is missing, builds, and runs sesshu with the demo profile: a terminal of
# "デモ市" set up on first start with fictional staff (see README). Data in ./.demo.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
scripts/setup.sh run
scripts/build-ui.sh
cargo build -p sesshu-desktop --features demo -p sesshu-hub
export SESSHU_PROFILE=demo
export SESSHU_DATA_DIR="${SESSHU_DATA_DIR:-$PWD/.demo}"
mkdir -p "$SESSHU_DATA_DIR"

# A local demo hub on the embedded store (no server to install), so approved records sync:
# the demo terminal enrols itself with it on first start and then syncs by itself.
HUB_DIR="$SESSHU_DATA_DIR/hub"
HUB_DB="sqlite:$HUB_DIR/hub.db"
HUB_BIN="$PWD/target/debug/sesshu-hub"
mkdir -p "$HUB_DIR"
# The hub's IT console (媒体取込・端末登録・出力・操作ログ) with a demo operator, made once.
if ! "$HUB_BIN" console operator list --state "$HUB_DIR/state" 2>/dev/null | grep -q '"it01"'; then
  printf 'Demo-pass-2026\n' | "$HUB_BIN" console operator add --db "$HUB_DB" --state "$HUB_DIR/state" \
    --name it01 --password-stdin --operator run-demo
fi
"$HUB_BIN" serve --demo --db "$HUB_DB" --listen "127.0.0.1:${SESSHU_DEMO_HUB_PORT:-18443}" \
  --console "127.0.0.1:${SESSHU_DEMO_CONSOLE_PORT:-18446}" \
  --state "$HUB_DIR/state" >"$HUB_DIR/announce.json" 2>"$HUB_DIR/hub.log" &
HUB_PID=$!
trap 'kill "$HUB_PID" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  [ -s "$HUB_DIR/announce.json" ] && break
  kill -0 "$HUB_PID" 2>/dev/null || { echo "demo hub did not start: $(cat "$HUB_DIR/hub.log")" >&2; exit 1; }
  sleep 0.1
done
SESSHU_DEMO_HUB="$(sed -n 's/.*"listen":"\([^"]*\)".*/\1/p' "$HUB_DIR/announce.json")"
export SESSHU_DEMO_HUB
SESSHU_DEMO_ENROL_CODE="$("$HUB_BIN" enrol-code --state "$HUB_DIR/state" --db "$HUB_DB" --municipality 041009)"
export SESSHU_DEMO_ENROL_CODE
echo "demo hub: $SESSHU_DEMO_HUB (records it received: $HUB_BIN export records --db $HUB_DB)"
echo "hub IT console: $(sed -n 's/.*"console":"\([^"]*\)".*/\1/p' "$HUB_DIR/announce.json") (it01 / Demo-pass-2026)"
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
  dbus-run-session -- bash -c '
    printf "sesshu-demo" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    sleep 1
    exec "$0" "$1"' "$PWD/scripts/run-demo-window.sh" "$APP"
  exit $?
fi
scripts/run-demo-window.sh "$APP"
