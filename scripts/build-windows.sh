#!/usr/bin/env bash
# Cross-builds the Windows terminal (x86_64-pc-windows-gnu) on Debian: the UI, then
# sesshu-desktop.exe in release, then a folder with the exe and WebView2Loader.dll (the gnu
# target loads WebView2 through that DLL; the WebView2 runtime itself ships with Windows 10/11),
# then the per-machine NSIS installer (src-tauri/windows/installer.nsi), and prints the sizes.
# Needs: `rustup target add x86_64-pc-windows-gnu` and `gcc-mingw-w64-x86-64` (both installed by
# scripts/setup.sh test), and `apt-get install nsis` (makensis; only this script needs it).
# Slow (a release build of the whole app): not in CI.
# Tauri's own NSIS bundler is not used: it downloads its toolchain at build time (see the .nsi).
# Usage: scripts/build-windows.sh [OUT_DIR]   (default: $CARGO_TARGET_DIR/windows or target/windows)
# Optional: WEBVIEW2_INSTALLER=/path/MicrosoftEdgeWebView2RuntimeInstallerX64.exe embeds the
# offline WebView2 runtime installer, run only on PCs that lack the runtime.
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
case "$out" in
    /*) ;;
    *) out="$root/$out" ;;
esac

for tool in x86_64-w64-mingw32-gcc x86_64-w64-mingw32-strip makensis; do
    if ! command -v "$tool" >/dev/null; then
        echo "build-windows: $tool not found (Debian packages gcc-mingw-w64-x86-64 and nsis)" >&2
        exit 1
    fi
done
[ -f icons/icon.ico ] || { echo "build-windows: icons/icon.ico is missing" >&2; exit 1; }

scripts/build-ui.sh
cargo build --release --target x86_64-pc-windows-gnu -p sesshu-desktop

rel="$target_dir/x86_64-pc-windows-gnu/release"
mkdir -p "$out"
# Symbols are not shipped to terminals.
x86_64-w64-mingw32-strip -o "$out/sesshu-desktop.exe" "$rel/sesshu-desktop.exe"
cp "$rel/WebView2Loader.dll" "$out/"

version="$(sed -n 's/^  "version": "\(.*\)",$/\1/p' src-tauri/tauri.conf.json)"
[ -n "$version" ] || { echo "build-windows: no version in src-tauri/tauri.conf.json" >&2; exit 1; }
installer="$out/sesshu_${version}_x64_installer.exe"
nsis_defines=(-DVERSION="$version" -DSRC_DIR="$out" -DICON="$root/icons/icon.ico" -DOUT_FILE="$installer")
if [ -n "${WEBVIEW2_INSTALLER:-}" ]; then
    nsis_defines+=(-DWEBVIEW2_INSTALLER="$WEBVIEW2_INSTALLER")
fi
# -WX: a warning (a missing file, an unsafe name) fails the build rather than a broken installer.
makensis -V2 -WX "${nsis_defines[@]}" src-tauri/windows/installer.nsi

echo "build-windows: done"
ls -l "$out"
du -h "$rel/sesshu-desktop.exe" "$out/sesshu-desktop.exe" "$out/WebView2Loader.dll" "$installer" |
    sed 's/^/build-windows: /'
