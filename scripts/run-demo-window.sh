#!/usr/bin/env bash
# Shows the app on the current display, or, with no display, on a virtual one with a
# screenshot every 10 seconds to .demo/screen.png (Ctrl+C ends it).
set -euo pipefail
APP=$1
if [ -n "${DISPLAY:-}" ]; then
  exec "$APP"
fi
echo "No DISPLAY: running on a virtual display; screenshots go to $SESSHU_DATA_DIR/screen.png"
Xvfb :77 -screen 0 1280x800x24 -nolisten tcp &
XVFB=$!
trap 'kill $XVFB 2>/dev/null || true' EXIT
export DISPLAY=:77
sleep 1
"$APP" &
APP_PID=$!
while kill -0 "$APP_PID" 2>/dev/null; do
  sleep 10
  import -window root "$SESSHU_DATA_DIR/screen.png" 2>/dev/null && echo "screenshot: $SESSHU_DATA_DIR/screen.png"
done
