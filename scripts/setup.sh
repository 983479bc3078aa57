#!/usr/bin/env bash
# Installs what sesshu needs on Debian 12 with only the Rust toolchain present, skipping
# whatever is already there. `setup.sh run` for the app, `setup.sh test` adds the test tools.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
MODE=${1:-run}
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

# Tauri 2 on Linux (WebKitGTK 4.1), SQLCipher's vendored OpenSSL build (perl, make), a display
# and a Secret Service for headless runs, Japanese fonts for the screens.
PKGS=(libwebkit2gtk-4.1-dev build-essential pkg-config libssl-dev libxdo-dev
      libayatana-appindicator3-dev librsvg2-dev perl make xvfb xauth dbus dbus-x11
      fonts-noto-cjk imagemagick)
if [ "$MODE" = test ]; then PKGS+=(webkit2gtk-driver chromium curl python3); fi
# The hub's PostgreSQL store is tested (and benchmarked) against a throwaway cluster that
# scripts/pg-temp.sh starts from this package's server binaries (/usr/lib/postgresql/*/bin).
if [ "$MODE" = test ]; then PKGS+=(postgresql); fi
# The UI flows' DevTools driver (real IME events) runs on Node.js ≥ 20 with its built-in
# WebSocket; these machines ship Node 20. Only when there is none at all, Debian's is tried
# (the flow then says clearly if that one is too old).
if [ "$MODE" = test ] && ! command -v node >/dev/null; then PKGS+=(nodejs); fi
# The Windows type-check of CI: MinGW's C compiler builds the bundled SQLCipher and OpenSSL.
if [ "$MODE" = test ]; then PKGS+=(gcc-mingw-w64-x86-64); fi
missing=()
for p in "${PKGS[@]}" gnome-keyring; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -q
  main=(); for p in "${missing[@]}"; do [ "$p" = gnome-keyring ] || main+=("$p"); done
  if [ ${#main[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${main[@]}"
  fi
  # Only the daemon: its recommends pull in a desktop session.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends gnome-keyring
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  echo "==> adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [ "$MODE" = test ] && ! rustup target list --installed | grep -qx x86_64-pc-windows-gnu; then
  echo "==> adding the x86_64-pc-windows-gnu target"
  rustup target add x86_64-pc-windows-gnu
fi

# wasm-bindgen-cli must equal the wasm-bindgen in Cargo.lock. Not --locked: its own lockfile
# pins a webpki-roots release the registry here does not carry.
WB=$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/version = "\(.*\)"/\1/p')
if ! wasm-bindgen --version 2>/dev/null | grep -q " $WB\$"; then
  echo "==> installing wasm-bindgen-cli $WB"
  cargo install wasm-bindgen-cli --version "$WB"
fi

# The dependency checks of scripts/test.sh, at versions that build with the pinned toolchain
# (rust-toolchain.toml) from their own lockfiles.
if [ "$MODE" = test ]; then
  for tool in cargo-deny@0.20.2 cargo-machete@0.9.2; do
    if ! cargo install --list | grep -qx "${tool%@*} v${tool#*@}:"; then
      echo "==> installing $tool"
      cargo install "${tool%@*}" --version "${tool#*@}" --locked
    fi
  done
fi

if [ "$MODE" = test ] && ! command -v tauri-driver >/dev/null; then
  echo "==> installing tauri-driver"
  cargo install tauri-driver --version "^2" --locked
fi
