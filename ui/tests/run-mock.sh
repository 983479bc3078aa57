#!/usr/bin/env bash
# Looks at the built UI in headless Chromium with a mocked Tauri invoke:
# runs the scripted flows of tests/mock/tauri-mock.js (pass/fail from <html data-flow>) and
# saves screenshots. Needs ui/dist (scripts/build-ui.sh) and chromium.
# Usage: ui/tests/run-mock.sh [screenshot-dir]   (default /tmp/sesshu-ui-shots)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
shots="${1:-/tmp/sesshu-ui-shots}"
port="${SESSHU_MOCK_PORT:-8123}"
work="$(mktemp -d)"
mkdir -p "$shots"

# A test copy of dist with the mock loaded before the app; the real dist is never touched.
cp -r "$root/ui/dist/." "$work/"
cp "$work/index.html" "$work/plain.html"
cp "$root/ui/tests/mock/tauri-mock.js" "$work/"
# The contract snapshot the mock checks itself against (see crates/sesshu-ipc/tests).
{ printf 'window.__SESSHU_CONTRACT = '; cat "$root/ui/tests/mock/contract.json"; printf ';\n'; } > "$work/contract.js"
sed -i 's|<script type="module"|<script src="./contract.js"></script>\n    <script src="./tauri-mock.js"></script>\n    <script type="module"|' "$work/index.html"

python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work" >/dev/null 2>&1 &
server=$!
profile="$(mktemp -d)"
cleanup() { kill "$server" 2>/dev/null || true; rm -rf "$work" "$profile"; }
trap cleanup EXIT
for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$port/index.html" >/dev/null && break
    sleep 0.1
done

chrome() {
    chromium --headless=new --no-sandbox --disable-gpu --disable-background-networking \
        --disable-component-update --disable-sync --no-first-run --disable-quic \
        --user-data-dir="$profile" --window-size=1280,800 --virtual-time-budget=15000 "$@" 2>/dev/null
}

failed=0
flow() {
    local name="$1" query="$2" result
    result="$(chrome --dump-dom "http://127.0.0.1:$port/index.html?$query" | grep -o 'data-flow="[^"]*"' || true)"
    if [ "$result" = 'data-flow="pass"' ]; then
        echo "flow $name: pass"
    else
        echo "flow $name: FAIL (${result:-no result})"
        failed=1
    fi
}
shot() {
    local name="$1" query="$2"
    chrome --screenshot="$shots/$name.png" "${@:3}" "http://127.0.0.1:$port/index.html?$query" >/dev/null
    echo "screenshot: $shots/$name.png"
}

flow full "drive=full"
flow fatal "phase=fatal&drive=fatal"
flow anchor "phase=fatal&fatal=anchor&drive=anchor"
flow recover "phase=key_missing&drive=recover"
flow import "phase=ready&drive=import"
flow batches "phase=ready&drive=batches"
flow residents "phase=ready&drive=residents"
flow rotate "phase=ready&drive=rotate"
# Review screens.
flow mismatch "phase=ready&drive=mismatch"
flow verify "phase=ready&drive=verify"
flow correction "phase=ready&drive=correction"
flow stats "phase=ready&drive=stats"
flow audit-filter "phase=ready&drive=audit-filter"
flow report "phase=ready&drive=report"
flow keying "phase=ready&keying=1&drive=keying"
flow dependent "phase=ready&keying=dependent&drive=dependent"
flow rekey "phase=ready&keying=rekey&drive=rekey"
# Sync screen (同期).
flow sync "phase=ready&drive=sync"
flow sync-failure "phase=ready&sync=cut&drive=sync-failure"
flow sync-unreachable "phase=ready&sync=unreachable&drive=sync-unreachable"
flow sync-enrol "phase=ready&sync=unenrolled&drive=sync-enrol"
# 端末内の個人データ (data minimisation).
flow terminal-data "phase=ready&offline=blocked&drive=terminal-data"
flow media "phase=ready&drive=media"
# 初回サインイン (ワンタイムコード) from the login screen.
flow first-sign-in "phase=ready&drive=first-sign-in"
# 本部照合 (the hub's findings against the full history, correction tasks).
flow hub-findings "phase=ready&drive=hub-findings"
# Real IME compositions and trusted key events through the DevTools protocol (node, no npm
# packages): wrong values fail; the keystroke-to-paint latency is printed, not asserted.
if ! command -v node >/dev/null; then
    echo "flow ime-and-latency: FAIL (node not installed)"; failed=1
elif node --experimental-websocket "$root/ui/tests/cdp/ime-and-latency.mjs" "http://127.0.0.1:$port/index.html"; then
    echo "flow ime-and-latency: pass"
else
    echo "flow ime-and-latency: FAIL"; failed=1
fi
# Without Tauri at all (the real dist, no mock): the start-up error screen, not a hang.
if chrome --dump-dom "http://127.0.0.1:$port/plain.html" | grep -q 'id="fatal-code"[^>]*>INTERNAL<'; then
    echo "flow no-tauri: pass (INTERNAL on the start-up error screen)"
else
    echo "flow no-tauri: FAIL"; failed=1
fi
# The harness itself must be able to fail: a scenario on the wrong screen.
if chrome --dump-dom "http://127.0.0.1:$port/index.html?phase=ready&drive=fatal" | grep -q 'data-flow="fail at fatal'; then
    echo "flow self-check: pass (a wrong screen is reported)"
else
    echo "flow self-check: FAIL"; failed=1
fi

shot 00-setup-empty ""
shot 01-setup-errors "drive=full&stop=setup"
shot 02-recovery-key "drive=full&stop=recovery"
shot 03-login-error "drive=full&stop=login"
shot 04-home "drive=full&stop=home"
shot 05-users "drive=full&stop=users&top=1"
shot 05-users-editor "drive=full&stop=users"
shot 06-settings "drive=full&stop=settings"
shot 07-audit "drive=full&stop=audit"
shot 08-lock "drive=full&stop=lock"
shot 09-fatal "phase=fatal"
shot 09-fatal-anchor "phase=fatal&fatal=anchor&drive=anchor&stop=anchor"
shot 10-key-recovery "phase=key_missing&drive=recover&stop=recover"
shot 11-home-keyer "phase=ready&session=active&roles=keyer&demo=0"
shot 12-import-progress "phase=ready&drive=import&stop=import-progress"
shot 13-import-result "phase=ready&drive=import&stop=import-result"
shot 13-import-rejected "phase=ready&drive=import&stop=import-rejected"
shot 14-batches "phase=ready&drive=batches&stop=batches-verifier&top=1"
# The editor sits below the list, and headless Chromium paints a scrolled page blank above
# the fold: the whole page instead (a later --window-size wins), top first.
shot 15-user-locked "drive=full&stop=users-locked&top=1" --window-size=1280,1700
shot 15-user-unlock-reset "drive=full&stop=users-admin&top=1" --window-size=1280,1700
shot 16-home-batches "phase=ready&drive=batches&stop=batches-home&top=1"
# The whole page (a later --window-size wins): the register form sits below the table.
shot 14-batches-register "phase=ready&drive=batches&stop=batches-keyer&top=1" --window-size=1280,1500
shot 17-resident-lookup "phase=ready&drive=residents&stop=residents-restricted&top=1"
shot 18-key-rotation "phase=ready&drive=rotate&stop=rotate-key&top=1"
# Review screens.
shot 22-mismatch "phase=ready&drive=mismatch&stop=mismatch-side&top=1"
shot 23-verification "phase=ready&drive=verify&stop=verify-open&top=1"
shot 24-batch-forms "phase=ready&drive=correction&stop=correction-request&top=1"
shot 24-correction "phase=ready&drive=correction&stop=correction-confirm&top=1"
shot 25-statistics "phase=ready&drive=stats&stop=stats&top=1"
shot 26-audit-filter "phase=ready&drive=audit-filter&stop=audit-filter&top=1"
shot 27-batch-report "phase=ready&drive=report&top=1"
shot 20-keying "phase=ready&keying=1&drive=keying&stop=keying-filled&top=1"
shot 21-dependent "phase=ready&keying=dependent&drive=dependent&stop=dependent-flagged&top=1"
shot 28-rekey "phase=ready&keying=rekey&drive=rekey&stop=rekey-open&top=1"
# Sync screen (同期), whole pages (a later --window-size wins).
shot 29-sync "phase=ready&drive=sync&stop=sync-done&top=1" --window-size=1280,1800
shot 29-sync-progress "phase=ready&drive=sync&stop=sync-progress&top=1" --window-size=1280,1000
shot 29-sync-failure "phase=ready&sync=cut&drive=sync-failure&stop=sync-failure&top=1" --window-size=1280,1800
shot 29-sync-enrol-error "phase=ready&sync=unenrolled&drive=sync-enrol&stop=enrol-error" --window-size=1280,1000
shot 29-sync-enrol "phase=ready&sync=unenrolled&drive=sync-enrol&stop=enrol-done&top=1" --window-size=1280,1800
shot 30-terminal-data "phase=ready&offline=blocked&drive=terminal-data&stop=terminal-data&top=1" --window-size=1280,1800
shot 30-terminal-data-override "phase=ready&offline=blocked&drive=terminal-data&stop=terminal-data-override&top=1" --window-size=1280,1800
shot 30-home-keying-blocked "phase=ready&offline=blocked&drive=terminal-data&stop=terminal-data-home"
shot 30-media "phase=ready&drive=media&top=1" --window-size=1280,2600
shot 31-first-sign-in "phase=ready&drive=first-sign-in&stop=first-wrong-code"
shot 31-hub-findings-record "phase=ready&drive=hub-findings&stop=findings-record&top=1" --window-size=1280,1400
shot 31-hub-findings-task "phase=ready&drive=hub-findings&stop=findings-task-refusals" --window-size=1280,1400
shot 31-hub-findings-sync "phase=ready&drive=hub-findings" --window-size=1280,3200

exit "$failed"
