#!/usr/bin/env bash
# Builds the Yew UI into ui/dist (Route A of build-recipe.md: cargo + wasm-bindgen, no trunk).
# Needs the wasm32-unknown-unknown target and wasm-bindgen-cli at the Cargo.lock version.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in
    /*) ;;
    *) target_dir="$root/$target_dir" ;;
esac

locked="$(grep -A1 '^name = "wasm-bindgen"$' Cargo.lock | sed -n 's/^version = "\(.*\)"/\1/p')"
have="$(wasm-bindgen --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$locked" ]; then
    echo "build-ui: wasm-bindgen ${have:-(not installed)} does not match Cargo.lock's $locked;" >&2
    echo "          install it with: cargo install wasm-bindgen-cli --version $locked" >&2
    exit 1
fi

cargo build -p sesshu-ui --target wasm32-unknown-unknown --release
rm -rf ui/dist
mkdir -p ui/dist
# The binary target keeps its hyphen (sesshu-ui.wasm); --out-name gives ui/dist/sesshu_ui.js.
wasm-bindgen --target web --no-typescript --out-dir ui/dist --out-name sesshu_ui \
    "$target_dir/wasm32-unknown-unknown/release/sesshu-ui.wasm"
cp ui/index.html ui/main.js ui/style.css ui/dist/
echo "build-ui: ui/dist ready ($(du -sh ui/dist | cut -f1))"
