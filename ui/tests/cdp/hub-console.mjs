// The hub's IT console in real Chromium, from the keyboard only: sign-in refused then
// accepted, a media file imported (the file chooser filled through CDP, as a person picks the
// file), the receipt link, the erasure recorded, an enrolment code issued, the audit screen.
// Screenshots of each screen.
//
//   node --experimental-websocket ui/tests/cdp/hub-console.mjs CONSOLE_URL NAME PASSWORD MEDIA_FILE MUNICIPALITY SHOT_DIR
//
// Started by crates/sesshu-hub/tests/console_flow.rs, which serves the console on a real hub.
// Exit code 1 on a failed step.
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { launch, connect, pageTools } from "./cdp.mjs";

const [url, name, password, mediaFile, municipality, shots] = process.argv.slice(2);
if (!shots) {
  console.error("usage: hub-console.mjs CONSOLE_URL NAME PASSWORD MEDIA_FILE MUNICIPALITY SHOT_DIR");
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

let cdp, session;
const send = (method, params) => cdp.send(method, params, session);
const { evaluate, waitFor } = pageTools(send, { waitMs: 10000, pollMs: 30 });
const VK = { Enter: 13, Tab: 9 };
async function press(key) {
  const vk = VK[key] || 0;
  await send("Input.dispatchKeyEvent", { type: "rawKeyDown", key, code: key, windowsVirtualKeyCode: vk, nativeVirtualKeyCode: vk });
  if (key === "Enter") await send("Input.dispatchKeyEvent", { type: "char", key, text: "\r", unmodifiedText: "\r" });
  await send("Input.dispatchKeyEvent", { type: "keyUp", key, code: key, windowsVirtualKeyCode: vk, nativeVirtualKeyCode: vk });
}
async function type(text) {
  for (const ch of text) {
    await send("Input.dispatchKeyEvent", { type: "keyDown", key: ch, text: ch, unmodifiedText: ch });
    await send("Input.dispatchKeyEvent", { type: "keyUp", key: ch });
  }
}
const focusedId = () => evaluate("document.activeElement ? (document.activeElement.id || document.activeElement.textContent.trim()) : null");
const title = () => evaluate("document.title");
const text = () => evaluate("document.body ? document.body.innerText : ''");
async function settled(what, predicate) {
  try {
    await waitFor(`document.readyState === "complete" && (${predicate})`, what);
  } catch (e) {
    // Say what the screen shows instead.
    const seen = await evaluate("document.title + ' | ' + (document.body ? document.body.innerText.slice(0, 400) : '')").catch(() => "?");
    throw new Error(e.message + " — the screen shows: " + seen);
  }
}
async function shot(file) {
  const { data } = await send("Page.captureScreenshot", { format: "png", captureBeyondViewport: true });
  writeFileSync(join(shots, file), Buffer.from(data, "base64"));
  console.log("screenshot: " + join(shots, file));
}
/// Tab forward until the focused element answers `predicate` (at most 40 stops).
async function tabTo(predicate, what) {
  for (let i = 0; i < 40; i += 1) {
    if (await evaluate(`(() => { const e = document.activeElement; return !!e && (${predicate}); })()`)) return;
    await press("Tab");
  }
  throw new Error("Tab never reached " + what);
}

let failures = 0;
function check(cond, msg) {
  if (cond) { console.log("  ok   " + msg); } else { console.log("  FAIL " + msg); failures += 1; }
}

async function flow() {
  // Sign-in: the name field has the focus; a wrong password is refused with its code.
  await send("Page.navigate", { url });
  await settled("sign-in page", `document.getElementById("name")`);
  check((await focusedId()) === "name", "the sign-in page opens with the focus on the name");
  await type(name);
  await press("Tab");
  await type("Wrong-password-0");
  await press("Enter");
  await settled("refusal", `document.querySelector(".notice.error")`);
  check((await text()).includes("操作者名またはパスワードが違います"), "a wrong password is refused in Japanese");
  await shot("40-console-sign-in-refused.png");
  await evaluate(`document.getElementById("password").focus()`);
  await type(password);
  await press("Enter");
  await settled("overview", `document.title.startsWith("概要")`);
  check((await text()).includes("ハブ鍵の指紋"), "signed in: the overview shows the hub key's fingerprint");
  await shot("41-console-overview.png");

  // Media: the file input has the focus; choose the file, Tab to 取り込む, Enter.
  await send("Page.navigate", { url: url + "media" });
  await settled("media page", `document.getElementById("file")`);
  check((await focusedId()) === "file", "the media page opens with the focus on the file chooser");
  const { root } = await send("DOM.getDocument", {});
  const { nodeId } = await send("DOM.querySelector", { nodeId: root.nodeId, selector: "#file" });
  await send("DOM.setFileInputFiles", { nodeId, files: [mediaFile] });
  await tabTo(`e.tagName === "BUTTON" && e.textContent.includes("取り込む")`, "the import button");
  await press("Enter");
  await settled("import result", `document.title.startsWith("媒体の取り込み結果")`);
  const imported = await text();
  check(/新規 \d+ 件/.test(imported), "the import reports what was new");
  check(await evaluate(`!!document.querySelector('a[href^="/it/download/"]')`), "the receipt file can be saved");
  await shot("42-console-media-imported.png");

  // Back on the media page: the medium waits for its erasure; record it from the keyboard.
  await send("Page.navigate", { url: url + "media" });
  await settled("media page", `document.getElementById("file")`);
  check((await text()).includes("消去待ちの媒体"), "the imported medium waits for its erasure");
  await shot("43-console-media-ledger.png");
  await tabTo(`e.tagName === "BUTTON" && e.textContent.includes("消去を記録")`, "the erasure button");
  await press("Enter");
  await settled("erasure recorded", `document.querySelector(".notice.done")`);
  check((await text()).includes("消去を記録しました"), "the erasure is recorded");

  // Terminals: the municipality code has the focus; Enter issues a code.
  await send("Page.navigate", { url: url + "terminals" });
  await settled("terminals page", `document.getElementById("municipality")`);
  check((await focusedId()) === "municipality", "the terminals page opens with the focus on the code field");
  await type(municipality);
  await press("Enter");
  await settled("enrolment code", `document.getElementById("enrol-code")`);
  const code = await evaluate(`document.getElementById("enrol-code").textContent`);
  check(code && code.length >= 8, "an enrolment code is shown once");
  await shot("44-console-enrol-code.png");

  // The audit screen: verified, the newest first, with this operator's actions.
  await send("Page.navigate", { url: url + "audit" });
  await settled("audit page", `document.title.startsWith("操作ログ")`);
  const audit = await text();
  check(audit.includes("正常") && audit.includes("媒体取込") && audit.includes("端末登録コード発行"), "the audit screen lists the console's actions and verifies the chain");
  await shot("45-console-audit.png");
}

const browser = launch();
try {
  cdp = await connect(await browser.endpoint);
  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  ({ sessionId: session } = await cdp.send("Target.attachToTarget", { targetId, flatten: true }));
  await send("Page.enable");
  await send("Runtime.enable");
  await send("DOM.enable");
  await send("Emulation.setFocusEmulationEnabled", { enabled: true });
  await flow();
} catch (e) {
  console.log("  FAIL " + (e && e.message ? e.message : String(e)));
  failures += 1;
} finally {
  try { cdp && cdp.close(); } catch { /* closed */ }
  await browser.close();
}
console.log(failures ? `hub-console: ${failures} failed` : "hub-console: pass");
process.exit(failures ? 1 : 0);
