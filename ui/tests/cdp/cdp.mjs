// A minimal Chrome DevTools Protocol client (no npm dependencies), shared by the CDP flows:
// launches headless Chromium with the flags this closed network needs and speaks CDP over the
// WebSocket that Node 20 has behind --experimental-websocket.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const chromium = process.env.CHROMIUM || "chromium";
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---- a minimal CDP client ---------------------------------------------------------------
export function launch() {
  const profile = mkdtempSync(join(tmpdir(), "sesshu-cdp-"));
  const proc = spawn(chromium, ["--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
    "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", `--user-data-dir=${profile}`,
    "--window-size=1280,800", "about:blank"], { stdio: ["ignore", "ignore", "pipe"] });
  const endpoint = new Promise((resolve, reject) => {
    let err = "";
    const timer = setTimeout(() => reject(new Error("chromium did not open DevTools:\n" + err)), 20000);
    proc.stderr.on("data", (d) => {
      err += d;
      const m = /DevTools listening on (ws:\/\/\S+)/.exec(err);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    proc.on("exit", (code) => reject(new Error("chromium exited " + code + ":\n" + err)));
  });
  const exited = new Promise((resolve) => proc.on("exit", resolve));
  const close = async () => {
    try { proc.kill("SIGKILL"); } catch { /* gone */ }
    await Promise.race([exited, sleep(3000)]);
    try { rmSync(profile, { recursive: true, force: true, maxRetries: 5 }); } catch { /* a temp dir */ }
  };
  return { endpoint, close };
}

export async function connect(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("websocket")); });
  let id = 0;
  const pending = new Map();
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.id && pending.has(msg.id)) {
      const { resolve, reject } = pending.get(msg.id);
      pending.delete(msg.id);
      if (msg.error) reject(new Error(JSON.stringify(msg.error))); else resolve(msg.result);
    }
  };
  const send = (method, params = {}, sessionId) => new Promise((resolve, reject) => {
    id += 1;
    pending.set(id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params, sessionId }));
  });
  return { send, close: () => ws.close() };
}


// Page helpers over a `send(method, params)` bound to one page's session: `evaluate` an
// expression (its value, or an error naming the page's exception) and `waitFor` one to be
// truthy, trying again while a page loads (its context may be gone for a moment).
export function pageTools(send, { waitMs = 5000, pollMs = 20 } = {}) {
  async function evaluate(expression) {
    const r = await send("Runtime.evaluate", { expression, returnByValue: true, awaitPromise: true });
    if (r.exceptionDetails) throw new Error("page: " + (r.exceptionDetails.exception?.description || r.exceptionDetails.text));
    return r.result.value;
  }
  async function waitFor(expression, what, ms = waitMs) {
    const end = Date.now() + ms;
    for (;;) {
      const v = await evaluate(expression).catch(() => null);
      if (v) return v;
      if (Date.now() > end) throw new Error("timeout: " + what);
      await sleep(pollMs);
    }
  }
  return { evaluate, waitFor };
}
