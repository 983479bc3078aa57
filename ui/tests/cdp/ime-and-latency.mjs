// Real input on the keying screen through the Chrome DevTools Protocol (no npm dependencies):
// IME compositions (Input.imeSetComposition / Input.insertText) and trusted key events
// (Input.dispatchKeyEvent), which synthetic JS events cannot stand in for.
//
//   node --experimental-websocket ui/tests/cdp/ime-and-latency.mjs http://127.0.0.1:8123/index.html
//
// Needs the mocked test copy of ui/dist served at that address (ui/tests/run-mock.sh does it).
// (1) IME: the doctor's name, the judgement reason and the kana field of the resident lookup
//     take a composition; Enter while composing never advances; the committed text is in the
//     field exactly once; a plain Enter afterwards advances.
// (2) Latency: two whole forms typed at a fast keyer's pace; for every character, keydown →
//     the first animation frame after the field shows it. Printed, not asserted. Every field
//     must read back exactly what was typed.
// Exit code 1 on a wrong value or a failed step.
import { launch, connect, pageTools, sleep } from "./cdp.mjs";

const base = process.argv[2] || "http://127.0.0.1:8123/index.html";
const PACE_MS = Number(process.env.SESSHU_KEY_PACE_MS || 40);

if (typeof WebSocket === "undefined") {
  console.error("ime-and-latency: no WebSocket; run with node --experimental-websocket (Node 20+)");
  process.exit(2);
}

// ---- the page ---------------------------------------------------------------------------
let cdp, session;
const send = (method, params) => cdp.send(method, params, session);
const { evaluate, waitFor } = pageTools(send);
const focused = () => evaluate("document.activeElement && document.activeElement.dataset ? (document.activeElement.dataset.field || document.activeElement.id) : null");
const valueOf = (key) => evaluate(`document.querySelector('[data-field="${key}"]').value`);
async function open(query) {
  await send("Page.navigate", { url: base + "?" + query });
  await waitFor("document.documentElement && document.documentElement.dataset.flow", "scenario", 20000);
  const flow = await evaluate("document.documentElement.dataset.flow");
  if (flow !== "pass") throw new Error("the scenario opening the screen failed: " + flow);
}

const VK = { Enter: 13, Tab: 9, Escape: 27, F2: 113, F9: 120 };
async function press(key, extra = {}) {
  const vk = VK[key] || 0;
  await send("Input.dispatchKeyEvent", Object.assign({ type: "rawKeyDown", key, code: key,
    windowsVirtualKeyCode: vk, nativeVirtualKeyCode: vk }, extra));
  if (key === "Enter" && !extra.key) await send("Input.dispatchKeyEvent", { type: "char", key, text: "\r", unmodifiedText: "\r" });
  await send("Input.dispatchKeyEvent", { type: "keyUp", key, code: key, windowsVirtualKeyCode: vk, nativeVirtualKeyCode: vk });
}
async function typeChar(ch) {
  const upper = ch.toUpperCase();
  const vk = /[0-9A-Z]/.test(upper) ? upper.charCodeAt(0) : ch === "." ? 190 : 0;
  await send("Input.dispatchKeyEvent", { type: "keyDown", key: ch, text: ch, unmodifiedText: ch,
    windowsVirtualKeyCode: vk, nativeVirtualKeyCode: vk });
  await send("Input.dispatchKeyEvent", { type: "keyUp", key: ch, windowsVirtualKeyCode: vk, nativeVirtualKeyCode: vk });
}
async function focusField(key) {
  await evaluate(`document.querySelector('[data-field="${key}"]').focus()`);
  await waitFor(`document.activeElement && document.activeElement.dataset.field === "${key}"`, "focus " + key);
}

let failures = 0;
function check(cond, msg) {
  if (cond) { console.log("  ok   " + msg); } else { console.log("  FAIL " + msg); failures += 1; }
}

// An IME composition as a Japanese keyer makes it: readings while typing, a conversion, then
// Enter. The IME owns that Enter (the page sees "Process", keyCode 229), then commits.
async function compose(steps, committed) {
  for (const text of steps) {
    await send("Input.imeSetComposition", { text, selectionStart: text.length, selectionEnd: text.length });
    await sleep(15);
  }
  await send("Input.dispatchKeyEvent", { type: "rawKeyDown", key: "Process", code: "Enter",
    windowsVirtualKeyCode: 229, nativeVirtualKeyCode: 229 });
  await send("Input.insertText", { text: committed });
  await send("Input.dispatchKeyEvent", { type: "keyUp", key: "Enter", code: "Enter", windowsVirtualKeyCode: 13, nativeVirtualKeyCode: 13 });
  await sleep(30);
}

async function imeField(key, steps, committed, nextKey) {
  await focusField(key);
  await send("Input.imeSetComposition", { text: steps[0], selectionStart: steps[0].length, selectionEnd: steps[0].length });
  // An Enter while the composition is open (no IME to take it here): the page must ignore it.
  await press("Enter");
  await sleep(40);
  check((await focused()) === key, `${key}: Enter while composing does not advance`);
  await compose(steps.slice(1), committed);
  const v = await valueOf(key);
  check(v === committed, `${key}: committed text exactly once (${JSON.stringify(v)})`);
  check((await focused()) === key, `${key}: the Enter that commits does not advance`);
  await press("Enter");
  await waitFor(`document.activeElement && document.activeElement.dataset.field === "${nextKey}"`, "advance from " + key, 2000)
    .then(() => check(true, `${key}: a plain Enter after the commit advances to ${nextKey}`),
      () => check(false, `${key}: a plain Enter after the commit advances to ${nextKey} (now ${key})`));
  check((await valueOf(key)) === committed, `${key}: value unchanged by leaving (${JSON.stringify(committed)})`);
}

async function imeTest() {
  console.log("IME (Input.imeSetComposition / Input.insertText):");
  await open("phase=ready&keying=1&drive=keying&stop=keying-open");
  await imeField("doctor", ["や", "やま", "やまだ", "山田"], "山田", "outcome");
  await imeField("judgement_reason", ["は", "はつ", "はつね", "はつねつ", "発熱"], "発熱のため", "vaccine");
  const before = await evaluate("window.__calls.filter((c) => c.cmd === 'resident_lookup').length");
  await focusField("atena");
  await press("F2");
  await waitFor("document.getElementById('lookup-kana')", "F2 opens the resident lookup");
  await evaluate("document.getElementById('lookup-kana').focus()");
  await send("Input.imeSetComposition", { text: "や", selectionStart: 1, selectionEnd: 1 });
  await compose(["やま", "やまだ", "ヤマダ"], "ヤマダ");
  const kana = await evaluate("document.getElementById('lookup-kana').value");
  check(kana === "ヤマダ", `lookup kana: committed text exactly once (${JSON.stringify(kana)})`);
  const after = await evaluate("window.__calls.filter((c) => c.cmd === 'resident_lookup').length");
  check(after === before, "lookup kana: the committing Enter does not search");
  check((await evaluate("document.activeElement.id")) === "lookup-kana", "lookup kana: focus stays");
  await press("Escape");
  await waitFor("!document.getElementById('keying-lookup')", "Esc closes the lookup");
  check((await focused()) === "atena", "lookup closed by Esc: back on the 宛名番号");
}

// keydown → the first animation frame after which the field shows the character.
const PROBE = `(() => {
  window.__lat = [];
  document.addEventListener("keydown", (e) => {
    if (e.key.length !== 1 || !e.target || !e.target.dataset || !e.target.dataset.field) return;
    const el = e.target, before = el.value, t0 = e.timeStamp;
    let frames = 0;
    const tick = () => {
      if (el.value !== before && el.value.includes(e.key)) window.__lat.push(performance.now() - t0);
      else if (++frames < 120) requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, true);
  return true;
})()`;

async function latencyTest() {
  console.log(`latency (Input.dispatchKeyEvent, ${PACE_MS} ms between keys):`);
  await open("phase=ready&keying=1&drive=keying&stop=keying-open");
  await evaluate(PROBE);
  const form = await evaluate("window.__MR_FORM");
  const keys = Object.keys(form);
  const typed = Object.assign({}, form, { atena: "0000400012", doctor: "山田 一郎" });
  for (const n of [1, 2]) {
    await waitFor("document.getElementById('keying').dataset.ready === '1'", "blank form " + n);
    await waitFor(`document.activeElement && document.activeElement.dataset.field === "atena"`, "first field focused");
    for (const [i, key] of keys.entries()) {
      await waitFor(`document.activeElement && document.activeElement.dataset.field === "${key}"`, "focus on " + key, 3000);
      const value = typed[key];
      if (/^[\x20-\x7e]*$/.test(value)) {
        for (const ch of value) { await typeChar(ch); await sleep(PACE_MS); }
      } else {
        // Japanese text arrives committed from the IME.
        await send("Input.insertText", { text: value });
        await sleep(PACE_MS);
      }
      if (i < keys.length - 1) { await press("Enter"); await sleep(PACE_MS); }
    }
    const read = await evaluate(`Object.fromEntries([...document.querySelectorAll("[data-field]")].map((e) => [e.dataset.field, e.value]))`);
    const wrong = keys.filter((k) => read[k] !== typed[k]);
    check(wrong.length === 0, `form ${n}: every field reads back what was typed` +
      (wrong.length ? " — wrong: " + wrong.map((k) => `${k}=${JSON.stringify(read[k])} (typed ${JSON.stringify(typed[k])})`).join(", ") : ""));
    await press("F9");
    await waitFor(`document.getElementById('keying-status').textContent.includes("票番号 ${n} を保存しました")`, "form " + n + " saved", 5000)
      .then(() => check(true, `form ${n}: saved with F9`), () => check(false, `form ${n}: saved with F9`));
    await waitFor("document.getElementById('keying').dataset.ready === '1'", "next form " + n);
    const leftovers = await evaluate("[...document.querySelectorAll('.field-error')].map((e) => e.closest('[data-key]').dataset.key)");
    check(leftovers.length === 0, `form ${n}: the next form starts without messages` + (leftovers.length ? " — on " + leftovers.join(", ") : ""));
  }
  const sent = await evaluate("window.__calls.filter((c) => c.cmd === 'keying_save').map((c) => c.args.req)");
  check(sent.length === 2 && sent.every((r) => r.values.atena === "0000400012"), "both forms sent");
  const m = sent[0] && sent[0].metrics;
  console.log(`  metrics of form 1: keystrokes=${m && m.keystrokes} active_ms=${m && m.active_ms}`);
  check(m && m.keystrokes >= 60 && m.active_ms > 0, "keystrokes and keying time measured");
  const lat = (await evaluate("window.__lat")).slice().sort((a, b) => a - b);
  const pct = (p) => lat[Math.min(lat.length - 1, Math.ceil((p / 100) * lat.length) - 1)];
  check(lat.length > 100, `a latency sample per typed character (n=${lat.length})`);
  console.log(`keystroke-to-paint p50=${pct(50).toFixed(1)} ms p99=${pct(99).toFixed(1)} ms (n=${lat.length})`);
}

const browser = launch();
try {
  cdp = await connect(await browser.endpoint);
  const { targetId } = await cdp.send("Target.createTarget", { url: "about:blank" });
  ({ sessionId: session } = await cdp.send("Target.attachToTarget", { targetId, flatten: true }));
  await send("Page.enable");
  await send("Runtime.enable");
  // A headless page has no window focus: without this, focus moves but no blur/focus events
  // fire, and the screen's checks on leaving a field by focus would go untested.
  await send("Emulation.setFocusEmulationEnabled", { enabled: true });
  await imeTest();
  await latencyTest();
} catch (e) {
  console.log("  FAIL " + (e && e.message ? e.message : String(e)));
  failures += 1;
} finally {
  try { cdp && cdp.close(); } catch { /* closed */ }
  await browser.close();
}
console.log(failures ? `ime-and-latency: ${failures} failed` : "ime-and-latency: pass");
process.exit(failures ? 1 : 0);
