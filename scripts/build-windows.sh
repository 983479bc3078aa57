#!/usr/bin/env bash
# Cross-builds the Windows terminal (x86_64-pc-windows-gnu) on Debian: the UI, then
# sesshu-desktop.exe in release, then a folder with the exe and WebView2Loader.dll (the gnu
# target loads WebView2 through that DLL; the WebView2 runtime itself ships with Windows 10/11).
# Needs: `rustup target add x86_64-pc-windows-gnu` and `apt-get install gcc-mingw-w64-x86-64`
# (scripts/setup.sh test installs both). No installer yet: the NSIS bundle is not built here.
# Usage: scripts/build-windows.sh [OUT_DIR]   (default: target/windows)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
target_dir="${CARGO_TARGET_DIR:-target}"
case "$target_dir" in
    /*) ;;
    *) target_dir="$root/$target_dir" ;;
esac
out="${1:-$target_dir/windows}"

scripts/build-ui.sh
cargo build --release --target x86_64-pc-windows-gnu -p sesshu-desktop

rel="$target_dir/x86_64-pc-windows-gnu/release"
mkdir -p "$out"
# Symbols are not shipped to terminals.
x86_64-w64-mingw32-strip -o "$out/sesshu-desktop.exe" "$rel/sesshu-desktop.exe"
cp "$rel/WebView2Loader.dll" "$out/"
ls -l "$out"
