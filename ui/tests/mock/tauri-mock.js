// A stand-in for Tauri's `window.__TAURI_INTERNALS__.invoke`, for looking at the UI in a plain
// browser. Only ui/tests/run-mock.sh injects it, into a copy of ui/dist; never ship it.
//
// URL parameters:
//   phase=needs_setup|key_missing|ready|fatal   where the terminal starts (default needs_setup)
//   session=active|locked                       start signed in (with phase=ready)
//   roles=administrator,keyer                   roles of the signed-in user
//   demo=0                                      hide the demo band
//   drive=<scenario>                            run a scripted flow (see SCENARIOS below);
//                                               the result lands in <html data-flow="...">
//   stop=<step>                                 stop the scenario after that step (for screenshots)
(function () {
  "use strict";
  const q = new URLSearchParams(location.search);
  const calls = [];
  window.__calls = calls;
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  const terminal = {
    municipality_name: "千代田区",
    municipality_code: "131016",
    terminal_name: "健康課 入力端末1",
    terminal_id: "0192f0c4-7d1e-7c3a-9b7e-1f2a3b4c5d6e",
  };
  const now = "2026-11-23T01:15:00Z";
  const s = {
    phase: q.get("phase") || "needs_setup",
    demo: q.get("demo") !== "0",
    terminal: q.get("phase") && q.get("phase") !== "needs_setup" ? terminal : null,
    session: null,
    policy: { password_min_len: 12, lockout_threshold: 5, lockout_minutes: 15, idle_lock_minutes: 10 },
    log_level: "info",
    passwords: { admin01: "Correct-Horse-9", keyer01: "Keyer-Pass-01", verify02: "Verify-Pass-02" },
    users: [
      { login_id: "admin01", display_name: "管理 太郎", roles: ["administrator"], active: true,
        disabled_at: null, disabled_from: null, locked_until: null, created_at: now },
      { login_id: "keyer01", display_name: "入力 花子", roles: ["keyer"], active: true,
        disabled_at: null, disabled_from: "2027-04-01", locked_until: null, created_at: now },
      { login_id: "verify01", display_name: "確認 次郎", roles: ["verifier", "sync_operator"], active: false,
        disabled_at: now, disabled_from: null, locked_until: null, created_at: now },
      { login_id: "verify02", display_name: "確認 三咲", roles: ["verifier"], active: true,
        disabled_at: null, disabled_from: null, locked_until: null, created_at: now },
      // Locked out by failed sign-ins until a quarter of an hour from the browser's now.
      { login_id: "keyer03", display_name: "入力 四郎", roles: ["keyer"], active: true,
        disabled_at: null, disabled_from: null, locked_until: new Date(Date.now() + 15 * 60000).toISOString(),
        created_at: now },
    ],
    audit: [],
    // The resident extract now on the terminal (a city of a million).
    residents: { residents: 1000000, version: 7, as_of: "2026-11-01", imported_at: "2026-11-02T00:30:00.000000Z" },
    clinics: [
      { code: "1310123458", name: "千代田こどもクリニック" },
      { code: "1310543218", name: "神田内科医院" },
      { code: "1310987654", name: "麹町ファミリークリニック" },
      { code: "1310111115", name: "九段坂小児科" },
    ],
    batches: [],
    // A few residents of the extract (fake people) for 住民検索; the import does not change them.
    people: [
      { atena: "0000102345", kana: "ヤマダ タロウ", name: "山田 太郎", sex: "male", birth_date: "1958-04-12",
        address: "千代田区神田神保町1-1-1", out_of_area: false, gaiji: false, deceased_on: null, moved_out_on: null, restricted: false },
      { atena: "0000102353", kana: "ヤマダ タケシ", name: "山田 武", sex: "male", birth_date: "1958-04-12",
        address: "千代田区九段南2-3-4 九段ハイツ201", out_of_area: false, gaiji: false, deceased_on: null, moved_out_on: null, restricted: false },
      { atena: "0000102361", kana: "ヤマダ タカコ", name: "山田 孝子", sex: "female", birth_date: "1958-04-12",
        address: null, out_of_area: true, gaiji: false, deceased_on: null, moved_out_on: null, restricted: false },
      { atena: "0000204455", kana: "サトウ ハナコ", name: "佐藤 花子", sex: "female", birth_date: "1970-03-03",
        address: "千代田区麹町2-2-2", out_of_area: false, gaiji: false, deceased_on: null, moved_out_on: null, restricted: true },
      { atena: "0000300017", kana: "スズキ イチロウ", name: "鈴木 一郎", sex: "male", birth_date: "1941-12-08",
        address: "千代田区神田小川町3-1", out_of_area: false, gaiji: false, deceased_on: "2026-08-01", moved_out_on: null, restricted: false },
      { atena: "0000300025", kana: "タナカ ショウコ", name: "田中 祥子", sex: "female", birth_date: "1985-06-30",
        address: "千代田区富士見1-5-8", out_of_area: false, gaiji: false, deceased_on: null, moved_out_on: "2026-09-30", restricted: false },
    ],
  };
  // sesshu_domain::normalize::kana_search_key, roughly: any width, hiragana or katakana, no
  // spaces or 「・」, small kana folded.
  const SMALL = { "ァ": "ア", "ィ": "イ", "ゥ": "ウ", "ェ": "エ", "ォ": "オ", "ッ": "ツ", "ャ": "ヤ", "ュ": "ユ", "ョ": "ヨ", "ヮ": "ワ", "ヵ": "カ", "ヶ": "ケ" };
  function kanaKey(text) {
    return Array.from(text.normalize("NFKC").replace(/[\s・]/g, ""))
      .map((c) => (c >= "\u3041" && c <= "\u3096" ? String.fromCharCode(c.charCodeAt(0) + 0x60) : c))
      .map((c) => SMALL[c] || c).join("");
  }
  // What a keying screen may show: a 閲覧注意 resident without the address (display_view).
  function residentView(p, purpose) {
    audit(A.ResidentViewed, s.session.login_id, p.atena + " (" + purpose + ")", "success");
    return Object.assign({}, p, { address: p.restricted ? null : p.address });
  }
  // The contract (ui/tests/mock/contract.json, regenerated by a Rust test from sesshu-ipc and
  // sesshu-domain) is loaded by run-mock.sh as window.__SESSHU_CONTRACT before this file: audit
  // codes, error codes and command names come from it, so the mock cannot drift.
  const contract = window.__SESSHU_CONTRACT;
  if (!contract) throw new Error("contract.json was not loaded before tauri-mock.js");
  const A = {};
  for (const a of contract.audit_actions) A[a.name] = a;
  const errorCodes = new Set(contract.error_codes);
  const commands = {};
  for (const c of contract.commands) commands[c.name] = c;
  let seq = 0;
  function audit(action, actor, target, outcome) {
    if (!action) throw new Error("unknown audit action");
    seq += 1;
    s.audit.unshift({ seq, at: new Date(Date.UTC(2026, 10, 23, 1, 15, seq)).toISOString(),
      terminal_id: terminal.terminal_id, actor, action_code: action.code, action_label: action.label,
      target, outcome });
  }
  for (let i = 0; i < 5; i++) {
    audit(i % 2 ? A.LoginFailed : A.LoginSucceeded, "admin01", "admin01", i % 2 ? "refused" : "success");
  }
  if (q.get("session")) {
    s.session = { login_id: "admin01", display_name: "管理 太郎",
      roles: (q.get("roles") || "administrator").split(","), state: q.get("session"),
      idle_lock_minutes: 10, signed_in_at: now, must_change_password: false };
  }

  function fail(code, message) {
    if (!errorCodes.has(code)) throw new Error("error code not in the contract: " + code);
    throw { code, message };
  }
  function needSession() {
    if (!s.session) fail("NOT_LOGGED_IN", "ログインしてください");
    if (s.session.state === "locked") fail("SESSION_LOCKED", "画面がロックされています");
  }
  function phase() {
    if (s.phase === "fatal" && q.get("fatal") === "anchor") return { kind: "fatal", code: "AUDIT_ANCHOR_MISMATCH",
      message: "操作ログが台帳の外に保管した基準点と一致しません（最新の記録が削除または書き換えられた可能性があります）。" };
    if (s.phase === "fatal") return { kind: "fatal", code: "KEYSTORE_UNAVAILABLE",
      message: "OSの鍵保管庫に接続できません。台帳は開いていません。" };
    return { kind: s.phase };
  }

  // Which roles hold the permissions the new screens use (sesshu_domain::role::Role::grants);
  // commands under other permissions are not checked by the mock.
  const GRANTS = {
    import_reference_data: ["administrator", "sync_operator"],
    manage_batches: ["keyer", "verifier"],
    verify: ["verifier"],
    lookup_resident: ["keyer", "verifier"],
    // Review screens.
    resolve_mismatch: ["verifier"],
    confirm_correction: ["verifier"],
    key_forms: ["keyer"],
    run_sync: ["sync_operator"],
    manage_media: ["sync_operator"],
  };
  function permitted(spec) {
    const holders = spec.access && spec.access.kind === "permission" && GRANTS[spec.access.permission];
    if (!holders) return;
    needSession();
    if (!s.session.roles.some((r) => holders.includes(r))) {
      audit(A.PermissionDenied, s.session.login_id, spec.name, "refused");
      fail("PERMISSION_DENIED", "この操作を行う権限がありません");
    }
  }

  let batchSeq = 0;
  function batch(clinic_code, received_on, claim_month, programme, declared, counts, status, note) {
    batchSeq += 1;
    const clinic = s.clinics.find((c) => c.code === clinic_code);
    return { id: batchSeq, clinic_code, clinic_name: clinic ? clinic.name : null, received_on, claim_month,
      programme, note: note || "", status: status || "open", registered_by: "keyer01",
      closed_by: status === "closed" ? "verify02" : null,
      progress: Object.assign({ declared, keyed_once: 0, keyed_twice: 0, mismatched: 0, approved: 0,
        rejected: 0, withdrawn: 0 }, counts) };
  }
  s.batches.push(
    batch("1310123458", "2026-10-05", "2026-09", "MR", 40, { approved: 39, withdrawn: 1 }, "closed"),
    batch("1310543218", "2026-11-04", "2026-10", "FLU", 120, { keyed_once: 18, keyed_twice: 6, mismatched: 3, approved: 85, rejected: 2 }),
    batch("1310987654", "2026-11-12", "2026-10", "HPV", 25, { approved: 24, withdrawn: 1 }),
    batch("1310111115", "2026-11-18", "2026-11", "DPT", 60, { keyed_once: 12 }),
  );
  function closable(p) {
    const open = p.keyed_once + p.keyed_twice + p.mismatched + p.rejected;
    return open === 0 && p.approved + p.withdrawn === p.declared;
  }

  // Tauri's event bus: listeners by event name (registered through `plugin:event|listen`
  // below), each calling its callback from `transformCallback` as Tauri's runCallback does.
  const listeners = {};
  function emit(event, payload) {
    for (const l of (listeners[event] || []).slice()) l.call({ event, id: l.eventId, payload });
  }
  // How many listeners of `event` are registered: 1 while a screen shows its progress bar, 0
  // after (the UI drops its subscription, which must reach `plugin:event|unlisten`).
  const listening = (event) => (listeners[event] || []).length;
  const calledWith = (cmd, event) => window.__calls.some((c) => c.cmd === cmd && c.args && c.args.event === event);
  function decodeFile(file) {
    const bin = atob(file.content_base64);
    const bytes = Uint8Array.from(bin, (c) => c.charCodeAt(0));
    return new TextDecoder("utf-8").decode(bytes);
  }
  const sha = "3b7e1f0c9a2d48e6b5c1f7a09d3e2c4b8a6f1e0d7c9b2a4e6f8d0c1b3a5e7f92";

  // ==== review screens (突合せ, 確認, 修正・削除, 入力統計, 管理票): in-memory forms ==========
  // Minimal stand-ins for the keying commands too (form_layout … keying_verify_field), so the
  // mock loads; the keying screen's own handlers, written literally in `handlers`, override them.
  s.users.push({ login_id: "verify04", display_name: "確認 五月", roles: ["verifier"], active: true,
    disabled_at: null, disabled_from: null, locked_until: null, created_at: now });
  s.passwords.verify04 = "Verify-Pass-04";
  // window.print in a headless browser: recorded instead of opening a dialog.
  window.print = () => { window.__printed = (window.__printed || 0) + 1; };
  const STATE_LABEL = { keyed_once: "1回目入力済", keyed_twice: "2回目入力済", matched: "一致", mismatched: "不一致",
    resolved: "不一致解消済", approved: "承認済", rejected: "差戻し", queued: "送信待ち", synced: "送信済",
    correction_pending: "修正確認待ち", deletion_pending: "削除確認待ち", deletion_queued: "削除送信待ち", deleted: "削除済" };
  const DIFF_LABEL = { match: "一致", formatting_only: "表記のみ相違", values_differ: "値の相違",
    missing_in_first: "1回目に未入力", missing_in_second: "2回目に未入力" };
  const field = (key, label_ja, kind, input, required, max_chars, choices) => ({ key, label_ja, kind, input,
    choices: (choices || []).map(([code, label]) => ({ code, label_ja: label })), required, carry_forward: false, max_chars });
  const LAYOUT = [
    field("atena", "宛名番号", { kind: "code" }, "numeric", true, 15),
    field("eligibility", "対象者区分", { kind: "code" }, "choice", false, 1, [["1", "65歳以上"], ["2", "60〜64歳（障害）"]]),
    field("temperature", "体温", { kind: "number" }, "numeric", false, 5),
    field("judgement", "医師の判断", { kind: "code" }, "choice", true, 1, [["1", "接種可"], ["2", "見合わせ"]]),
    field("vaccine", "ワクチン（製品コード）", { kind: "lot" }, "alnum", true, 20),
    field("date", "接種日", { kind: "date", default_era: "R" }, "date", true, 12),
    field("lot", "ロット番号", { kind: "lot" }, "alnum", false, 20),
    field("volume", "接種量（mL）", { kind: "number" }, "numeric", false, 5),
    field("site", "接種部位", { kind: "code" }, "choice", false, 1, [["1", "左上腕"], ["2", "右上腕"], ["3", "左大腿"], ["4", "右大腿"], ["5", "経口"], ["6", "その他"]]),
    field("clinic", "医療機関コード", { kind: "code" }, "numeric", true, 10),
    field("doctor", "医師名", { kind: "text" }, "text", true, 40),
    field("outcome", "結果", { kind: "code" }, "choice", true, 1, [["1", "接種"], ["2", "見合わせ"], ["3", "予診のみ"]]),
  ];
  const label = (key) => (LAYOUT.find((f) => f.key === key) || { label_ja: key }).label_ja;
  const keyed = (atena, over) => Object.assign({ atena, eligibility: "1", temperature: "36.5", judgement: "1",
    vaccine: "FLU01", date: "R8.11.2", lot: "KF123A", volume: "0.5", site: "1", clinic: "1310543218",
    doctor: "神田 一郎", outcome: "1" }, over || {});
  s.forms = [];
  function addForm(id, batch_id, form_no, state, first, second, extra) {
    const f = Object.assign({ form_id: id, form_uid: "0192f0c4-0000-7000-8000-" + String(id).padStart(12, "0"),
      form_no, batch_id, programme: (s.batches.find((b) => b.id === batch_id) || {}).programme || "FLU", state,
      first_keyer: "keyer01", second_keyer: second ? "keyer03" : null, resolver: null, approver: null,
      comments: [], warnings: [], override_reason: null, record_id: null,
      updated_at: new Date(Date.UTC(2026, 10, 20, 0, id % 60)).toISOString(),
      first, second, values: second && state !== "mismatched" ? Object.assign({}, second) : Object.assign({}, first),
      pending: null }, extra || {});
    s.forms.push(f);
    return f;
  }
  const approvedBy = (who) => ({ approver: who, record_id: "0192f0c4-aaaa-7000-8000-0000000000" + who.length });
  // Batch 2 (FLU, 神田内科医院): the forms the review flows work on.
  addForm(201, 2, 7, "mismatched", keyed("0000102345"), keyed("0000102345", { temperature: "36.50", date: "R8.11.3", lot: "KF128A" }));
  addForm(206, 2, 12, "mismatched", keyed("0000102361"), keyed("0000102361", { volume: "0.25" }), { second_keyer: "verify02" });
  addForm(202, 2, 8, "matched", keyed("0000300025", { date: "R8.11.5" }), keyed("0000300025", { date: "R8.11.5" }), {
    warnings: [{ code: "RESIDENT_MOVED_OUT", message_ja: "接種日より前に転出した住民です（令和8年9月30日 転出）" }],
    override_reason: "転出前に予約済みの接種（医療機関に確認済み）" });
  addForm(203, 2, 9, "resolved", keyed("0000102353", { lot: "KF124A" }), keyed("0000102353", { lot: "KF124A" }), { resolver: "verify04" });
  addForm(204, 2, 3, "approved", keyed("0000102353", { lot: "KF222A" }), keyed("0000102353", { lot: "KF222A" }), approvedBy("verify02"));
  const f205 = addForm(205, 2, 4, "correction_pending", keyed("0000102345", { lot: "KF111A" }), keyed("0000102345", { lot: "KF111A" }), approvedBy("verify02"));
  f205.pending = { kind: "correction", changes: [{ key: "lot", label: label("lot"), before: "KF111A", after: "KF117A" }],
    reason: "ロット番号の転記誤り", evidence: "束2 p.4（医療機関へ電話確認 11/21）", requested_by: "keyer01" };
  addForm(207, 2, 1, "approved", keyed("0000102345"), keyed("0000102345"), approvedBy("verify02"));
  addForm(208, 2, 2, "keyed_once", keyed("0000102361"), null);
  // Batch 3 (HPV, 25 declared): 24 approved and 1 deleted, for the control sheet.
  for (let i = 1; i <= 25; i++) {
    const atena = "00004" + String(10000 + i * 37).padStart(5, "0");
    addForm(300 + i, 3, i, i === 17 ? "deleted" : "approved", keyed(atena, { vaccine: "HPV9", clinic: "1310987654" }),
      keyed(atena, { vaccine: "HPV9", clinic: "1310987654" }),
      Object.assign({ second_keyer: i % 3 ? "keyer03" : "keyer02", resolver: i === 9 ? "verify04" : null }, approvedBy(i % 2 ? "verify02" : "verify04")));
  }
  const fromMock = (f) => ({ form_id: f.form_id, form_uid: f.form_uid, form_no: f.form_no, batch_id: f.batch_id,
    programme: f.programme, state: f.state, state_label: STATE_LABEL[f.state], atena: f.first.atena || null,
    first_keyer: f.first_keyer, second_keyer: f.second_keyer, resolver: f.resolver, approver: f.approver,
    comments: f.comments, warnings: f.warnings, override_reason: f.override_reason, record_id: f.record_id,
    updated_at: f.updated_at });
  function findForm(id) { return s.forms.find((f) => f.form_id === id) || fail("FORM_NOT_FOUND", "票が見つかりません"); }
  function touch(f, state) { f.state = state; f.updated_at = new Date(Date.UTC(2026, 10, 23, 2, 0, seq)).toISOString(); }
  function difference(a, b, kind) {
    const blank = (v) => v == null || String(v).trim() === "";
    if (blank(a) && blank(b)) return "match";
    if (blank(a)) return "missing_in_first";
    if (blank(b)) return "missing_in_second";
    if (a === b) return "match";
    if (kind === "number" && parseFloat(a) === parseFloat(b)) return "formatting_only";
    return "values_differ";
  }
  function secondPerson(f, why) {
    const me = s.session.login_id;
    if (f.first_keyer === me || f.second_keyer === me) {
      audit(A.PermissionDenied, me, String(f.form_id), "refused");
      fail("SECOND_PERSON_REQUIRED", why);
    }
  }
  // A few entries of the review work, so the audit filters have something to find.
  audit(A.RecordApproved, "verify02", "0000102345", "success");
  audit(A.MismatchResolved, "verify04", "0000102353", "success");
  audit(A.CorrectionRequested, "keyer01", "0000102345", "success");
  audit(A.RecordApproved, "verify04", "0000102353", "success");
  audit(A.RecordRejected, "verify02", "0000102361", "success");
  function days(from, to) {
    const out = [];
    for (let t = Date.parse(from + "T00:00:00Z"); t <= Date.parse(to + "T00:00:00Z") && out.length < 400; t += 86400000) {
      out.push(new Date(t).toISOString().slice(0, 10));
    }
    return out;
  }
  const reviewHandlers = {
    form_layout: ({ req }) => {
      const b = s.batches.find((x) => x.id === req.batch_id) || fail("BATCH_NOT_FOUND", "バッチが見つかりません");
      return { programme: b.programme, programme_name: b.programme + "（定期接種）", double_entry: "independent",
        fields: LAYOUT, override_reasons: [{ code: "DOCTOR_CONFIRMED", label_ja: "医師に確認済み" }] };
    },
    keying_next: ({ req }) => {
      const b = s.batches.find((x) => x.id === req.batch_id) || fail("BATCH_NOT_FOUND", "バッチが見つかりません");
      return { task: null, batch: b };
    },
    keying_check: () => ({ field_issues: [], record_issues: [], rules: null, needs_override: false, resident: null }),
    keying_save: ({ req }) => {
      const b = s.batches.find((x) => x.id === req.batch_id) || fail("BATCH_NOT_FOUND", "バッチが見つかりません");
      const f = addForm(900 + s.forms.length, b.id, s.forms.filter((x) => x.batch_id === b.id).length + 1,
        "keyed_once", Object.assign({}, req.values), null, { first_keyer: s.session.login_id });
      audit(A.FirstPassSaved, s.session.login_id, f.first.atena || null, "success");
      return { form: fromMock(f), batch: b };
    },
    keying_verify_field: ({ req }) => ({ matches: (findForm(req.form_id).first[req.key] || "") === req.value }),
    mismatch_list: () => s.forms.filter((f) => f.state === "mismatched").map(fromMock),
    mismatch_get: ({ req }) => {
      const f = findForm(req.form_id);
      if (f.state !== "mismatched") fail("INVALID_TRANSITION", "この票は不一致ではありません");
      audit(A.MismatchViewed, s.session.login_id, f.first.atena, "success");
      const fields = LAYOUT.map((l) => {
        const d = difference(f.first[l.key], f.second[l.key], l.kind.kind);
        return { key: l.key, label: l.label_ja, difference: d, difference_label: DIFF_LABEL[d],
          first: f.first[l.key] || null, second: f.second[l.key] || null };
      });
      return { form: fromMock(f), fields, layout: LAYOUT };
    },
    mismatch_resolve: ({ req }) => {
      const f = findForm(req.form_id);
      if (f.state !== "mismatched") fail("INVALID_TRANSITION", "この票は不一致ではありません");
      secondPerson(f, "この票を入力した人は不一致を解消できません。別の人が用紙を見て解消してください。");
      const open = LAYOUT.filter((l) => !["match", "formatting_only"].includes(difference(f.first[l.key], f.second[l.key], l.kind.kind)));
      const missing = open.filter((l) => !(l.key in req.values));
      if (missing.length) fail("INVALID_INPUT", "解消する値がありません: " + missing.map((l) => l.label_ja).join("、"));
      f.values = Object.assign({}, f.second, req.values);
      f.resolver = s.session.login_id;
      touch(f, "resolved");
      audit(A.MismatchResolved, s.session.login_id, f.first.atena, "success");
      return fromMock(f);
    },
    verification_queue: () => s.forms.filter((f) => f.state === "matched" || f.state === "resolved").map(fromMock),
    verification_get: ({ req }) => {
      const f = findForm(req.form_id);
      audit(A.RecordViewed, s.session.login_id, f.values.atena, "success");
      const p = s.people.find((x) => x.atena === f.values.atena);
      return { form: fromMock(f), fields: LAYOUT.map((l) => ({ key: l.key, label: l.label_ja, value: f.values[l.key] || null })),
        resident: p ? residentView(p, "verification") : null, hub_findings: hubFindingsOf(f.form_id) };
    },
    verification_approve: ({ req }) => {
      const f = findForm(req.form_id);
      if (!["matched", "resolved"].includes(f.state)) fail("INVALID_TRANSITION", "この票は確認待ちではありません");
      secondPerson(f, "自分が入力した票は承認できません。");
      Object.assign(f, approvedBy(s.session.login_id));
      touch(f, "approved");
      audit(A.RecordApproved, s.session.login_id, f.values.atena, "success");
      return fromMock(f);
    },
    verification_reject: ({ req }) => {
      const f = findForm(req.form_id);
      if (!req.comments.length || req.comments.some((c) => !c.comment.trim())) fail("INVALID_INPUT", "差戻しのコメントを入力してください");
      secondPerson(f, "自分が入力した票は差し戻せません。");
      f.comments = req.comments;
      touch(f, "rejected");
      audit(A.RecordRejected, s.session.login_id, f.values.atena, "success");
      return fromMock(f);
    },
    batch_forms: ({ req }) => s.forms.filter((f) => f.batch_id === req.batch_id).sort((a, b) => a.form_no - b.form_no).map(fromMock),
    correction_request: ({ req }) => {
      const f = findForm(req.form_id);
      if (f.state !== "approved") fail("INVALID_TRANSITION", "承認済みの票だけ修正を申請できます");
      const keys = Object.keys(req.changes);
      if (!keys.length || !req.reason.trim() || !req.evidence.trim()) fail("INVALID_INPUT", "修正する項目・理由・根拠を入力してください");
      f.pending = { kind: "correction", reason: req.reason, evidence: req.evidence, requested_by: s.session.login_id,
        changes: keys.map((k) => ({ key: k, label: label(k), before: f.values[k] || null, after: req.changes[k] })) };
      touch(f, "correction_pending");
      audit(A.CorrectionRequested, s.session.login_id, f.values.atena, "success");
      return fromMock(f);
    },
    deletion_request: ({ req }) => {
      const f = findForm(req.form_id);
      if (f.state !== "approved") fail("INVALID_TRANSITION", "承認済みの票だけ削除を申請できます");
      f.pending = { kind: "deletion", reason: req.reason, evidence: req.evidence, requested_by: s.session.login_id, changes: [] };
      touch(f, "deletion_pending");
      audit(A.DeletionRequested, s.session.login_id, f.values.atena, "success");
      return fromMock(f);
    },
    change_pending_list: () => s.forms.filter((f) => f.pending).map((f) => Object.assign({ form: fromMock(f) }, f.pending)),
    change_confirm: ({ req }) => {
      const f = findForm(req.form_id);
      if (!f.pending) fail("INVALID_TRANSITION", "確認を待っている申請はありません");
      if (f.pending.requested_by === s.session.login_id) {
        audit(A.PermissionDenied, s.session.login_id, String(f.form_id), "refused");
        fail("SECOND_PERSON_REQUIRED", "自分が出した申請は確認できません。別の人が確認してください。");
      }
      if (f.pending.kind === "correction") {
        for (const c of f.pending.changes) f.values[c.key] = c.after;
        touch(f, "approved");
      } else {
        touch(f, "deletion_queued");
      }
      f.pending = null;
      audit(A.ChangeConfirmed, s.session.login_id, f.values.atena, "success");
      return fromMock(f);
    },
    change_refuse: ({ req }) => {
      const f = findForm(req.form_id);
      if (!f.pending) fail("INVALID_TRANSITION", "確認を待っている申請はありません");
      if (f.pending.requested_by === s.session.login_id) fail("SECOND_PERSON_REQUIRED", "自分が出した申請は却下できません。");
      f.pending = null;
      touch(f, "approved");
      audit(A.ChangeRefused, s.session.login_id, f.values.atena, "success");
      return fromMock(f);
    },
    operator_stats: ({ req }) => {
      needSession();
      if (req.from > req.to) fail("INVALID_INPUT", "期間の指定が正しくありません");
      audit(A.StatisticsViewed, s.session.login_id, null, "success");
      const rows = [];
      for (const day of days(req.from, req.to)) {
        const n = parseInt(day.slice(8), 10);
        if (new Date(day + "T00:00:00Z").getUTCDay() === 0) continue;
        [["keyer01", 1.0], ["keyer03", 0.72]].forEach(([login_id, speed], i) => {
          const forms = 30 + ((n * 7 + i * 11) % 25);
          const fields = forms * 12;
          const keystrokes = fields * 6 + (n % 5) * 40;
          const active_ms = Math.round((keystrokes / (9000 * speed * (0.85 + ((n + i) % 5) * 0.07))) * 3600000);
          const errors_first = (n + i * 3) % 4 + i * 2;
          const errors_second = (n * 3 + i) % 3;
          const totals = { forms, fields, keystrokes, active_ms, errors_first, errors_second };
          rows.push({ login_id, day, totals, keystrokes_per_hour: Math.floor((keystrokes * 3600000) / active_ms),
            errors_per_1000_keystrokes: ((errors_first + errors_second) * 1000) / keystrokes });
        });
      }
      return rows;
    },
    batch_report: ({ req }) => {
      const b = s.batches.find((x) => x.id === req.batch_id) || fail("BATCH_NOT_FOUND", "バッチが見つかりません");
      audit(A.BatchReportPrinted, s.session.login_id, String(b.id), "success");
      return { batch: b, forms: s.forms.filter((f) => f.batch_id === b.id).sort((x, y) => x.form_no - y.form_no).map(fromMock),
        printed_by: s.session.login_id, printed_at: "2026-11-23T06:30:00Z" };
    },
  };
  // ==== end of the review screens' block ==================================================
  // ==== keying (入力) — the keying screen's commands ======================================
  // keying=1|dependent|rekey adds an open MR batch (id 5, 3 forms declared) with the default
  // profile's MR layout; keying=dependent makes the double entry dependent and puts two forms
  // keyed once by keyer02 into it, so keyer01 gets second passes first; keying=rekey puts in a
  // form of keyer01's returned by a verifier with a comment (and a rules check that goes stale
  // between the check and the save, so the save is refused with OVERRIDE_REQUIRED).
  const keyingMode = q.get("keying");
  const YES_NO = [{ code: "1", label_ja: "はい" }, { code: "2", label_ja: "いいえ" }];
  const kf = (key, label_ja, kind, input, required, max_chars, choices, carry_forward) =>
    ({ key, label_ja, kind, input, choices: choices || [], required, carry_forward: !!carry_forward, max_chars });
  const CODE = { kind: "code" }, NUM = { kind: "number" }, LOT = { kind: "lot" }, TEXT = { kind: "text" };
  const DATE = { kind: "date", default_era: "R" };
  // sesshu_domain::keying::form_layout of the default profile's MR programme, in paper order.
  const MR_ANSWERS = [
    ["q01_read_explanation", "今日受ける予防接種について、説明書を読んで理解しましたか", true],
    ["q02_unwell_today", "今日、体に具合の悪いところがありますか", true],
    ["q03_ill_last_month", "最近1か月以内に熱が出たり、病気にかかりましたか", true],
    ["q04_chronic_disease", "先天性異常、心臓・腎臓・肝臓・脳神経・免疫不全症・血液疾患その他の病気で医師の診察を受けていますか", true],
    ["q05_convulsions", "ひきつけ（けいれん）を起こしたことがありますか", true],
    ["q06_allergy", "薬や食品で皮膚に発疹やじんましんが出たり、体の具合が悪くなったことがありますか", true],
    ["q07_past_reaction", "これまでに予防接種を受けて具合が悪くなったことがありますか", true],
    ["q08_relative_immunodeficiency", "近親者に先天性免疫不全と診断されている方はいますか", true],
    ["q09_relative_reaction", "近親者に予防接種を受けて具合が悪くなった人はいますか", true],
    ["q10_vaccination_last_month", "1か月以内に予防接種を受けましたか（名称・日付）", true],
    ["q11_questions", "今日の予防接種について質問がありますか", true],
    ["l01_transfusion", "6か月以内に輸血あるいはガンマグロブリンの注射を受けましたか", true],
    ["l02_contact", "1か月以内に家族や遊び仲間に麻しん、風しん、水痘、おたふくかぜなどにかかった人がいますか", false],
    ["p01_pregnant", "現在妊娠している可能性がありますか", false],
  ];
  const MR_FIELDS = [
    kf("atena", "宛名番号", CODE, "numeric", true, 15),
    kf("temperature", "体温", NUM, "numeric", false, 5),
    ...MR_ANSWERS.map(([id, text, req]) => kf("q." + id, text, CODE, "choice", req, 1, YES_NO)),
    kf("judgement", "医師の判断", CODE, "choice", true, 1, [{ code: "1", label_ja: "接種可" }, { code: "2", label_ja: "見合わせ" }]),
    kf("judgement_reason", "見合わせ等の理由", TEXT, "text", false, 40),
    kf("vaccine", "ワクチン（製品コード）", LOT, "alnum", true, 20),
    kf("dose", "期・回数", NUM, "numeric", false, 2),
    kf("date", "接種日", DATE, "date", true, 12, null, true),
    kf("lot", "ロット番号", LOT, "alnum", false, 20, null, true),
    kf("volume", "接種量（mL）", NUM, "numeric", false, 5),
    kf("site", "接種部位", CODE, "choice", false, 1, ["左上腕", "右上腕", "左大腿", "右大腿", "経口", "その他"]
      .map((l, i) => ({ code: String(i + 1), label_ja: l }))),
    kf("clinic", "医療機関コード", CODE, "numeric", true, 10, null, true),
    kf("doctor", "医師名", TEXT, "text", true, 40, null, true),
    kf("outcome", "結果", CODE, "choice", true, 1, [{ code: "1", label_ja: "接種" }, { code: "2", label_ja: "見合わせ" }, { code: "3", label_ja: "予診のみ" }]),
  ];
  const OVERRIDE_REASONS = [
    { code: "DOCTOR_JUDGEMENT", label_ja: "医師の判断により接種（理由を確認済み）" },
    { code: "CONFIRMED_WITH_CLINIC", label_ja: "医療機関に照会し事実を確認済み" },
    { code: "HISTORY_INCOMPLETE", label_ja: "接種歴の記録漏れ（他自治体での接種等）" },
    { code: "SPECIAL_MEASURE", label_ja: "特例措置の対象" },
  ];
  // The form keyed in the flows (a one-year-old's MR 1期), by field key.
  const MR_FORM = Object.assign({ atena: "0000400012", temperature: "36.8" },
    Object.fromEntries(MR_ANSWERS.map(([id], i) => ["q." + id, i === 0 ? "1" : "2"])),
    { judgement: "1", judgement_reason: "", vaccine: "MRV01", dose: "1", date: "R8.11.20", lot: "MR123A",
      volume: "0.5", site: "1", clinic: "1310123458", doctor: "山田 一郎", outcome: "1" });
  window.__MR_FORM = MR_FORM;
  const CARRIED = MR_FIELDS.filter((f) => f.carry_forward).map((f) => f.key);
  const kforms = []; // { form_id, batch_id, form_no, first, second, first_keyer, second_keyer, state, override }
  let formSeq = 100;
  // Roughly double_entry::normalize_field: width, case, spaces.
  const norm = (v) => String(v == null ? "" : v).normalize("NFKC").trim().replace(/\s+/g, " ").toUpperCase();
  if (keyingMode) {
    s.people.push({ atena: "0000400012", kana: "コバヤシ ユイ", name: "小林 結衣", sex: "female", birth_date: "2025-05-14",
      address: "千代田区一番町7-1", out_of_area: false, gaiji: false, deceased_on: null, moved_out_on: null, restricted: false });
    s.batches.push(batch("1310123458", "2026-11-20", "2026-11", "MR", keyingMode === "rekey" ? 1 : 3,
      keyingMode === "dependent" ? { keyed_once: 2 } : keyingMode === "rekey" ? { rejected: 1 } : {}));
    if (keyingMode === "rekey") {
      formSeq += 1;
      kforms.push({ form_id: formSeq, batch_id: 5, form_no: 1, first: Object.assign({}, MR_FORM, { temperature: "38.5", dose: "2" }),
        second: null, first_keyer: "keyer01", second_keyer: "keyer02", state: "rejected", override: null,
        comments: [{ key: "temperature", comment: "用紙では 36.8 です" }] });
    }
    if (keyingMode === "dependent") {
      for (const n of [1, 2]) {
        formSeq += 1;
        kforms.push({ form_id: formSeq, batch_id: 5, form_no: n, first: Object.assign({}, MR_FORM), second: null,
          first_keyer: "keyer02", second_keyer: null, state: "keyed_once", override: null });
      }
    }
  }
  const KEYING_STATE_LABEL = { keyed_once: "1回目入力済み", keyed_twice: "2回目入力済み", mismatched: "不一致", rejected: "差戻し" };
  function formSummary(f, blind) {
    return { form_id: f.form_id, form_uid: "0192f0c4-0000-7000-8000-" + String(f.form_id).padStart(12, "0"),
      form_no: f.form_no, batch_id: f.batch_id, programme: "MR", state: f.state, state_label: KEYING_STATE_LABEL[f.state] || f.state,
      atena: blind ? null : (f.first.atena || null), first_keyer: f.first_keyer, second_keyer: f.second_keyer,
      resolver: null, approver: null, comments: [], warnings: [], override_reason: f.override,
      record_id: null, updated_at: now };
  }
  function keyingBatch(batch_id) {
    return s.batches.find((b) => b.id === batch_id) || fail("BATCH_NOT_FOUND", "バッチが見つかりません");
  }
  function keyingTask(b) {
    const me = s.session.login_id;
    const mine = kforms.filter((f) => f.batch_id === b.id && (f.first_keyer === me || f.second_keyer === me));
    const last = mine[mine.length - 1];
    const carry = {};
    if (last) for (const k of CARRIED) if ((last.second_keyer === me ? last.second : last.first)[k]) carry[k] = (last.second_keyer === me ? last.second : last.first)[k];
    const second = kforms.find((f) => f.batch_id === b.id && f.state === "keyed_once" && f.first_keyer !== me);
    const task = { batch: b, carry, own_values: {}, comments: [] };
    const back = kforms.find((f) => f.batch_id === b.id && f.state === "rejected" && f.first_keyer === me);
    if (back) return Object.assign(task, { pass: "rekey", form: { form_id: back.form_id }, form_no: back.form_no,
      carry: {}, own_values: back.first, comments: back.comments });
    if (second) return Object.assign(task, { pass: "second", form: { form_id: second.form_id }, form_no: second.form_no });
    const count = kforms.filter((f) => f.batch_id === b.id).length;
    if (count < b.progress.declared) return Object.assign(task, { pass: "first", form: null, form_no: count + 1 });
    return null;
  }
  // The rules check of the mock: a 2期 (dose 2) at one year old is a violation.
  function keyingRules(values) {
    if (norm(values.dose) === "2") {
      return { verdict: "violation", earliest_date: "2030-04-01", dose_label: "第2期",
        reasons: [{ code: "TOO_YOUNG", message: "第2期の対象年齢（5歳以上7歳未満）に達していません", severity: "violation", clears_on: null }] };
    }
    return { verdict: "ok", reasons: [], earliest_date: null, dose_label: "第1期" };
  }
  const keyingHandlers = {
    form_layout: ({ req }) => {
      needSession();
      // Outside the keying scenarios the review screens' forms and layout answer.
      if (!keyingMode) return reviewHandlers.form_layout({ req });
      const b = keyingBatch(req.batch_id);
      if (b.programme !== "MR") fail("INVALID_INPUT", "この事業の様式はプロファイルにありません");
      return { programme: "MR", programme_name: "麻しん風しん（MR）",
        double_entry: keyingMode === "dependent" ? "dependent" : "independent",
        fields: MR_FIELDS, override_reasons: OVERRIDE_REASONS };
    },
    keying_next: ({ req }) => {
      const b = keyingBatch(req.batch_id);
      return { task: keyingTask(b), batch: b };
    },
    keying_check: ({ req }) => {
      keyingBatch(req.batch_id);
      const v = req.values;
      const field_issues = MR_FIELDS.filter((f) => f.required && !(v[f.key] || "").trim())
        .map((f) => ({ key: f.key, message: f.label_ja + "を入力してください" }));
      // keying=rekey: the first check does not see the violation yet (a stale history).
      const stale = keyingMode === "rekey" && !s.staleSeen;
      s.staleSeen = true;
      const rules = stale ? keyingRules({}) : keyingRules(v);
      const p = s.people.find((x) => x.atena === norm(v.atena));
      return { field_issues, record_issues: [], rules, needs_override: rules.verdict === "violation",
        resident: p ? residentView(p, "keying") : null };
    },
    keying_save: ({ req }) => {
      const b = keyingBatch(req.batch_id);
      if (keyingRules(req.values).verdict === "violation" && !req.override_reason) {
        fail("OVERRIDE_REQUIRED", "規則に違反しています。保存するには理由を選んでください");
      }
      const me = s.session.login_id;
      let f;
      if (req.form_id == null) {
        formSeq += 1;
        f = { form_id: formSeq, batch_id: b.id, form_no: kforms.filter((x) => x.batch_id === b.id).length + 1,
          first: req.values, second: null, first_keyer: me, second_keyer: null, state: "keyed_once", override: req.override_reason };
        kforms.push(f);
        b.progress.keyed_once += 1;
        audit(A.FirstPassSaved, me, String(f.form_id), "success");
      } else {
        f = kforms.find((x) => x.form_id === req.form_id) || fail("FORM_NOT_FOUND", "票が見つかりません");
      }
      if (req.form_id == null) {
        // A new form: stored above.
      } else if (f.state === "rejected") {
        f.first = req.values; f.state = "keyed_once"; f.comments = [];
        b.progress.rejected -= 1; b.progress.keyed_once += 1;
        audit(A.FirstPassSaved, me, String(f.form_id), "success");
      } else {
        if (f.first_keyer === me) fail("SECOND_PERSON_REQUIRED", "2回目は別の入力者が入力してください");
        f.second = req.values; f.second_keyer = me;
        const keys = new Set(Object.keys(f.first).concat(Object.keys(f.second)));
        const same = [...keys].every((k) => norm(f.first[k]) === norm(f.second[k]));
        f.state = same ? "keyed_twice" : "mismatched";
        b.progress.keyed_once -= 1;
        b.progress[same ? "keyed_twice" : "mismatched"] += 1;
        audit(A.SecondPassSaved, me, String(f.form_id), "success");
      }
      s.lastMetrics = req.metrics;
      return { form: formSummary(f, false), batch: b };
    },
    keying_verify_field: ({ req }) => {
      const f = kforms.find((x) => x.form_id === req.form_id) || fail("FORM_NOT_FOUND", "票が見つかりません");
      if (keyingMode !== "dependent") fail("BLIND_SECOND_PASS", "独立入力では1回目と照合できません");
      return { matches: norm(f.first[req.key]) === norm(req.value) };
    },
  };
  // ==== end of keying ========================================================================

  // ==== sync (同期): enrolment, status, sync now with receipts, the sync log =================
  // sync=unenrolled: the terminal is not enrolled yet; sync=cut: the run is cut after two
  // receipts; sync=unreachable: the hub does not answer. A sync operator signs in as sync01.
  const syncMode = q.get("sync");
  s.users.push({ login_id: "sync01", display_name: "同期 六郎", roles: ["sync_operator"], active: true,
    disabled_at: null, disabled_from: null, locked_until: null, created_at: now });
  s.passwords.sync01 = "Sync-Pass-01";
  const SYNC_STREAMS = ["records", "corrections", "deletions", "audit"];
  const HUB = {
    hub_url: "https://hub.chiyoda.lg.jp:8443",
    hub_id: "hub-131016-01",
    cert_fingerprint: "SHA256:4F2A9C1E7B3D05A8C6E2F41B9D7A3C5E08F6B2D4A1C9E7F35B0D8A6C2E4F1B9D",
    hub_key_fingerprint: "ED25519:9B1D7F3A5C0E82B4D6F1A3C5E7092B4D6F8A1C3E5B7D9F02A4C6E8B1D3F5A7C9",
    terminal_key_fingerprint: "ED25519:2C4E6A8B0D1F3A5C7E9B2D4F6A8C0E1B3D5F7A9C2E4B6D8F0A1C3E5B7D9F1A3",
    enrolled_at: "2026-11-20T00:30:00Z",
  };
  const ENROL_CODE = "K7QF3MZAW9XD";
  const syncLog = (at, kind, detail) => ({ at, kind, detail });
  s.sync = {
    enrolment: syncMode === "unenrolled" ? null : HUB,
    connectivity: syncMode === "unenrolled" ? null
      : { reachable: syncMode !== "unreachable", checked_at: "2026-11-23T01:14:30Z", next_check_at: "2026-11-23T01:15:30Z" },
    pending: { records: 36, corrections: 2, deletions: 1, audit: 9 },
    acknowledged_total: 1204,
    last_receipt: syncMode === "unenrolled" ? null : { receipt_id: "r-0192f0c4-5e21-7a00-8c1d-3b4a5c6d7e8f",
      batch_id: "b-0192f0c4-5d10-7b00-9e2f-1a2b3c4d5e6f", received_at: "2026-11-23T00:45:12Z",
      items: 60, accepted: 58, already_have: 1, conflicts: 1 },
    last_failure: null,
    issues: syncMode === "unenrolled" ? [] : [{ item_id: "0192f0c4-aaaa-7000-8000-00000000002a", stream: "records",
      outcome: "conflict", reason: "同じIDで内容の異なる記録が集約サーバにあります（保留）",
      receipt_id: "r-0192f0c4-5e21-7a00-8c1d-3b4a5c6d7e8f" }],
    running: false,
    log: syncMode === "unenrolled" ? [] : [
      syncLog("2026-11-23T00:44:58Z", "started", "開始: 未送信 60 件"),
      syncLog("2026-11-23T00:45:01Z", "batch", "送信 b-0192f0c4-5d10: 60 件"),
      syncLog("2026-11-23T00:45:12Z", "batch", "受領書 r-0192f0c4-5e21: 受理 58・重複 1・競合 1"),
      syncLog("2026-11-23T00:45:12Z", "finished", "完了: 60 / 60 件 受領確認"),
      syncLog("2026-11-23T01:14:30Z", "probe", syncMode === "unreachable" ? "応答なし（HUB_UNREACHABLE）" : "応答あり"),
    ],
  };
  const pendingTotal = () => SYNC_STREAMS.reduce((n, k) => n + s.sync.pending[k], 0);
  // Takes `n` items off the outbox in stream order (what a receipt acknowledges).
  function acknowledge(n) {
    for (const k of SYNC_STREAMS) {
      const take = Math.min(n, s.sync.pending[k]);
      s.sync.pending[k] -= take;
      n -= take;
    }
  }
  let syncClock = 0;
  const syncAt = () => new Date(Date.UTC(2026, 10, 23, 1, 16, syncClock++)).toISOString();
  const syncHandlers = {
    sync_status: () => ({
      enrolment: s.sync.enrolment,
      connectivity: s.sync.connectivity,
      pending: SYNC_STREAMS.map((stream) => ({ stream, count: s.sync.pending[stream] })),
      pending_total: pendingTotal(),
      acknowledged_total: s.sync.acknowledged_total,
      last_receipt: s.sync.last_receipt,
      last_failure: s.sync.last_failure,
      issues: s.sync.issues,
      running: s.sync.running,
      findings: findingsSummary(),
    }),
    sync_enrol: ({ req }) => {
      if (!/^https:\/\/[^/\s]+$/i.test(req.hub_url)) fail("INVALID_INPUT", "https:// で始まるアドレスを入力してください");
      if (req.code.replace(/[-\s]/g, "").toUpperCase() !== ENROL_CODE) {
        fail("INVALID_INPUT", "登録コードが正しくないか、期限が切れています");
      }
      s.sync.enrolment = Object.assign({}, HUB, { hub_url: req.hub_url, enrolled_at: syncAt() });
      s.sync.connectivity = { reachable: true, checked_at: syncAt(), next_check_at: "2026-11-23T01:17:00Z" };
      s.sync.log.push(syncLog(syncAt(), "enrolled", "登録: " + HUB.hub_id));
      return s.sync.enrolment;
    },
    sync_push: async () => {
      if (!s.sync.enrolment) fail("INVALID_INPUT", "集約サーバに登録されていません");
      const total = pendingTotal();
      const started = syncAt();
      s.sync.log.push(syncLog(started, "started", "開始: 未送信 " + total + " 件"));
      if (syncMode === "unreachable") {
        const failure = { code: "HUB_UNREACHABLE", message: "集約サーバに接続できません", at: started };
        s.sync.last_failure = failure;
        s.sync.log.push(syncLog(syncAt(), "failed", "HUB_UNREACHABLE"));
        return { acknowledged: 0, total, batches: 0, complete: false, failure };
      }
      s.sync.running = true;
      const chunk = 12;
      let acknowledged = 0, batches = 0;
      while (acknowledged < total) {
        const n = Math.min(chunk, total - acknowledged);
        batches += 1;
        s.sync.log.push(syncLog(syncAt(), "batch", "送信 " + batches + ": " + n + " 件"));
        await sleep(150);
        if (syncMode === "cut" && batches === 3) {
          // The connection drops before this batch's receipt: its items stay pending.
          s.sync.running = false;
          const failure = { code: "SYNC_CUT", at: syncAt(),
            message: "同期が途中で切れました。未確認の " + (total - acknowledged) + " 件は次回送ります" };
          s.sync.last_failure = failure;
          s.sync.log.push(syncLog(failure.at, "failed", "SYNC_CUT: 受領確認 " + acknowledged + " / " + total));
          return { acknowledged, total, batches: batches - 1, complete: false, failure };
        }
        acknowledged += n;
        acknowledge(n);
        s.sync.acknowledged_total += n;
        const receipt_id = "r-0192f0c4-6" + String(batches).padStart(3, "0") + "-7a00-8c1d-3b4a5c6d7e8f";
        s.sync.last_receipt = { receipt_id, batch_id: "b-0192f0c4-6" + String(batches).padStart(3, "0") + "-7b00-9e2f-1a2b3c4d5e6f",
          received_at: syncAt(), items: n, accepted: n, already_have: 0, conflicts: 0 };
        s.sync.log.push(syncLog(s.sync.last_receipt.received_at, "batch", "受領書 " + receipt_id.slice(0, 15) + ": 受理 " + n));
        emit("sync-progress", { acknowledged, total, batches });
        // A screenshot of the bar mid-way: the run stops there and never ends.
        if (q.get("stop") === "sync-progress" && batches === 2) await new Promise(() => {});
      }
      s.sync.running = false;
      s.sync.last_failure = null;
      s.sync.log.push(syncLog(syncAt(), "finished", "完了: " + acknowledged + " / " + total + " 件 受領確認"));
      return { acknowledged, total, batches, complete: true, failure: null };
    },
    sync_log: () => s.sync.log.slice(),
    // Downlinks (issue 12.2): the mock accepts any file as an empty roster downlink.
    downlink_import: () => {
      needSession();
      return { kind: "roster", from_version: 0, to_version: 1, applied: true, residents_upserted: 0,
        residents_removed: 0, clinics: 0, products: 0, accounts_created: 0, accounts_updated: 0,
        accounts_disabled: 0 };
    },
    sync_log_export: () => {
      const cell = (v) => /[",\n]/.test(v) ? '"' + v.replace(/"/g, '""') + '"' : v;
      const csv = "\uFEFF日時,種類,内容\r\n" + s.sync.log.map((l) => [l.at, l.kind, l.detail].map(cell).join(",")).join("\r\n") + "\r\n";
      return { file_name: "sesshu-sync-log-20261123.csv", csv };
    },
  };
  // Downloads (<a download> clicks) are recorded with their content instead of saved.
  window.__downloads = [];
  const anchorClick = HTMLAnchorElement.prototype.click;
  HTMLAnchorElement.prototype.click = function () {
    if (!this.hasAttribute("download")) return anchorClick.call(this);
    const name = this.getAttribute("download");
    // Decoded with the BOM kept, so a flow can check the file opens in Excel as UTF-8.
    fetch(this.href).then((r) => r.arrayBuffer()).then((buf) => window.__downloads.push({ name,
      text: new TextDecoder("utf-8", { ignoreBOM: true }).decode(buf) }));
  };
  // ==== end of sync ==========================================================================

  // ==== data minimisation (端末内の個人データ, offline block) ===================================
  // URL parameter offline=blocked: the terminal has been without a receipt for 16 days.
  const minimise = {
    retention: { purge_grace_days: 7, max_offline_days: 14 },
    override: null,
  };
  function keyingBlock() {
    const since = "2026-11-21T00:00:00Z";
    if (q.get("offline") !== "blocked") return { state: "open", blocks_at: "2026-12-03T02:00:00Z" };
    if (minimise.override) return Object.assign({ state: "overridden", since }, minimise.override);
    return { state: "blocked", since, never_synced: false };
  }
  function needAdministrator(name) {
    needSession();
    if (!s.session.roles.includes("administrator")) {
      audit(A.PermissionDenied, s.session.login_id, name, "refused");
      fail("PERMISSION_DENIED", "この操作を行う権限がありません");
    }
  }
  const minimiseHandlers = {
    keying_block: () => { needSession(); return keyingBlock(); },
    terminal_data: () => {
      needAdministrator("terminal_data");
      const blocked = q.get("offline") === "blocked";
      return {
        residents: s.residents.residents,
        last_doses: 0,
        records_total: 168,
        records_by_state: [
          { state: "keyed_once", label: "1回目入力済", count: 30 },
          { state: "mismatched", label: "不一致", count: 3 },
          { state: "approved", label: "承認済", count: 133 },
          { state: "correction_pending", label: "修正確認待ち", count: 2 },
        ],
        purged_records: 1204,
        audit_entries: 5120,
        outbox_pending: blocked ? 133 : 12,
        oldest_record_at: "2026-11-04T00:40:00Z",
        oldest_audit_at: "2026-11-10T23:55:00Z",
        next_purge_at: blocked ? null : "2026-11-27T02:00:00Z",
        last_purge_at: "2026-11-20T00:05:00Z",
        last_receipt_at: blocked ? "2026-11-07T00:00:00Z" : "2026-11-20T02:00:00Z",
        offline_days: blocked ? 16 : 3,
        retention: minimise.retention,
        block: keyingBlock(),
      };
    },
    offline_override: ({ req }) => {
      needAdministrator("offline_override");
      if (!req.reason.trim()) fail("INVALID_INPUT", "理由を入力してください（例: 回線障害のため本日のみ入力を継続、情報政策課に連絡済）。");
      if (keyingBlock().state !== "blocked") fail("INVALID_INPUT", "入力は停止されていません。許可の記録は不要です。");
      minimise.override = { until: "2026-11-23T15:00:00Z", by: s.session.login_id, reason: req.reason.trim() };
      audit(A.OfflineBlockOverridden, s.session.login_id, null, "success");
      return keyingBlock();
    },
  };
  // ==== end of data minimisation ==============================================================

  const handlers = {
    ...reviewHandlers,
    ...minimiseHandlers,
    app_status: () => ({ phase: phase(), terminal: s.terminal, session: s.session, demo: s.demo }),
    setup: ({ req }) => {
      if (s.phase !== "needs_setup") fail("ALREADY_SET_UP", "この端末は設定済みです");
      s.phase = "ready";
      s.terminal = Object.assign({}, terminal, { municipality_name: req.municipality_name,
        municipality_code: req.municipality_code, terminal_name: req.terminal_name });
      s.passwords[req.admin_login_id] = req.admin_password;
      audit(A.TerminalSetUp, req.admin_login_id, null, "success");
      return { recovery_key: "K7QF-3MZA-W9XD-P2LC-8HNR-TV5E-J4GY-6BUS", terminal: s.terminal };
    },
    recover_key: ({ req }) => {
      if (req.method === "recovery_key" && req.recovery_key === "K7QF-3MZA-W9XD-P2LC-8HNR-TV5E-J4GY-6BUS") {
        s.phase = "ready"; return null;
      }
      fail("RECOVERY_FAILED", "回復キーまたはパスワードで台帳の鍵を取り出せませんでした");
    },
    login: ({ req }) => {
      if (s.passwords[req.login_id] !== req.password) {
        audit(A.LoginFailed, req.login_id, req.login_id, "refused");
        fail("INVALID_CREDENTIALS", "ログインIDまたはパスワードが違います");
      }
      const user = s.users.find((u) => u.login_id === req.login_id);
      if (user && !user.active) fail("ACCOUNT_DISABLED", "この利用者は停止されています");
      audit(A.LoginSucceeded, req.login_id, req.login_id, "success");
      s.session = { login_id: req.login_id, display_name: user ? user.display_name : "管理 太郎",
        roles: user ? user.roles : ["administrator"],
        state: "active", idle_lock_minutes: s.policy.idle_lock_minutes, signed_in_at: now,
        must_change_password: false };
      return s.session;
    },
    // First sign-in of a roster account with the hub's one-time code (mock: code "ABCD-2345").
    first_sign_in: ({ req }) => {
      const code = (req.code || "").replace(/[^0-9A-Za-z]/g, "").toUpperCase();
      if (code !== "ABCD2345" || s.passwords[req.login_id]) fail("INVALID_CREDENTIALS", "利用者ID・ワンタイムコードのいずれかが正しくないか、コードは使用済みです。");
      if ((req.new_password || "").length < 12) fail("PASSWORD_POLICY", "パスワードは12文字以上にしてください。");
      s.passwords[req.login_id] = req.new_password;
      if (!s.users.find((u) => u.login_id === req.login_id)) {
        s.users.push({ login_id: req.login_id, display_name: "本部 登録", roles: ["keyer"], active: true });
      }
      return handlers.login({ req: { login_id: req.login_id, password: req.new_password } });
    },
    logout: () => { if (s.session) audit(A.Logout, s.session.login_id, null, "success"); s.session = null; return null; },
    lock_session: () => { needSession(); s.session.state = "locked"; audit(A.SessionLocked, s.session.login_id, null, "success"); return null; },
    unlock_session: ({ req }) => {
      if (!s.session) fail("NOT_LOGGED_IN", "ログインしてください");
      if (s.passwords[s.session.login_id] !== req.password) fail("INVALID_CREDENTIALS", "パスワードが違います");
      s.session.state = "active"; audit(A.SessionUnlocked, s.session.login_id, null, "success");
      return s.session;
    },
    session_activity: () => { needSession(); return s.session; },
    change_password: ({ req }) => {
      needSession();
      if (s.passwords[s.session.login_id] !== req.current_password) fail("INVALID_CREDENTIALS", "現在のパスワードが違います");
      s.passwords[s.session.login_id] = req.new_password; return null;
    },
    users_list: () => { needSession(); return s.users; },
    user_create: ({ req }) => {
      needSession();
      if (s.users.some((u) => u.login_id === req.login_id)) fail("LOGIN_ID_TAKEN", "このログインIDは使われています（再利用できません）");
      const u = { login_id: req.login_id, display_name: req.display_name, roles: req.roles, active: true,
        disabled_at: null, disabled_from: null, locked_until: null, created_at: now };
      s.users.push(u); s.passwords[req.login_id] = req.initial_password; audit(A.UserCreated, s.session.login_id, req.login_id, "success");
      return u;
    },
    user_set_roles: ({ req }) => {
      needSession();
      const u = s.users.find((x) => x.login_id === req.login_id) || fail("USER_NOT_FOUND", "利用者が見つかりません");
      u.roles = req.roles; audit(A.UserRolesChanged, s.session.login_id, req.login_id, "success"); return u;
    },
    user_disable: ({ req }) => {
      needSession();
      const u = s.users.find((x) => x.login_id === req.login_id) || fail("USER_NOT_FOUND", "利用者が見つかりません");
      if (req.login_id === s.session.login_id) fail("LAST_ADMINISTRATOR", "有効な管理者がいなくなるため停止できません");
      if (req.from) u.disabled_from = req.from; else { u.active = false; u.disabled_at = now; }
      return u;
    },
    audit_anchor_repair: ({ req }) => {
      if (s.phase !== "fatal") fail("INVALID_INPUT", "操作ログの修復は必要ありません。");
      if (s.passwords[req.login_id] !== req.password) fail("RECOVERY_FAILED", "回復キーまたは管理者のID・パスワードが正しくありません。");
      s.phase = "ready"; audit(A.AuditAnchorRepaired, req.login_id, null, "success"); return null;
    },
    key_rotate: ({ req }) => {
      needSession();
      if (s.passwords[s.session.login_id] !== req.password) fail("INVALID_CREDENTIALS", "パスワードが正しくありません");
      audit(A.LedgerKeyRotated, s.session.login_id, null, "success");
      return { recovery_key: "M3TD-8QKA-2WXN-F7LC-4HPR-VB6E-J9GS-5YUZ" };
    },
    user_unlock: ({ req }) => {
      needSession();
      const u = s.users.find((x) => x.login_id === req.login_id) || fail("USER_NOT_FOUND", "利用者が見つかりません");
      u.locked_until = null; audit(A.UserUnlocked, s.session.login_id, req.login_id, "success"); return u;
    },
    user_reset_password: ({ req }) => {
      needSession();
      const u = s.users.find((x) => x.login_id === req.login_id) || fail("USER_NOT_FOUND", "利用者が見つかりません");
      s.passwords[req.login_id] = req.temporary_password; u.locked_until = null;
      audit(A.UserPasswordReset, s.session.login_id, req.login_id, "success"); return u;
    },
    user_enable: ({ req }) => {
      needSession();
      const u = s.users.find((x) => x.login_id === req.login_id) || fail("USER_NOT_FOUND", "利用者が見つかりません");
      u.active = true; u.disabled_at = null; u.disabled_from = null; return u;
    },
    settings_get: () => { needSession(); return { policy: s.policy, log_level: s.log_level, terminal: s.terminal, retention: minimise.retention }; },
    settings_update: ({ req }) => {
      needSession(); s.policy = req.policy; s.log_level = req.log_level;
      if (req.retention) minimise.retention = req.retention;
      return { policy: s.policy, log_level: s.log_level, terminal: s.terminal, retention: minimise.retention };
    },
    audit_list: ({ req }) => {
      needSession();
      // The filters of AuditListRequest (AND); days are JST.
      const jstDay = (at) => new Date(Date.parse(at) + 9 * 3600000).toISOString().slice(0, 10);
      return s.audit.filter((e) => (req.before_seq == null || e.seq < req.before_seq)
        && (!req.actor || e.actor === req.actor) && (!req.resident || (e.target || "").includes(req.resident))
        && (req.action == null || e.action_code === req.action)
        && (!req.from || jstDay(e.at) >= req.from) && (!req.to || jstDay(e.at) <= req.to)).slice(0, req.limit);
    },
    residents_status: () => s.residents,
    residents_import: async ({ req }) => {
      const text = decodeFile(req.file);
      const lines = text.split(/\r?\n/).filter((l) => l.length);
      const bad = lines.findIndex((l, i) => i > 0 && l.includes("2026-02-30"));
      if (bad >= 0) {
        fail("IMPORT_REJECTED", (bad + 1) + "行目の「生年月日」: 2026-02-30は存在しない日付です。" +
          "ファイル全体を取り込んでいません（台帳は変更していません）。");
      }
      // The sample file stands for a full extract of a million rows (its first lines only).
      const total = req.delta ? lines.length - 1 : 1000000;
      const steps = 12;
      for (let i = 1; i <= steps; i++) {
        await sleep(120);
        emit("import-progress", { done: Math.round((total * i) / steps), total });
        // A screenshot of the bar mid-way: the import stops there and never ends.
        if (q.get("stop") === "import-progress" && i === 5) await new Promise(() => {});
      }
      const version = s.residents.version + 1;
      const report = req.delta
        ? { kind: "delta", rows: total, added: 1, changed: total - 2, removed: 1, total_after: s.residents.residents }
        : { kind: "full", rows: total, added: 1214, changed: 0, removed: 987, total_after: total + 227 };
      Object.assign(report, { encoding: req.file.encoding === "cp932" ? "cp932" : "utf-8", file_sha256: sha, version });
      s.residents = { residents: report.total_after, version, as_of: "2026-11-20", imported_at: "2026-11-23T01:16:00.000000Z" };
      audit(req.delta ? A.ResidentsDeltaApplied : A.ResidentsImported, s.session.login_id, null, "success");
      return report;
    },
    resident_lookup: ({ req }) => {
      const k = req.key;
      let found;
      if (k.by === "atena") {
        found = s.people.filter((p) => p.atena === k.atena);
      } else if (k.by === "ticket") {
        if (!/^\d{18}$/.test(k.ocr_line)) fail("INVALID_INPUT", "接種券OCR行は18桁の数字で入力してください");
        if (k.ocr_line.slice(2, 8) !== s.terminal.municipality_code) {
          fail("INVALID_INPUT", "この接種券は他の市区町村（" + k.ocr_line.slice(2, 8) + "）のものです");
        }
        const printed = k.ocr_line.slice(8);
        found = s.people.filter((p) => p.atena === printed || p.atena === printed.replace(/^0+/, ""));
      } else {
        const key = kanaKey(k.kana);
        found = s.people.filter((p) => kanaKey(p.kana).startsWith(key) && p.birth_date === k.birth_date
          && (!k.sex || p.sex === k.sex));
        found.sort((a, b) => (kanaKey(b.kana) === key) - (kanaKey(a.kana) === key) || a.atena.localeCompare(b.atena));
        found = found.slice(0, 20);
      }
      return found.map((p) => residentView(p, req.purpose));
    },
    codes_import: ({ req }) => {
      const lines = decodeFile(req.file).split(/\r?\n/).filter((l) => l.length);
      audit(req.table === "clinics" ? A.ClinicsImported : A.ProductsImported, s.session.login_id, null, "success");
      return { table: req.table, rows: lines.length - 1, added: 2, updated: lines.length - 3, removed: 0, file_sha256: sha };
    },
    clinics_list: () => s.clinics,
    batches_list: () => s.batches.slice().sort((a, b) => b.id - a.id),
    batch_register: ({ req }) => {
      const b = batch(req.clinic_code, req.received_on, req.claim_month, req.programme, req.declared_forms, {}, "open", req.note);
      b.registered_by = s.session.login_id;
      s.batches.push(b);
      audit(A.BatchRegistered, s.session.login_id, String(b.id), "success");
      return b;
    },
    batch_close: ({ req }) => {
      const b = s.batches.find((x) => x.id === req.batch_id) || fail("BATCH_NOT_FOUND", "バッチが見つかりません");
      if (b.status === "closed") fail("BATCH_NOT_CLOSABLE", "このバッチはすでに締められています");
      const p = b.progress;
      if (!closable(p)) {
        const open = p.keyed_once + p.keyed_twice + p.mismatched + p.rejected;
        fail("BATCH_NOT_CLOSABLE", "締められません: 申告" + p.declared + "枚に対し、承認" + p.approved +
          "枚・取下げ" + p.withdrawn + "枚・未完了" + open + "枚です");
      }
      b.status = "closed"; b.closed_by = s.session.login_id;
      audit(A.BatchClosed, s.session.login_id, String(b.id), "success");
      return b;
    },
    audit_verify: () => { needSession(); return { entries_checked: s.audit.length, first_broken_seq: null,
      head_hash: "9f2c4e7a1b3d5f60718293a4b5c6d7e8f9012345" }; },
  };

  Object.assign(handlers, keyingHandlers);
  Object.assign(handlers, syncHandlers);
  // ==== media (媒体): export to a registered stick, the hub's receipt file, the media ledger ===
  // Registered stick "E:" (medium USB-01); a path elsewhere is refused as an unregistered
  // medium, nothing written. The receipt file acknowledges what the export wrote.
  s.media = { ledger: [], exported: 0 };
  const mediaLine = (direction, status, items, file, hash) => ({ at: syncAt(), medium_id: "USB-01",
    actor: s.session.login_id, direction, status, items, file_sha256: hash, file_name: file });
  Object.assign(handlers, {
    media_ledger_list: () => s.media.ledger.slice().reverse(),
    media_register: ({ req }) => ({ medium_id: "USB-01", label: req.label, registered_at: syncAt(),
      registered_by: s.session.login_id }),
    media_export: ({ req }) => {
      if (!/^E:\\/.test(req.path)) fail("MEDIUM_NOT_REGISTERED",
        "書き出し先が登録済みの媒体ではありません（媒体の最上位に SESSHU-MEDIUM.json がありません）。システム担当が登録した媒体を使ってください。何も書き出していません。");
      const items = pendingTotal();
      if (items === 0) fail("INVALID_INPUT", "送信待ちのデータがありません。媒体には何も書き出していません。");
      const file = req.path.split("\\").pop();
      s.media.exported = items;
      s.media.ledger.push(mediaLine("out", "written", items, file, "9f2c4e6a8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a"));
      return { medium_id: "USB-01", export_id: "0192f0c4-7000-7000-8000-00000000e001", file: req.path,
        items, batches: 1, file_sha256: "9f2c4e6a8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c5e7b9d0f2a" };
    },
    media_receipt_import: ({ req }) => {
      if (!req.path.endsWith(".receipt")) fail("RECEIPT_INVALID",
        "受領ファイルを確認できませんでした（署名・端末・書き出し内容のいずれかが一致しません）。何も受領済みにしていません。システム担当に連絡してください。");
      const n = s.media.exported;
      acknowledge(n);
      s.sync.acknowledged_total += n;
      s.media.ledger.push(mediaLine("in", "imported", n, req.path.split("\\").pop(), "1a3c5e7b9d0f2a4c6e8b1d3f5a7c9e0b2d4f6a8c1e3b5d7f9a0c2e4b6d8f1a3c"));
      return { medium_id: "USB-01", export_id: "0192f0c4-7000-7000-8000-00000000e001", receipts: 1,
        acknowledged: n, already_acknowledged: 0, accepted: n, already_have: 0, conflicts: 0, repeated: false };
    },
    media_erased: ({ req }) => {
      if (req.medium_id !== "USB-01") fail("MEDIUM_NOT_REGISTERED", "媒体 " + req.medium_id + " はこの端末に登録されていません。");
      const l = mediaLine("erased", "recorded", 0, null, null);
      s.media.ledger.push(l);
      return l;
    },
  });
  // ==== end of media =========================================================================

  // ==== hub findings (本部照合, issue 12 §5): the hub's rules check against the full history ===
  // Form 207 (approved) violates the 27-day rule against a 水痘 dose in the hub's history and
  // has an open correction task; form 202 carries a warning (shown on the verification screen).
  const HUB_VIOLATION = { level: "violation", level_label: "違反", code: "LIVE_VACCINE_INTERVAL",
    reason: "注射生ワクチンの接種から27日以上の間隔が必要です（前回の接種から13日）", against: "VAR 2026-10-20" };
  const HUB_WARNING = { level: "warning", level_label: "注意", code: "INTERVAL_NEAR_LIMIT",
    reason: "前回の接種からの間隔が推奨より短めです（他院での接種を含む）", against: "FLU 2026-10-30" };
  const formOf = (id) => s.forms.find((f) => f.form_id === id);
  s.hub = {
    findings: [
      { seq: 41, record_id: formOf(207).record_id, form_id: 207, level: "violation", level_label: "違反",
        findings: [HUB_VIOLATION], received_at: "2026-11-23T01:10:00Z" },
      { seq: 40, record_id: "0192f0c4-aaaa-7000-8000-0000000000aa", form_id: 202, level: "warning", level_label: "注意",
        findings: [HUB_WARNING], received_at: "2026-11-23T01:10:00Z" },
    ],
    tasks: [{ task_id: 1, record_id: formOf(207).record_id, form_id: 207, reasons: [HUB_VIOLATION.reason],
      findings: [HUB_VIOLATION], opened_at: "2026-11-23T01:10:00Z", closed_at: null, closed_by: null, note: null }],
  };
  const openTasks = () => s.hub.tasks.filter((t) => !t.closed_at);
  const findingsSummary = () => ({
    warnings: s.hub.findings.filter((f) => f.level === "warning").length,
    violations: s.hub.findings.filter((f) => f.level === "violation").length,
    open_tasks: openTasks().length,
    latest: s.hub.findings.slice(),
  });
  const hubFindingsOf = (formId) => s.hub.findings.find((f) => f.form_id === formId) || null;
  Object.assign(handlers, {
    correction_tasks: () => openTasks().map((t) => ({ task_id: t.task_id, record_id: t.record_id, form_id: t.form_id,
      reasons: t.reasons, findings: t.findings, opened_at: t.opened_at })),
    correction_task_close: ({ req }) => {
      const note = (req.note || "").trim();
      if (!note) fail("INVALID_INPUT", "対応内容を入力してください。");
      const t = s.hub.tasks.find((x) => x.task_id === req.task_id);
      if (!t) fail("FORM_NOT_FOUND", "本部照合の修正依頼" + req.task_id + "はありません。");
      if (t.closed_at) fail("INVALID_TRANSITION", "本部照合の修正依頼" + req.task_id + "は完了済みです。");
      Object.assign(t, { closed_at: syncAt(), closed_by: s.session.login_id, note });
      audit(A.CorrectionTaskClosed, s.session.login_id, formOf(t.form_id).form_uid, "success");
      return { task_id: t.task_id, closed_at: t.closed_at, closed_by: t.closed_by };
    },
  });
  // ==== end of hub findings ==================================================================

  // Every mock handler must be a command of the contract, and every command must have one.
  const drift = Object.keys(handlers).filter((n) => !commands[n])
    .concat(Object.keys(commands).filter((n) => !handlers[n]));
  if (drift.length) throw new Error("mock and contract differ: " + drift.join(", "));

  // Tauri 2's internal IPC entry, as the shell injects it into every window (the app keeps
  // `withGlobalTauri` off, so there is no `window.__TAURI__` here either): `invoke`,
  // `transformCallback` (the window's callback table) and the event plugin's
  // `plugin:event|listen` / `plugin:event|unlisten` commands with the arguments Tauri's
  // Rust side deserialises (`target` is an `EventTarget`, `handler` a callback id).
  const callbacks = new Map();
  let nextEventId = 1;
  function transformCallback(callback, once) {
    const id = window.crypto.getRandomValues(new Uint32Array(1))[0];
    callbacks.set(id, (data) => {
      if (once) callbacks.delete(id);
      return callback && callback(data);
    });
    return id;
  }
  function unregisterListener(event, eventId) {
    const l = (listeners[event] || []).find((x) => x.eventId === eventId);
    if (l) callbacks.delete(l.handlerId);
    listeners[event] = (listeners[event] || []).filter((x) => x.eventId !== eventId);
  }
  const eventPlugin = {
    "plugin:event|listen": (args) => {
      const keys = Object.keys(args || {}).sort().join(",");
      if (keys !== "event,handler,target") throw "invalid args for plugin:event|listen: " + keys;
      if (!args.target || args.target.kind !== "Any") throw "invalid event target: " + JSON.stringify(args.target);
      if (!callbacks.has(args.handler)) throw "plugin:event|listen: unknown callback id " + args.handler;
      const eventId = nextEventId++;
      const handlerId = args.handler;
      (listeners[args.event] = listeners[args.event] || []).push({
        eventId, handlerId,
        call: (data) => { const cb = callbacks.get(handlerId); if (cb) cb(data); },
      });
      return eventId;
    },
    "plugin:event|unlisten": (args) => {
      const keys = Object.keys(args || {}).sort().join(",");
      if (keys !== "event,eventId") throw "invalid args for plugin:event|unlisten: " + keys;
      unregisterListener(args.event, args.eventId);
      return null;
    },
  };
  Object.defineProperty(window, "__TAURI_INTERNALS__", { value: {
    transformCallback,
    unregisterCallback: (id) => callbacks.delete(id),
    invoke: async function (cmd, args) {
      calls.push({ cmd, args: JSON.parse(JSON.stringify(args === undefined ? null : args)) });
      if (eventPlugin[cmd]) return eventPlugin[cmd](args);
      const spec = commands[cmd];
      if (!spec) throw "command " + cmd + " not found";
      // The contract: one argument named `req` for commands that take one, none otherwise.
      const keys = args ? Object.keys(args) : [];
      const want = spec.takes_request ? ["req"] : [];
      if (keys.join(",") !== want.join(",")) throw "invalid args for " + cmd + ": " + keys.join(",");
      permitted(spec);
      return handlers[cmd](args || {});
    },
  } });
  Object.defineProperty(window, "__TAURI_EVENT_PLUGIN_INTERNALS__", { value: { unregisterListener } });

  // ---- scripted flows -------------------------------------------------------------------
  async function waitFor(pred, what) {
    for (let i = 0; i < 250; i++) {
      const v = pred();
      if (v) return v;
      await sleep(20);
    }
    throw new Error("timeout: " + what);
  }
  const $ = (sel) => document.querySelector(sel);
  const title = () => ($("#page-title") || {}).textContent;
  async function onPage(t) { await waitFor(() => title() === t, "page " + t + " (now " + title() + ")"); }
  async function type(id, value) { const el = await waitFor(() => document.getElementById(id), id); el.value = value; }
  async function click(id) { const el = await waitFor(() => document.getElementById(id), id); el.click(); }
  function check(cond, msg) { if (!cond) throw new Error("check failed: " + msg); }
  async function formError(code) {
    await waitFor(() => $("#form-error") && $("#form-error").dataset.code === code, "form-error " + code);
  }
  // Types and fires the input event the page listens to (inline checks).
  async function typeLive(id, value) {
    await type(id, value);
    document.getElementById(id).dispatchEvent(new InputEvent("input", { bubbles: true, data: value }));
  }
  // A key press on an element (keydown, as the components listen to).
  async function key(id, k) {
    const el = await waitFor(() => document.getElementById(id), id);
    el.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true }));
    await sleep(30);
  }
  // Puts a file into an <input type=file> as if the user had chosen it.
  async function chooseFile(id, name, text) {
    const input = await waitFor(() => document.getElementById(id), id);
    const dt = new DataTransfer();
    dt.items.add(new File([text], name, { type: "text/csv" }));
    input.files = dt.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }
  async function signIn(loginId, password) {
    await onPage("ログイン");
    await type("login-id", loginId);
    await type("login-password", password);
    await click("login-submit");
    await onPage("ホーム");
  }
  const EXTRACT_HEAD = "宛名番号,カナ氏名,氏名,性別,生年月日,住所,住登外,閲覧注意,外字,死亡日,転出日\n";
  const EXTRACT = EXTRACT_HEAD +
    "000000000017,ヤマダ タロウ,山田 太郎,1,1958-04-12,千代田区神田1-1,0,0,0,,\n" +
    "000000000025,サトウ ハナコ,佐藤 花子,2,S45.3.3,千代田区麹町2-2,0,0,0,,\n";
  const EXTRACT_BAD = EXTRACT_HEAD +
    "000000000017,ヤマダ タロウ,山田 太郎,1,1958-04-12,千代田区神田1-1,0,0,0,,\n" +
    "000000000025,サトウ ハナコ,佐藤 花子,2,2026-02-30,千代田区麹町2-2,0,0,0,,\n";

  const SCENARIOS = {
    full: [
      ["setup", async () => {
        await onPage("初期設定");
        check(document.activeElement && document.activeElement.id === "setup-municipality-name", "setup autofocus");
        await click("setup-submit");
        await formError("INVALID_INPUT");
        check($("#setup-municipality-code-error"), "field error beside the code");
        await type("setup-municipality-name", "千代田区");
        await type("setup-municipality-code", "131016");
        await type("setup-terminal-name", "健康課 入力端末1");
        await type("setup-admin-login-id", "admin01");
        await type("setup-admin-display-name", "管理 太郎");
        await type("setup-admin-password", "Correct-Horse-9");
        await type("setup-admin-password-confirm", "Correct-Horse-9");
      }],
      ["setup-filled", async () => { await click("setup-submit"); }],
      ["recovery", async () => {
        await onPage("回復キーの記録");
        check($("#recovery-key").textContent === "K7QF-3MZA-W9XD-P2LC-8HNR-TV5E-J4GY-6BUS", "key shown");
        await click("recovery-key-continue");
        await waitFor(() => $("#recovery-key-ack-error"), "must tick first");
        check(title() === "回復キーの記録", "still on the key screen");
        await click("recovery-key-ack");
      }],
      ["login", async () => {
        await click("recovery-key-continue");
        await onPage("ログイン");
        await waitFor(() => document.activeElement && document.activeElement.id === "login-id", "login autofocus");
        await type("login-id", "admin01");
        await type("login-password", "wrong-password");
        await click("login-submit");
        await formError("INVALID_CREDENTIALS");
        check($("#login-id").value === "admin01", "login id kept after a failure");
        check($("#login-password").value === "", "password cleared after a failure");
      }],
      ["home", async () => {
        await type("login-password", "Correct-Horse-9");
        await click("login-submit");
        await onPage("ホーム");
        check($("#session-user").textContent === "管理 太郎", "session user");
        for (const id of ["nav-home", "nav-users", "nav-settings", "nav-audit", "nav-password", "nav-lock", "nav-logout"]) {
          check(document.getElementById(id), id);
        }
      }],
      ["users", async () => {
        await click("nav-users");
        await onPage("利用者管理");
        await waitFor(() => $("#users-table tbody tr"), "users table");
        await type("user-new-login-id", "keyer02");
        await type("user-new-display-name", "入力 三郎");
        await click("user-new-role-keyer");
        await type("user-new-password", "Initial-Pass-1");
        await click("user-new-submit");
        await waitFor(() => $("#users-done"), "user created");
        await waitFor(() => document.getElementById("user-edit-keyer02"), "new row");
        await click("user-edit-keyer01");
        await waitFor(() => $("#user-edit-heading"), "editor");
        check(!$("#user-locked") && !$("#user-unlock"), "no unlock for a user who is not locked");
      }],
      ["users-locked", async () => {
        await click("user-edit-keyer03");
        await waitFor(() => $("#user-locked"), "lock notice for a locked user");
        check($("#user-unlock"), "unlock button for a locked user");
      }],
      ["users-admin", async () => {
        await click("user-unlock");
        await waitFor(() => $("#users-done") && $("#users-done").textContent.includes("ロックを解除しました"), "unlocked");
        await waitFor(() => !$("#user-locked"), "lock notice gone after the list is read again");
        check(window.__calls.some((c) => c.cmd === "user_unlock" && c.args.req.login_id === "keyer03"), "unlock sent");
        check($("#user-reset-note").textContent.includes("次回ログイン時に本人が変更します"), "reset note");
        await type("user-reset-password", "Short-1");
        await type("user-reset-password-confirm", "Short-1");
        await click("user-reset-submit");
        await waitFor(() => $("#user-reset-password-error"), "too short refused beside the field");
        await formError("INVALID_INPUT");
        check(!window.__calls.some((c) => c.cmd === "user_reset_password"), "nothing sent for a bad password");
        await type("user-reset-password", "Temporary-Pass-7");
        await type("user-reset-password-confirm", "Temporary-Pass-7");
        await click("user-reset-submit");
        await waitFor(() => $("#user-reset-done"), "reset done");
        check(!$("#user-reset-password-error") && !$("#form-error"), "errors cleared");
        check($("#user-reset-password").value === "", "fields cleared");
        check(s.passwords.keyer03 === "Temporary-Pass-7", "temporary password set");
      }],
      ["settings", async () => {
        await click("nav-settings");
        await onPage("設定");
        await waitFor(() => $("#settings-password-min-len") && $("#settings-password-min-len").value === "12", "settings loaded");
        await type("settings-idle-lock-minutes", "5");
        await click("settings-submit");
        await waitFor(() => $("#settings-saved"), "settings saved");
        check($("#settings-idle-lock-minutes").value === "5", "typed value kept after re-render");
      }],
      ["audit", async () => {
        await click("nav-audit");
        await onPage("操作ログ");
        await waitFor(() => $("#audit-table tbody tr"), "audit rows");
        await click("audit-verify");
        await waitFor(() => $("#audit-verify-result"), "verify result");
        check($("#audit-verify-result").dataset.ok === "true", "chain ok");
      }],
      ["lock", async () => {
        await click("nav-lock");
        await onPage("画面ロック中");
        await type("unlock-password", "nope");
        await click("unlock-submit");
        await formError("INVALID_CREDENTIALS");
      }],
      ["unlock", async () => {
        await type("unlock-password", "Correct-Horse-9");
        await click("unlock-submit");
        await onPage("操作ログ");
        // Ctrl+L locks from anywhere.
        document.dispatchEvent(new KeyboardEvent("keydown", { key: "l", ctrlKey: true, bubbles: true }));
        await onPage("画面ロック中");
        await click("lock-logout");
        await onPage("ログイン");
      }],
    ],
    // phase=ready: an administrator imports the resident extract and a code table.
    import: [
      ["import-open", async () => {
        await signIn("admin01", "Correct-Horse-9");
        check(!document.getElementById("nav-batches"), "administrators have no batch menu");
        check(!$("#home-batches"), "nor a batch panel on the home screen");
        await click("nav-import");
        await onPage("住民データ取込");
        await waitFor(() => $("#residents-count") && $("#residents-count").textContent === "1,000,000 人", "current extract");
        await click("import-submit");
        await waitFor(() => $("#import-file-error"), "a file must be chosen");
      }],
      ["import-rejected", async () => {
        await chooseFile("import-file", "jumin_bad.csv", EXTRACT_BAD);
        await click("import-submit");
        await formError("IMPORT_REJECTED");
        check($("#form-error").textContent.includes("3行目の「生年月日」"), "the message names line and column");
        check($("#residents-count").textContent === "1,000,000 人", "extract untouched");
      }],
      ["import-progress", async () => {
        await chooseFile("import-file", "jumin_20261120.csv", EXTRACT);
        $("#import-encoding").value = "cp932";
        await click("import-submit");
        await waitFor(() => {
          const bar = $("#import-progress");
          return bar && bar.value > 0 && bar.value < bar.max;
        }, "progress bar mid-way");
        check(/ \/ 1,000,000 件/.test($("#import-progress-text").textContent), "n / N 件");
        check(!$("#form-error"), "the rejection is cleared");
        check(listening("import-progress") === 1 && calledWith("plugin:event|listen", "import-progress"),
          "listening through plugin:event|listen");
      }],
      ["import-result", async () => {
        await waitFor(() => $("#import-result"), "import result");
        check(!$("#import-progress"), "the bar is gone");
        check(listening("import-progress") === 0 && calledWith("plugin:event|unlisten", "import-progress"),
          "stopped listening");
        check($("#import-total").textContent === "1,000,227 人", "total after");
        await waitFor(() => $("#residents-count").textContent === "1,000,227 人", "status refreshed");
        check(window.__calls.some((c) => c.cmd === "residents_import" && c.args.req.file.encoding === "cp932"
          && c.args.req.file.file_name === "jumin_20261120.csv" && !c.args.req.delta), "request as chosen");
      }],
      ["codes", async () => {
        $("#codes-table").value = "clinics";
        await chooseFile("codes-file", "iryokikan.csv", "医療機関コード,名称\n1310123458,千代田こどもクリニック\n1310543218,神田内科医院\n");
        await click("codes-submit");
        await waitFor(() => $("#codes-result"), "codes result");
      }],
    ],
    // phase=ready: a keyer registers a batch; a verifier tries to close an incomplete one.
    batches: [
      ["batches-home", async () => {
        await signIn("keyer01", "Keyer-Pass-01");
        await waitFor(() => $("#home-batches-count"), "open batches on the home screen");
        check($("#home-batches-count").textContent === "3", "three open batches");
        check($("#home-batch-2") && $("#home-batch-2").textContent.includes("神田内科医院"), "clinic named");
        check($("#home-batch-2").textContent.includes("完了 85 / 申告 120 枚"), "progress shown");
      }],
      ["batches-keyer", async () => {
        check(!document.getElementById("nav-import"), "keyers have no import menu");
        await click("home-batches-open");
        await onPage("受付バッチ");
        await waitFor(() => $("#batches-table tbody tr"), "batch rows");
        check(!$("#batch-close-2"), "keyers cannot close");
        await typeLive("batch-clinic", "1310123450");
        await waitFor(() => $("#batch-clinic-error"), "inline check digit error");
        await typeLive("batch-clinic", "1310123458");
        await waitFor(() => $("#batch-clinic-ok") && $("#batch-clinic-ok").textContent.includes("千代田こどもクリニック"), "clinic named");
        await type("batch-received", "R8.11.20");
        await type("batch-claim-month", "2026-13");
        await type("batch-programme", "mr");
        await type("batch-declared", "30");
        await click("batch-submit");
        await waitFor(() => $("#batch-claim-month-error"), "claim month refused");
      }],
      ["batches-registered", async () => {
        await type("batch-claim-month", "2026-11");
        await click("batch-submit");
        await waitFor(() => $("#batches-done"), "batch registered");
        await waitFor(() => $("#batch-5") && $("#batch-5").dataset.status === "open", "new batch listed");
        check($("#batch-5").textContent.includes("令和8年11月20日"), "received date in 和暦");
        check($("#batch-clinic").value === "", "form cleared");
      }],
      ["batches-verifier", async () => {
        await click("nav-logout");
        await signIn("verify02", "Verify-Pass-02");
        await click("nav-batches");
        await onPage("受付バッチ");
        await waitFor(() => $("#batch-close-2"), "close buttons for verifiers");
        check(!$("#batch-close-1"), "closed batches have no button");
        await click("batch-close-2");
        await formError("BATCH_NOT_CLOSABLE");
        check($("#form-error").textContent.includes("未完了"), "the refusal names the counts");
        check($("#batch-2").dataset.status === "open", "still open");
      }],
      ["batches-closed", async () => {
        await click("batch-close-3");
        await waitFor(() => $("#batches-done"), "closed");
        await waitFor(() => $("#batch-3").dataset.status === "closed", "batch 3 closed");
        check(!$("#form-error"), "the refusal is cleared");
      }],
    ],
    // phase=ready: a keyer looks residents up by kana + birth date and by a scanned 接種券.
    residents: [
      ["residents-open", async () => {
        await signIn("keyer01", "Keyer-Pass-01");
        await click("nav-residents");
        await onPage("住民検索");
        await waitFor(() => document.activeElement && document.activeElement.id === "lookup-id", "lookup autofocus");
        check(!window.__calls.some((c) => c.cmd === "resident_lookup"), "nothing looked up unasked");
        await type("lookup-kana", "ﾔﾏﾀﾞ");
        await type("lookup-birth", "33.4.12");
        await key("lookup-birth", "Enter");
        await waitFor(() => $("#lookup-birth-error"), "a birth date without an era is refused");
        await formError("INVALID_INPUT");
        check(!window.__calls.some((c) => c.cmd === "resident_lookup"), "nothing sent for a bad date");
      }],
      ["residents-kana", async () => {
        await type("lookup-birth", "S33.4.12");
        await key("lookup-birth", "Enter");
        await waitFor(() => $("#lookup-results") && $("#lookup-results").children.length === 3, "three candidates");
        const sent = window.__calls.filter((c) => c.cmd === "resident_lookup").pop().args.req;
        check(sent.purpose === "keying" && sent.key.by === "kana_birth" && sent.key.birth_date === "1958-04-12"
          && sent.key.sex === null, "request as typed (昭和33年 → 1958)");
        check(!$("#form-error") && !$("#lookup-birth-error"), "errors cleared");
        await waitFor(() => document.activeElement && document.activeElement.id === "lookup-results", "the list takes the focus");
        check($("#lookup-result-0").getAttribute("aria-selected") === "true", "first candidate active");
        check($("#lookup-result-2 [data-flag=out-of-area]"), "住登外 badge");
        check($("#lookup-result-2 .address").textContent === "（なし）", "no address");
        await key("lookup-results", "ArrowDown");
        await key("lookup-results", "ArrowDown");
        await key("lookup-results", "ArrowDown");
        await waitFor(() => $("#lookup-result-2").getAttribute("aria-selected") === "true", "arrow down stops at the last");
        await key("lookup-results", "ArrowUp");
        await waitFor(() => $("#lookup-result-1").getAttribute("aria-selected") === "true", "arrow up");
        await key("lookup-results", "Enter");
        await waitFor(() => $("#resident-card") && $("#resident-card").dataset.atena === "0000102353", "second candidate chosen");
        check($("#resident-card-heading").textContent.includes("この方で間違いありませんか"), "confirmation card");
        check($("#resident-card-birth").textContent === "昭和33年4月12日", "birth date in 和暦");
        check(!$("#resident-card-warning"), "no warning for an ordinary resident");
      }],
      ["residents-scan", async () => {
        const before = window.__calls.filter((c) => c.cmd === "resident_lookup").length;
        const el = $("#lookup-id");
        el.focus();
        // A scanner types the 18 digits within a few milliseconds, with no Enter.
        for (const ch of "111310160000204455") {
          el.value += ch;
          el.dispatchEvent(new InputEvent("input", { bubbles: true, data: ch }));
          if (el.value.length === 17) {
            check(window.__calls.filter((c) => c.cmd === "resident_lookup").length === before, "no lookup before the 18th digit");
          }
        }
        await waitFor(() => $("#lookup-result-0") && $("#lookup-result-0").dataset.atena === "0000204455", "found by the ticket");
        // The scanner's trailing Enter does not look the resident up again.
        await key("lookup-id", "Enter");
        const sent = window.__calls.filter((c) => c.cmd === "resident_lookup");
        check(sent.length === before + 1, "exactly one lookup for the scan");
        check(sent[sent.length - 1].args.req.key.by === "ticket", "looked up by the ticket");
        check($("#lookup-result-0 .restricted-warning").textContent.includes("閲覧注意の対象者です"), "閲覧注意 warning in the list");
        check($("#lookup-result-0 .address").textContent === "（表示しません）", "address withheld");
        check(!$("#lookup-results").textContent.includes("麹町"), "the address never reaches the screen");
      }],
      ["residents-restricted", async () => {
        await key("lookup-results", "Enter");
        await waitFor(() => $("#resident-card") && $("#resident-card").dataset.atena === "0000204455", "restricted resident chosen");
        check($("#resident-card-warning").textContent.includes("閲覧注意"), "warning on the card");
        check($("#resident-card-address").textContent === "（表示しません）", "no address on the card");
      }],
      ["residents-none", async () => {
        await type("lookup-id", "99999");
        await key("lookup-id", "Enter");
        await waitFor(() => $("#lookup-none"), "no match reported");
        await type("lookup-id", "111310150000204455");
        await key("lookup-id", "Enter");
        await waitFor(() => $("#lookup-id-error"), "bad municipality check digit refused beside the field");
        check(!window.__calls.some((c) => c.cmd === "resident_lookup" && c.args.req.key.ocr_line === "111310150000204455"), "not sent");
      }],
    ],
    // phase=ready: an administrator disables another administrator and rotates the ledger key.
    rotate: [
      ["rotate-advice", async () => {
        await signIn("admin01", "Correct-Horse-9");
        await click("nav-users");
        await onPage("利用者管理");
        await click("user-edit-keyer01");
        await waitFor(() => $("#user-edit-heading"), "editor");
        await click("user-disable-now");
        await waitFor(() => $("#users-done") && $("#users-done").textContent.includes("利用を停止しました"), "keyer disabled");
        check(!$("#user-rotate-advice"), "no advice after disabling a keyer");
        await click("user-edit-verify02");
        await waitFor(() => $("#user-edit-heading") && $("#user-edit-heading").textContent.includes("verify02"), "editor of verify02");
        await click("user-edit-role-administrator");
        await click("user-roles-save");
        await waitFor(() => s.users.find((u) => u.login_id === "verify02").roles.includes("administrator"), "made an administrator");
        await waitFor(() => $("#users-done") && $("#users-done").textContent.includes("ロールを変更しました"), "roles saved");
        check(!$("#user-rotate-advice"), "no advice before the disable");
        await click("user-disable-now");
        await waitFor(() => $("#user-rotate-advice"), "rotation advised after disabling an administrator");
        check($("#user-rotate-advice").textContent.includes("台帳鍵の更新"), "advice names the rotation");
      }],
      ["rotate-open", async () => {
        await click("user-rotate-open");
        await onPage("設定");
        await waitFor(() => document.activeElement && document.activeElement.id === "key-rotate-password", "the rotation section takes the focus");
        check($("#key-rotate-what").textContent.includes("次にログインしたときに作り直されます"), "other administrators' copies explained");
        await click("key-rotate-submit");
        await waitFor(() => $("#key-rotate-password-error"), "a password is required");
        await formError("INVALID_INPUT");
        check(!window.__calls.some((c) => c.cmd === "key_rotate"), "nothing sent without a password");
      }],
      ["rotate-wrong", async () => {
        await type("key-rotate-password", "wrong-password");
        await click("key-rotate-submit");
        await formError("INVALID_CREDENTIALS");
        check($("#key-rotate-password").value === "", "password cleared after a failure");
        check(!$("#recovery-key"), "no key after a failure");
      }],
      ["rotate-key", async () => {
        await type("key-rotate-password", "Correct-Horse-9");
        await click("key-rotate-submit");
        await onPage("新しい回復キーの記録");
        check($("#recovery-key").textContent === "M3TD-8QKA-2WXN-F7LC-4HPR-VB6E-J9GS-5YUZ", "new key shown");
        check(window.__calls.some((c) => c.cmd === "key_rotate" && c.args.req.password === "Correct-Horse-9"), "rotation sent");
        check($("#recovery-key-note").textContent.includes("以前の回復キー"), "the old key is void");
      }],
      ["rotate-done", async () => {
        // The screen lock or a menu click does not lose the only copy of the key.
        await click("nav-lock");
        await onPage("画面ロック中");
        await type("unlock-password", "Correct-Horse-9");
        await click("unlock-submit");
        await onPage("新しい回復キーの記録");
        await click("nav-home");
        await onPage("ホーム");
        await click("nav-settings");
        await onPage("新しい回復キーの記録");
        check($("#recovery-key").textContent === "M3TD-8QKA-2WXN-F7LC-4HPR-VB6E-J9GS-5YUZ", "key still shown");
        await click("recovery-key-continue");
        await waitFor(() => $("#recovery-key-ack-error"), "must tick first");
        check(title() === "新しい回復キーの記録", "still on the key");
        await click("recovery-key-ack");
        await click("recovery-key-continue");
        await onPage("設定");
        await waitFor(() => $("#key-rotate-password"), "back on the settings page");
        check(!$("#recovery-key"), "the key is gone once recorded");
        await click("nav-home");
        await onPage("ホーム");
        await click("nav-settings");
        await waitFor(() => $("#key-rotate-password"), "settings again");
        check(!$("#recovery-key"), "the key is never shown again");
      }],
    ],
    // ---- review screens ------------------------------------------------------------------
    // phase=ready: a verifier resolves a mismatch from the paper (refused on a form they keyed).
    mismatch: [
      ["mismatch-refused", async () => {
        await signIn("verify02", "Verify-Pass-02");
        await click("nav-mismatch");
        await onPage("突合せ");
        await waitFor(() => document.querySelectorAll("#mismatch-list tr[data-form-id]").length === 2, "two mismatched forms");
        await click("mismatch-open-206");
        await waitFor(() => $("#mismatch-view") && $("#mismatch-view").dataset.formId === "206", "form 206 opened");
        check($("#mismatch-own"), "the resolver is told they keyed this form");
        await type("resolve-volume", "0.5");
        await click("mismatch-submit");
        await formError("SECOND_PERSON_REQUIRED");
        await click("mismatch-back");
        await waitFor(() => $("#mismatch-list"), "back on the list");
      }],
      ["mismatch-side", async () => {
        await click("mismatch-open-201");
        await waitFor(() => $("#mismatch-view") && $("#mismatch-view").dataset.formId === "201", "form 201 opened");
        check(!$("#mismatch-own"), "no warning on another person's form");
        const differing = Array.from(document.querySelectorAll("#mismatch-table tr[data-difference]")).map((r) => r.dataset.field);
        check(differing.join(",") === "date,lot", "date and lot differ: " + differing.join(","));
        check($("#mismatch-table tr[data-field=date]").textContent.includes("値の相違"), "difference named in words");
        check(!$("#mismatch-table tr[data-field=temperature]").dataset.difference, "formatting-only is not asked again");
        check($("#mismatch-table tr[data-field=date]").textContent.includes("R8.11.2")
          && $("#mismatch-table tr[data-field=date]").textContent.includes("R8.11.3"), "both keyings side by side");
        await waitFor(() => document.activeElement && document.activeElement.dataset.resolve === "date", "first differing field focused");
        await type("resolve-date", "R9.12.24");
        await key("resolve-date", "Enter");
        await waitFor(() => $("#resolve-date-error"), "a future date is refused beside the field");
        check(document.activeElement.id === "resolve-date", "focus stays on the field");
        await type("resolve-date", "R8.11.3");
        await key("resolve-date", "Enter");
        await waitFor(() => !$("#resolve-date-error") && document.activeElement && document.activeElement.id === "resolve-lot", "Enter moves on");
      }],
      ["mismatch-resolved", async () => {
        await type("resolve-lot", "KF128A");
        await key("resolve-lot", "Enter");
        await waitFor(() => $("#mismatch-done"), "resolved");
        const sent = window.__calls.filter((c) => c.cmd === "mismatch_resolve").pop().args.req;
        check(sent.form_id === 201 && sent.values.date === "R8.11.3" && sent.values.lot === "KF128A"
          && Object.keys(sent.values).length === 2, "only the differing fields, as keyed");
        await waitFor(() => document.querySelectorAll("#mismatch-list tr[data-form-id]").length === 1, "back to a shorter list");
        check(s.forms.find((f) => f.form_id === 201).state === "resolved", "form resolved");
      }],
    ],
    // phase=ready: a verifier approves one form (A key) and returns another with a comment.
    verify: [
      ["verify-open", async () => {
        await signIn("verify02", "Verify-Pass-02");
        await waitFor(() => $("#home-verification-count") && $("#home-verification-count").textContent === "2 件", "home counts the queue");
        check($("#home-mismatch-count").textContent === "2 件" && $("#home-changes-count").textContent === "1 件", "home counts the other lists");
        await click("nav-verification");
        await onPage("確認");
        await waitFor(() => document.querySelectorAll("#verification-list tr[data-form-id]").length === 2, "two forms to verify");
        await click("verify-open-202");
        await waitFor(() => $("#record-view") && $("#record-view").dataset.formId === "202", "record opened");
        check($("#record-first-keyer").textContent === "keyer01" && $("#record-second-keyer").textContent === "keyer03", "who keyed");
        check($("#record-override").textContent.includes("転出前に予約済み"), "override reason shown");
        check($("#record-warnings").textContent.includes("転出"), "warning shown");
        check($("#record-resident").textContent.includes("田中 祥子") && $("#record-resident [data-flag=moved-out]"), "resident panel");
        await waitFor(() => document.activeElement && document.activeElement.id === "approve", "approve focused");
      }],
      ["verify-approved", async () => {
        await key("approve", "a");
        await waitFor(() => $("#verification-done") && $("#verification-done").textContent.includes("承認しました"), "approved with A");
        check(s.forms.find((f) => f.form_id === 202).approver === "verify02", "approver recorded");
        await waitFor(() => document.querySelectorAll("#verification-list tr[data-form-id]").length === 1, "one left");
      }],
      ["verify-rejected", async () => {
        await click("verify-open-203");
        await waitFor(() => $("#record-view") && $("#record-view").dataset.formId === "203", "second record opened");
        check($("#record-resolver").textContent === "verify04", "resolver shown");
        check($("#reject-field").value === "atena", "the first field by default");
        await click("reject");
        await waitFor(() => $("#reject-comment-error"), "a comment is required");
        await formError("INVALID_INPUT");
        check(!window.__calls.some((c) => c.cmd === "verification_reject"), "nothing sent without a comment");
        $("#reject-field").value = "lot";
        await type("reject-comment", "ロット番号が用紙と違います");
        await click("reject-add");
        await waitFor(() => $("#reject-comments li"), "comment listed");
        check($("#record-fields tr[data-field=lot]").classList.contains("commented"), "comment beside the field");
        await click("reject");
        await waitFor(() => $("#verification-done") && $("#verification-done").textContent.includes("差し戻しました"), "rejected");
        const sent = window.__calls.filter((c) => c.cmd === "verification_reject").pop().args.req;
        check(sent.form_id === 203 && sent.comments.length === 1 && sent.comments[0].key === "lot", "comment per field");
        await waitFor(() => $("#verification-empty"), "queue empty");
      }],
    ],
    // phase=ready: a verifier asks for a correction; a second verifier confirms it.
    correction: [
      ["correction-request", async () => {
        await signIn("verify02", "Verify-Pass-02");
        await click("nav-batches");
        await onPage("受付バッチ");
        await click("batch-forms-2");
        await onPage("受付バッチの票");
        await waitFor(() => $("#batch-forms-table tr[data-form-id='204']"), "form 204 listed");
        check(!$("#correction-open-201"), "no correction of a form not approved");
        await click("correction-open-204");
        await waitFor(() => $("#request-panel"), "request form");
        await waitFor(() => $("#correction-field option[value=lot]"), "fields of the layout");
        check($("#correction-field").value === "atena", "the first field by default");
        await click("correction-submit");
        await waitFor(() => $("#correction-value-error") && $("#request-reason-error") && $("#request-evidence-error"), "all three required");
        $("#correction-field").value = "date";
        await type("correction-value", "R9.1.1");
        await type("request-reason", "ロット番号の転記誤り");
        await type("request-evidence", "束2 p.3（医療機関に電話で確認）");
        await click("correction-submit");
        await waitFor(() => $("#correction-value-error") && $("#correction-value-error").textContent.includes("より後の日付は入力できません"), "a future date refused by the domain check");
        $("#correction-field").value = "lot";
        await type("correction-value", "KF999Z");
        await click("correction-submit");
        await waitFor(() => $("#batch-forms-done"), "requested");
        await waitFor(() => $("#batch-forms-table tr[data-form-id='204']").dataset.state === "修正確認待ち", "pending");
        const sent = window.__calls.filter((c) => c.cmd === "correction_request").pop().args.req;
        check(sent.changes.lot === "KF999Z" && Object.keys(sent.changes).length === 1, "the change sent");
      }],
      ["correction-own", async () => {
        await click("nav-changes");
        await onPage("修正・削除の確認");
        await waitFor(() => document.querySelectorAll("#changes-list tr[data-form-id]").length === 2, "two pending");
        await click("change-open-204");
        await waitFor(() => $("#change-own"), "own request flagged");
        await click("change-confirm");
        await formError("SECOND_PERSON_REQUIRED");
        check(s.forms.find((f) => f.form_id === 204).state === "correction_pending", "not applied");
      }],
      ["correction-confirm", async () => {
        await click("nav-logout");
        await signIn("verify04", "Verify-Pass-04");
        await click("nav-changes");
        await onPage("修正・削除の確認");
        await click("change-open-204");
        await waitFor(() => $("#change-fields tr[data-field=lot]"), "before and after");
        const row = $("#change-fields tr[data-field=lot]");
        check(row.querySelector(".before").textContent === "KF222A" && row.querySelector(".after").textContent === "KF999Z", "before → after");
        check($("#change-requested-by").textContent === "verify02", "requester shown");
        check(!$("#change-own"), "another person's request");
      }],
      ["correction-done", async () => {
        await click("change-confirm");
        await waitFor(() => $("#changes-done") && $("#changes-done").textContent.includes("反映しました"), "confirmed");
        const f = s.forms.find((x) => x.form_id === 204);
        check(f.state === "approved" && f.values.lot === "KF999Z", "applied");
      }],
      ["deletion-request", async () => {
        await click("nav-batches");
        await onPage("受付バッチ");
        await click("batch-forms-2");
        await onPage("受付バッチの票");
        await click("deletion-open-207");
        await waitFor(() => $("#request-panel") && $("#request-panel").dataset.formId === "207", "deletion form");
        check(!$("#correction-field"), "a deletion has no fields to change");
        await click("deletion-submit");
        await waitFor(() => $("#request-reason-error") && $("#request-evidence-error"), "reason and evidence required");
        await type("request-reason", "同じ用紙の二重入力");
        await type("request-evidence", "束2 p.1 と p.6 が同一");
        await click("deletion-submit");
        await waitFor(() => $("#batch-forms-table tr[data-form-id='207']").dataset.state === "削除確認待ち", "deletion pending");
        await click("nav-changes");
        await onPage("修正・削除の確認");
        await click("change-open-207");
        await waitFor(() => $("#change-view") && $("#change-view").dataset.kind === "削除" && $("#change-deletion"), "deletion explained");
        await click("change-refuse");
        await formError("SECOND_PERSON_REQUIRED");
      }],
    ],
    // phase=ready: statistics of the last 7 days as a table and an SVG chart.
    stats: [
      ["stats", async () => {
        await signIn("keyer01", "Keyer-Pass-01");
        check(!$("#home-review"), "keyers have no review panel");
        await click("nav-stats");
        await onPage("入力統計");
        await waitFor(() => $("#stats-chart"), "chart drawn");
        const req = window.__calls.filter((c) => c.cmd === "operator_stats").pop().args.req;
        check((Date.parse(req.to) - Date.parse(req.from)) / 86400000 === 6, "the last 7 days");
        check($("#stats-from").value === req.from && $("#stats-to").value === req.to, "range shown in the inputs");
        check($("#stats-chart title").textContent.includes("利用者別") && $("#stats-chart desc").textContent.includes("keyer03"), "accessible title and description");
        check($("#stats-chart").querySelectorAll("rect").length === 4, "two users × two measures");
        check(document.querySelectorAll("#stats-table tr[data-user=keyer01]").length >= 5, "a row per user and day");
        check(!document.querySelector("script[src^=http], link[href^=http], image"), "nothing loaded");
      }],
      ["stats-range", async () => {
        await type("stats-from", "2026-11-20");
        await type("stats-to", "2026-11-10");
        await click("stats-submit");
        await waitFor(() => $("#stats-range-error"), "from after to refused");
        await type("stats-from", "2026-11-02");
        await type("stats-to", "2026-11-04");
        await click("stats-submit");
        await waitFor(() => document.querySelectorAll("#stats-table tbody tr").length === 6, "three days × two users");
      }],
    ],
    // phase=ready: the audit log filtered by user and action.
    "audit-filter": [
      ["audit-filter", async () => {
        await signIn("admin01", "Correct-Horse-9");
        await click("nav-audit");
        await onPage("操作ログ");
        await waitFor(() => document.querySelectorAll("[data-audit-row]").length > 5, "audit rows");
        check($("#audit-action option[value='6006']").textContent.includes("承認"), "actions from the domain list");
        check($("#audit-action").value === "", "all actions by default");
        await type("audit-actor", "verify02");
        $("#audit-action").value = "6006";
        await click("audit-filter-submit");
        await waitFor(() => document.querySelectorAll("[data-audit-row]").length === 1, "one approval by verify02");
        const req = window.__calls.filter((c) => c.cmd === "audit_list").pop().args.req;
        check(req.actor === "verify02" && req.action === 6006 && req.resident === null && req.from === null, "filters sent");
        check($("[data-audit-row]").textContent.includes("verify02") && $("[data-audit-row]").textContent.includes("承認"), "the row matches");
        check($("#audit-caption").textContent.includes("絞り込み中"), "filtering said");
      }],
      ["audit-filter-dates", async () => {
        await type("audit-from", "2026-11-30");
        await type("audit-to", "2026-11-01");
        await click("audit-filter-submit");
        await waitFor(() => $("#audit-to-error"), "from after to refused");
        await click("audit-filter-clear");
        await waitFor(() => document.querySelectorAll("[data-audit-row]").length > 5 && !$("#audit-to-error"), "filters cleared");
      }],
    ],
    // phase=ready: the printable control sheet of a batch.
    report: [
      ["report", async () => {
        await signIn("verify02", "Verify-Pass-02");
        await click("nav-batches");
        await onPage("受付バッチ");
        await click("batch-forms-3");
        await onPage("受付バッチの票");
        await click("batch-report-3");
        await onPage("受付バッチ管理票");
        await waitFor(() => $("#batch-report"), "sheet");
        check(document.querySelectorAll("#report-forms tr[data-form-id]").length === 25, "every form listed");
        check($("#report-declared").textContent === "25" && $("#report-balance").textContent.includes("一致しています"), "counts against the declared number");
        check($("#report-signatures").textContent.includes("入力責任者") && $("#report-signatures").textContent.includes("確認者"), "signature boxes");
        await click("report-print");
        check(window.__printed === 1, "print dialog opened");
        check(window.__calls.some((c) => c.cmd === "batch_report" && c.args.req.batch_id === 3), "sheet of batch 3");
        window.scrollTo(0, 0);
      }],
    ],
    fatal: [["fatal", async () => {
      await onPage("起動できません");
      check($("#fatal-code").textContent === "KEYSTORE_UNAVAILABLE", "fatal code");
      check(!$("#anchor-repair-submit"), "no way forward for a key store failure");
    }]],
    anchor: [["anchor", async () => {
      await onPage("起動できません");
      check($("#fatal-code").textContent === "AUDIT_ANCHOR_MISMATCH", "anchor code");
      await type("anchor-repair-login-id", "admin01");
      await type("anchor-repair-password", "wrong");
      await click("anchor-repair-submit");
      await formError("RECOVERY_FAILED");
    }], ["anchor-repaired", async () => {
      await type("anchor-repair-password", "Correct-Horse-9");
      await click("anchor-repair-submit");
      await onPage("ログイン");
    }]],
    recover: [["recover", async () => {
      await onPage("台帳の鍵の回復");
      await type("recover-key-input", "WRONG");
      await click("recover-key-submit");
      await formError("RECOVERY_FAILED");
    }], ["recovered", async () => {
      await type("recover-key-input", "K7QF-3MZA-W9XD-P2LC-8HNR-TV5E-J4GY-6BUS");
      await click("recover-key-submit");
      await onPage("ログイン");
    }]],
  };

  // ==== keying (入力) flows ==================================================================
  const focused = () => document.activeElement && document.activeElement.dataset && document.activeElement.dataset.field;
  const kinput = (k) => document.querySelector('[data-field="' + k + '"]');
  const keyingCalls = (cmd) => window.__calls.filter((c) => c.cmd === cmd);
  // Keys one field as a keyer does: the field has the focus, the text goes in, Enter.
  async function keyField(k, value) {
    const el = await waitFor(() => focused() === k && document.activeElement, "focus on " + k + " (now " + focused() + ")");
    el.value = value;
    el.dispatchEvent(new InputEvent("input", { bubbles: true, data: value }));
    el.dispatchEvent(new KeyboardEvent("keydown", { key: value.slice(-1) || "Backspace", bubbles: true, cancelable: true }));
    el.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
  }
  async function keyingReady() {
    await waitFor(() => $("#keying") && $("#keying").dataset.ready === "1", "a blank form ready");
  }
  async function openKeying() {
    await signIn("keyer01", "Keyer-Pass-01");
    await click("nav-batches");
    await onPage("受付バッチ");
    await click("batch-key-5");
    await onPage("入力");
    await keyingReady();
  }
  // Keys the whole MR form from `from` (field key) to the end, in paper order.
  async function keyForm(values, from, until) {
    const keys = Object.keys(window.__MR_FORM);
    for (const k of keys.slice(keys.indexOf(from || "atena"))) {
      if (k === until) return;
      await keyField(k, values[k]);
    }
  }
  const KEYING_SCENARIOS = {
    // keying=1: a keyer keys forms by keyboard; the rules check asks for an override reason.
    keying: [
      ["keying-open", async () => {
        await openKeying();
        check($("#keying-pass").textContent === "1回目入力", "pass label");
        check($("#keying-progress").textContent === "1回目 0/3・2回目 0/3", "batch count");
        check($("#keying-form-no").textContent.includes("1"), "form number");
        check(focused() === "atena", "the first field has the focus");
        check(document.querySelectorAll("[data-field]").length === 27, "every MR field in paper order");
        check(kinput("temperature").getAttribute("inputmode") === "numeric", "numeric keypad");
        check($('[data-key="q.q01_read_explanation"] .choices').textContent === "1 はい / 2 いいえ", "choices beside");
        // A wrong 宛名番号 keeps the focus with the domain's message; Esc clears it.
        await keyField("atena", "12a");
        await waitFor(() => $("#kf-atena-error"), "atena error beside the field");
        check($('[data-key="atena"]').classList.contains("invalid") && kinput("atena").getAttribute("aria-invalid") === "true", "field marked");
        check(focused() === "atena", "an invalid field keeps the focus");
        kinput("atena").dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
        await waitFor(() => kinput("atena").value === "" && !$("#kf-atena-error"), "Esc clears the field");
      }],
      ["keying-resident", async () => {
        await keyField("atena", "００００４０００１２");
        await waitFor(() => $("#keying-resident") && $("#keying-resident").dataset.atena === "0000400012", "resident shown");
        check($("#keying-resident-name").textContent === "小林 結衣", "name");
        check($("#keying-resident-birth").textContent === "令和7年5月14日 (2025)", "birth date in 和暦");
        check(!$("#keying-resident").textContent.includes("一番町"), "no address");
        check(focused() === "temperature", "advanced");
        // Shift+Tab goes back, Tab forward again.
        document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key: "Tab", shiftKey: true, bubbles: true, cancelable: true }));
        await waitFor(() => focused() === "atena", "Shift+Tab back");
        document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key: "Tab", bubbles: true, cancelable: true }));
        await waitFor(() => focused() === "temperature", "Tab forward");
        check(kinput("atena").value === "００００４０００１２", "the typed text is kept as typed");
      }],
      ["keying-filled", async () => {
        const v = Object.assign({}, window.__MR_FORM, { dose: "2" });
        await keyForm(v, "temperature", "doctor");
        // An Enter while the IME composes (the commit) does not advance.
        const doc = await waitFor(() => focused() === "doctor" && document.activeElement, "doctor field");
        doc.value = "山田 一郎";
        doc.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", isComposing: true, bubbles: true, cancelable: true }));
        await sleep(60);
        check(focused() === "doctor", "a composing Enter does not advance");
        check(doc.value === "山田 一郎", "and changes nothing");
        doc.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
        const out = await waitFor(() => focused() === "outcome" && document.activeElement, "outcome field");
        out.value = "1";
        await sleep(50);
      }],
      ["keying-override", async () => {
        kinput("outcome").dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
        await waitFor(() => $("#keying-rules") && $("#keying-rules").dataset.verdict === "violation", "violation shown");
        check($("#keying-rules .reason").textContent.includes("（最短: 令和12年4月1日）"), "earliest date in 和暦");
        check($("#keying-rules .reason .code").textContent === "TOO_YOUNG", "reason code small beside");
        await waitFor(() => document.activeElement && document.activeElement.id === "keying-override", "the override reason takes the focus");
        check(keyingCalls("keying_save").length === 0, "nothing saved without a reason");
        $("#keying-override").dispatchEvent(new KeyboardEvent("keydown", { key: "F9", bubbles: true, cancelable: true }));
        await sleep(100);
        check(keyingCalls("keying_save").length === 0, "F9 without a reason saves nothing");
        $("#keying-override").value = "DOCTOR_JUDGEMENT";
        $("#keying-override").dispatchEvent(new KeyboardEvent("keydown", { key: "F9", bubbles: true, cancelable: true }));
        await waitFor(() => $("#keying-status").textContent.includes("票番号 1 を保存しました"), "saved");
      }],
      ["keying-next", async () => {
        await keyingReady();
        const sent = keyingCalls("keying_save")[0].args.req;
        check(sent.form_id === null && sent.override_reason === "DOCTOR_JUDGEMENT", "first pass with the reason");
        check(sent.values.atena === "００００４０００１２" && sent.values.doctor === "山田 一郎", "values as typed");
        check(!("judgement_reason" in sent.values), "blank fields are not keyed");
        check(sent.metrics.keystrokes >= 54 && sent.metrics.active_ms >= 0, "keystrokes counted: " + sent.metrics.keystrokes);
        check(focused() === "atena", "the next form starts at the first field");
        check(kinput("atena").value === "" && kinput("temperature").value === "", "blank form");
        check(!$(".kfield.invalid") && !$(".field-error"), "no message on the new form");
        check(kinput("clinic").value === "1310123458" && kinput("doctor").value === "山田 一郎", "carried forward");
        check($('[data-key="clinic"] .carried').textContent === "前票から", "carried values are marked");
        check(!$("#keying-rules") && !$("#keying-resident").dataset.atena, "no leftovers of the last form");
        check($("#keying-progress").textContent === "1回目 1/3・2回目 0/3", "count updated");
        check($("#keying-form-no").textContent.includes("2"), "next form number");
        check(keyingCalls("keying_verify_field").length === 0, "independent mode never asks the first pass");
        // The resident leaves the panel with the 宛名番号 that named them.
        await keyField("atena", "0000400012");
        await waitFor(() => $("#keying-resident").dataset.atena === "0000400012" && focused() === "temperature", "resident of form 2");
        document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key: "Tab", shiftKey: true, bubbles: true, cancelable: true }));
        await waitFor(() => focused() === "atena", "back on the 宛名番号");
        kinput("atena").dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true, cancelable: true }));
        await keyField("atena", "");
        await waitFor(() => $("#kf-atena-error") && !$("#keying-resident").dataset.atena, "blank 宛名番号: refused, resident gone");
        check($("#kf-atena-error").textContent.includes("宛名番号を入力してください"), "required");
      }],
      ["keying-done", async () => {
        for (const n of [2, 3]) {
          await keyForm(n === 2 ? Object.assign({}, window.__MR_FORM, { lot: "MR999Z" }) : window.__MR_FORM, "atena", "clinic");
          if (n === 2) {
            await waitFor(() => !$('[data-key="lot"] .carried'), "an overridden carried value loses its mark");
            check($('[data-key="date"] .carried') && $('[data-key="clinic"] .carried'), "the same value keeps it");
          }
          // Carried fields: Enter through them.
          for (const k of ["clinic", "doctor", "outcome"]) {
            const el = await waitFor(() => focused() === k && document.activeElement, "focus on " + k);
            if (k === "outcome") el.value = "1";
            // Form 2 leaves the last field with Tab: the save button, not a save; F9 saves.
            const last = k === "outcome" && n === 2;
            el.dispatchEvent(new KeyboardEvent("keydown", { key: last ? "Tab" : "Enter", bubbles: true, cancelable: true }));
            if (last) {
              await waitFor(() => document.activeElement && document.activeElement.id === "keying-save", "Tab on the last field: the save button");
              await sleep(50);
              check(keyingCalls("keying_save").length === 1, "Tab does not save");
              $("#keying-save").dispatchEvent(new KeyboardEvent("keydown", { key: "F9", bubbles: true, cancelable: true }));
            }
          }
          await waitFor(() => $("#keying-status").textContent.includes("票番号 " + n + " を保存しました"), "form " + n + " saved");
        }
        await waitFor(() => $("#keying-none"), "nothing left to key");
        check($("#keying-none").textContent === "このバッチで入力できる票はありません", "told so");
        await click("keying-back");
        await onPage("受付バッチ");
      }],
    ],
    // keying=rekey: a form returned with a verifier's comment is keyed again from the keyer's
    // own values; the backend refuses the save without an override reason.
    rekey: [
      ["rekey-open", async () => {
        await openKeying();
        check($("#keying-pass").textContent === "差戻しの再入力", "re-keying");
        check(kinput("atena").value === "0000400012" && kinput("temperature").value === "38.5", "own values");
        check(!$('[data-key="temperature"] .carried'), "own values carry no 前票から mark");
        check($("#kf-temperature-comment").textContent === "✎確認者: 用紙では 36.8 です", "the verifier's comment beside the field");
        check(focused() === "atena", "first field focused");
        await keyField("atena", "0000400012");
        const t = await waitFor(() => focused() === "temperature" && document.activeElement, "temperature");
        check(t.selectionStart === 0 && t.selectionEnd === 4, "the value is selected: typing replaces it");
        t.value = "36.8";
        t.dispatchEvent(new KeyboardEvent("keydown", { key: "F9", bubbles: true, cancelable: true }));
        await formError("OVERRIDE_REQUIRED");
        await waitFor(() => document.activeElement && document.activeElement.id === "keying-override", "the reason takes the focus");
      }],
      ["rekey-saved", async () => {
        $("#keying-override").value = "HISTORY_INCOMPLETE";
        $("#keying-override").dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true, cancelable: true }));
        await waitFor(() => $("#keying-status").textContent.includes("票番号 1 を保存しました（再入力）"), "saved");
        const sent = keyingCalls("keying_save").pop().args.req;
        check(sent.form_id === 101 && sent.values.temperature === "36.8" && sent.override_reason === "HISTORY_INCOMPLETE", "re-keyed values with the reason");
        await waitFor(() => $("#keying-none"), "nothing left");
        check(!$("#form-error"), "the refusal is gone after the save");
      }],
    ],
    // keying=dependent: the second pass of a form keyed by keyer02; a differing field is
    // flagged, cleared and keyed again; the second keying is accepted.
    dependent: [
      ["dependent-open", async () => {
        await openKeying();
        check($("#keying-pass").textContent === "2回目入力", "second pass");
        check($("#keying-progress").textContent === "1回目 2/3・2回目 0/3", "batch count");
        await keyField("atena", "0000400012");
        await waitFor(() => focused() === "temperature", "a matching field advances");
        check(keyingCalls("keying_verify_field").length === 1, "asked once");
      }],
      ["dependent-flagged", async () => {
        await keyField("temperature", "37.2");
        await waitFor(() => $('[data-key="temperature"]').classList.contains("flagged"), "flagged");
        check($("#kf-temperature-error").textContent.includes("1回目と異なります。もう一度入力してください"), "asked again");
        check(kinput("temperature").value === "", "cleared");
        check(focused() === "temperature", "focus stays");
        check(!$("#keying").textContent.includes("36.8"), "the first value is never shown");
      }],
      ["dependent-rekeyed", async () => {
        const before = keyingCalls("keying_verify_field").length;
        await keyField("temperature", "37.2");
        await waitFor(() => focused() === "q.q01_read_explanation", "the second keying is accepted");
        check(keyingCalls("keying_verify_field").length === before, "not asked again");
        check(!$('[data-key="temperature"]').classList.contains("flagged") && !$("#kf-temperature-error"), "flag cleared");
        await keyForm(window.__MR_FORM, "q.q01_read_explanation");
        await waitFor(() => $("#keying-status").textContent === "✓票番号 1 を保存しました（照合: 不一致）", "saved as a mismatch: " + $("#keying-status").textContent);
        await keyingReady();
        check($("#keying-form-no").textContent.includes("2"), "next: form 2");
      }],
      ["dependent-lock", async () => {
        // The screen lock unmounts the screen: the unfinished form comes back to its keyer.
        await keyField("atena", "0000400012");
        await keyField("temperature", "36.8");
        await waitFor(() => focused() === "q.q01_read_explanation", "two fields keyed");
        await click("nav-lock");
        await onPage("画面ロック中");
        await type("unlock-password", "Keyer-Pass-01");
        await click("unlock-submit");
        await onPage("入力");
        await keyingReady();
        check($("#keying-form-no").textContent.includes("2"), "the same form");
        check(kinput("atena").value === "0000400012" && kinput("temperature").value === "36.8", "restored as keyed");
        check(focused() === "q.q01_read_explanation", "continues at the first empty field");
        check($("#keying-status").textContent.includes("入力途中の票を戻しました"), "told so");
      }],
    ],
  };
  Object.assign(SCENARIOS, KEYING_SCENARIOS);
  // ==== end of keying flows ==================================================================

  // ==== sync (同期) flows ===================================================================
  const syncCalls = (cmd) => window.__calls.filter((c) => c.cmd === cmd);
  const text = (sel) => ($(sel) || {}).textContent || "";
  async function openSync() {
    await signIn("sync01", "Sync-Pass-01");
    check(!document.getElementById("nav-batches") && !document.getElementById("nav-users"), "a sync operator's menu");
    await click("nav-sync");
    await onPage("同期");
    await waitFor(() => $("#sync-connectivity"), "status loaded");
  }
  const SYNC_SCENARIOS = {
    // phase=ready: a sync operator sees the status, syncs now, and exports the log.
    sync: [
      ["sync-open", async () => {
        await openSync();
        check(text("#sync-connectivity").includes("接続できます") && $("#sync-connectivity").dataset.reachable === "true", "reachable");
        check(text("#sync-next-check").startsWith("令和8年11月23日 (2026) 10:15"), "next check in 和暦 JST: " + text("#sync-next-check"));
        check(text("#sync-hub") === HUB.hub_url, "hub address");
        const rows = Array.from(document.querySelectorAll("#sync-pending tbody tr")).map((r) => r.textContent);
        check(rows.join("|") === "接種記録36 件|修正2 件|削除1 件|操作ログ9 件", "pending per stream: " + rows.join("|"));
        check(text("#sync-pending-total") === "48 件", "pending total");
        check(text("#sync-receipt-id") === "r-0192f0c4-5e21-7a00-8c1d-3b4a5c6d7e8f", "last receipt");
        check(text("#sync-receipt-at").includes("令和8年11月23日 (2026) 09:45"), "receipt time in JST");
        check(text("#sync-receipt-conflicts") === "1 件" && text("#sync-receipt-already") === "1 件", "receipt counts");
        const issue = $("#sync-issues tbody tr");
        check(issue && issue.textContent.includes("接種記録") && issue.textContent.includes("競合")
          && issue.textContent.includes("同じIDで内容の異なる記録"), "item issue with its reason");
        const log = document.querySelectorAll("#sync-log tbody tr");
        check(log.length === 5 && log[0].textContent.includes("接続確認"), "log newest first");
        check(text("#sync-cert-fingerprint") === HUB.cert_fingerprint, "pinned fingerprint shown");
        // Keyboard: the sync button is an enabled button in the tab order.
        const btn = $("#sync-now");
        check(btn.tagName === "BUTTON" && !btn.disabled && btn.tabIndex >= 0, "sync button focusable");
        btn.focus();
        check(document.activeElement === btn, "sync button takes the focus");
        check(!$("#sync-result") && !$("#sync-progress"), "no run yet");
      }],
      ["sync-progress", async () => {
        await click("sync-now");
        await waitFor(() => {
          const bar = $("#sync-progress");
          return bar && bar.value > 0 && bar.value < bar.max;
        }, "progress bar mid-way");
        check(/^\d+ \/ 48 件 受領確認済み$/.test(text("#sync-progress-text")), "n / N 件 受領確認済み: " + text("#sync-progress-text"));
        check(!$("#sync-result") && !document.body.textContent.includes("すべて受領確認"), "not done before the receipts");
        check(listening("sync-progress") === 1 && calledWith("plugin:event|listen", "sync-progress"),
          "listening through plugin:event|listen");
      }],
      ["sync-done", async () => {
        await waitFor(() => $("#sync-result"), "sync result");
        check($("#sync-result").dataset.complete === "true", "complete");
        check(text("#sync-result").includes("すべて受領確認されました（48 件）"), "done only after the report");
        check(!$("#sync-progress"), "the bar is gone");
        check(listening("sync-progress") === 0 && calledWith("plugin:event|unlisten", "sync-progress"),
          "stopped listening");
        await waitFor(() => text("#sync-pending-total") === "0 件", "status read again");
        check(text("#sync-receipt-id").startsWith("r-0192f0c4-6004"), "the newest receipt");
        check(document.querySelectorAll("#sync-log tbody tr")[0].textContent.includes("完了"), "log read again");
        check(syncCalls("sync_push").length === 1, "one push");
      }],
      ["sync-export", async () => {
        await click("sync-log-export");
        await waitFor(() => window.__downloads.length === 1, "a download");
        const d = window.__downloads[0];
        check(d.name === "sesshu-sync-log-20261123.csv", "file name from the backend");
        check(d.text.startsWith("\uFEFF日時,種類,内容\r\n") && d.text.includes(",finished,"), "CSV with BOM");
        await waitFor(() => $("#sync-log-exported"), "told where it went");
        check(syncCalls("sync_log_export").length === 1, "export called once");
      }],
    ],
    // phase=ready&sync=cut: the run is cut after two receipts; nothing says done.
    "sync-failure": [
      ["sync-failure-open", async () => { await openSync(); }],
      ["sync-failure", async () => {
        await click("sync-now");
        await waitFor(() => $("#sync-result"), "sync result");
        check($("#sync-result").dataset.complete === "false", "not complete");
        check(text("#sync-result-headline") === "同期が途中で切れました。未確認の 24 件は次回送ります", "the failure's message");
        check(text("#sync-result-code") === "SYNC_CUT", "the failure's code");
        check(text("#sync-result-detail") === "受領確認 24 / 48 件。未確認の 24 件は次回送ります。", "what is left");
        check(!document.body.textContent.includes("すべて受領確認"), "never says done");
        await waitFor(() => text("#sync-pending-total") === "24 件", "still pending after the status is read again");
        check(!$("#sync-progress"), "the bar is gone");
        check(!$("#sync-last-failure"), "the failure is told once, by the run");
      }],
      ["sync-failure-reopen", async () => {
        await click("nav-home");
        await onPage("ホーム");
        await click("nav-sync");
        await onPage("同期");
        await waitFor(() => $("#sync-last-failure") && text("#sync-last-failure").includes("SYNC_CUT"), "the last failure in the status");
        check(text("#sync-pending-total") === "24 件" && !$("#sync-result"), "still pending, no run shown");
        check(!document.body.textContent.includes("すべて受領確認"), "never says done");
      }],
    ],
    // phase=ready&sync=unreachable: the hub does not answer; the push fails at once.
    "sync-unreachable": [
      ["sync-unreachable", async () => {
        await openSync();
        check(text("#sync-connectivity").includes("接続できません") && $("#sync-connectivity").dataset.reachable === "false", "unreachable");
        await click("sync-now");
        await waitFor(() => $("#sync-result"), "sync result");
        check($("#sync-result").dataset.complete === "false", "not complete");
        check(text("#sync-result-headline") === "集約サーバに接続できません" && text("#sync-result-code") === "HUB_UNREACHABLE", "unreachable told");
        check(text("#sync-result-detail").includes("未確認の 48 件"), "all still pending");
        check(text("#sync-pending-total") === "48 件", "nothing acknowledged");
      }],
    ],
    // phase=ready&sync=unenrolled: enrolment, a bad address refused beside the field first.
    "sync-enrol": [
      ["enrol-open", async () => {
        await openSync();
        await waitFor(() => $("#sync-enrol-heading"), "enrolment form");
        await waitFor(() => document.activeElement && document.activeElement.id === "sync-hub-url", "the address field has the focus");
        check(!$("#sync-now"), "no sync before enrolment");
        check(text("#sync-connectivity").includes("まだ確認していません"), "not probed");
        check(text("#sync-hub") === "未登録", "no hub");
      }],
      ["enrol-error", async () => {
        await click("sync-enrol-submit");
        await waitFor(() => $("#sync-hub-url-error") && $("#sync-code-error"), "both fields refused");
        check(text("#sync-hub-url-error").includes("集約サーバのアドレスを入力してください"), "empty address: " + text("#sync-hub-url-error"));
        await formError("INVALID_INPUT");
        await type("sync-hub-url", "http://hub.chiyoda.lg.jp:8443");
        await type("sync-code", "k7qf-3mza-w9xd");
        await click("sync-enrol-submit");
        await waitFor(() => text("#sync-hub-url-error").includes("https:// で始まるアドレスを入力してください"), "not https refused");
        check(!$("#sync-code-error"), "the code is fine");
        check(document.activeElement && document.activeElement.id === "sync-hub-url", "focus on the bad field");
        check(syncCalls("sync_enrol").length === 0, "nothing sent for a bad address");
      }],
      ["enrol-done", async () => {
        await type("sync-hub-url", " https://hub.chiyoda.lg.jp:8443 ");
        await click("sync-enrol-submit");
        await waitFor(() => $("#sync-enrolled"), "enrolled");
        check(text("#sync-cert-fingerprint") === HUB.cert_fingerprint, "TLS fingerprint shown");
        check(text("#sync-hub-key-fingerprint") === HUB.hub_key_fingerprint, "hub key fingerprint shown");
        check(text("#sync-terminal-key-fingerprint") === HUB.terminal_key_fingerprint, "terminal key fingerprint shown");
        const req = syncCalls("sync_enrol")[0].args.req;
        check(req.hub_url === "https://hub.chiyoda.lg.jp:8443" && req.code === "k7qf-3mza-w9xd", "request as typed, address trimmed");
        await waitFor(() => $("#sync-now"), "sync now offered once enrolled");
        await waitFor(() => text("#sync-hub") === "https://hub.chiyoda.lg.jp:8443", "status read again");
        check(!$("#sync-enrol-heading"), "the form is gone");
      }],
    ],
  };
  Object.assign(SCENARIOS, SYNC_SCENARIOS);
  // phase=ready&drive=media: the 媒体 section of the sync screen.
  // phase=ready (signed out): 初回サインイン of a roster account with the one-time code.
  SCENARIOS["first-sign-in"] = [
    ["first-open", async () => {
      await onPage("ログイン");
      await click("login-first-open");
      await onPage("初回サインイン");
      await waitFor(() => document.activeElement && document.activeElement.id === "first-login-id", "the login id has the focus");
      // Esc goes back to the ordinary sign-in, and the path opens again.
      await key("first-code", "Escape");
      await onPage("ログイン");
      await click("login-first-open");
      await onPage("初回サインイン");
    }],
    ["first-errors", async () => {
      await type("first-password", "short");
      await type("first-password-confirm", "other");
      await click("first-submit");
      await formError("INVALID_INPUT");
      for (const id of ["first-login-id-error", "first-code-error", "first-password-error", "first-password-confirm-error"]) {
        check($("#" + id), id);
      }
      check(document.activeElement && document.activeElement.id === "first-login-id", "focus on the first bad field");
      check(!window.__calls.some((c) => c.cmd === "first_sign_in"), "nothing sent for bad fields");
    }],
    ["first-wrong-code", async () => {
      await type("first-login-id", "newkeyer");
      await type("first-code", "WXYZ-0000");
      await type("first-password", "New-Password-2026");
      await type("first-password-confirm", "New-Password-2026");
      await click("first-submit");
      await formError("INVALID_CREDENTIALS");
      check(text("#form-error").includes("ワンタイムコード"), "the backend's message: " + text("#form-error"));
      check(!$("#first-login-id-error") && !$("#first-password-confirm-error"), "field errors cleared");
      check($("#first-password").value === "" && $("#first-password-confirm").value === "", "passwords cleared");
      check($("#first-login-id").value === "newkeyer", "login id kept");
      await waitFor(() => document.activeElement && document.activeElement.id === "first-code", "focus on the code");
    }],
    ["first-done", async () => {
      await type("first-code", "abcd-2345");
      await type("first-password", "New-Password-2026");
      await type("first-password-confirm", "New-Password-2026");
      await click("first-submit");
      await onPage("ホーム");
      check(text("#session-user") === "本部 登録", "signed in as the roster account");
      const req = window.__calls.filter((c) => c.cmd === "first_sign_in").pop().args.req;
      check(req.login_id === "newkeyer" && req.code === "abcd-2345" && req.new_password === "New-Password-2026", "request as typed");
      check(s.passwords.newkeyer === "New-Password-2026", "password set");
    }],
  ];
  SCENARIOS.media = [
    ["media-open", async () => {
      await openSync();
      await waitFor(() => $("#media-heading"), "media section");
      await waitFor(() => $("#media-ledger-empty"), "empty media ledger");
    }],
    ["media-refused", async () => {
      await click("media-export");
      await waitFor(() => $("#media-export-path-error"), "a path is required");
      check(syncCalls("media_export").length === 0, "nothing sent without a path");
      await type("media-export-path", "C:\\Users\\sync01\\export.sesshu");
      await click("media-export");
      await waitFor(() => $("#media-export-form .form-error, #media-export-form [role=alert]"), "unregistered medium refused");
      check(document.querySelector("#media-export-form").textContent.includes("登録済みの媒体ではありません"), "told why");
      check(!$("#media-exported"), "nothing written");
    }],
    ["media-export", async () => {
      await type("media-export-path", "E:\\sesshu\\2026-11-23.sesshu");
      await click("media-export");
      await waitFor(() => $("#media-exported"), "exported");
      check(text("#media-exported").includes("48 件を媒体 USB-01 に書き出しました"), "what was written: " + text("#media-exported"));
      await waitFor(() => document.querySelectorAll("#media-ledger tbody tr").length === 1, "ledger line");
      check(text("#sync-pending-total") === "48 件", "writing marks nothing sent");
    }],
    ["media-receipt", async () => {
      await type("media-receipt-path", "E:\\sesshu\\2026-11-23.sesshu.receipt");
      await click("media-receipt");
      await waitFor(() => $("#media-received"), "receipt imported");
      check(text("#media-received").includes("48 件を受領確認しました"), "acknowledged: " + text("#media-received"));
      await waitFor(() => text("#sync-pending-total") === "0 件", "nothing pending after the receipt");
    }],
    ["media-erased", async () => {
      await type("media-erased-id", "USB-01");
      await click("media-erased");
      await waitFor(() => $("#media-erased-done"), "erasure recorded");
      await waitFor(() => document.querySelectorAll("#media-ledger tbody tr").length === 3, "three ledger lines");
      const dirs = Array.from(document.querySelectorAll("#media-ledger tbody tr")).map((r) => r.dataset.direction);
      check(dirs.join(",") === "erased,in,out", "newest first: " + dirs.join(","));
    }],
  ];
  // ==== end of sync flows ===================================================================

  // ==== data minimisation flows (端末内の個人データ) ============================================
  const MINIMISE_SCENARIOS = {
    // phase=ready&offline=blocked: 16 days without a receipt. The home screen says keying is
    // stopped; an administrator reads what the terminal holds and allows today's keying with
    // a reason; a keyer has no such page.
    "terminal-data": [
      ["terminal-data-home", async () => {
        await signIn("admin01", "Correct-Horse-9");
        await waitFor(() => $("#keying-block"), "the home screen's block notice");
        check($("#keying-block").dataset.state === "blocked", "blocked");
        check(text("#keying-block").includes("同期を依頼"), "what to do");
      }],
      ["terminal-data", async () => {
        await click("nav-terminal-data");
        await onPage("端末内の個人データ");
        await waitFor(() => $("#data-residents"), "counts loaded");
        check(text("#data-residents") === "1,000,000 人", "residents");
        check(text("#data-records") === "168 件", "records");
        check($("#data-counts tr[data-state=correction_pending]") !== null, "per state");
        check(text("#data-offline-days") === "16 日（上限 14 日）", "offline age against the limit");
        check($("#data-block").dataset.state === "blocked", "block state");
        check(text("#data-next-purge") === "—", "nothing acknowledged waits for purge");
        check(text("#data-grace") === "受領確認から 7 日", "grace period");
      }],
      ["terminal-data-override", async () => {
        await click("override-submit");
        await formError("INVALID_INPUT");
        await type("override-reason", "回線障害のため本日のみ継続（情報政策課に連絡済）");
        await click("override-submit");
        await waitFor(() => $("#data-block") && $("#data-block").dataset.state === "overridden", "overridden");
        check(text("#data-block-detail").includes("回線障害"), "the reason is shown");
        check(!$("#override-submit"), "no second override while one is in force");
        check(s.audit[0].action_code === A.OfflineBlockOverridden.code, "audited");
      }],
      ["terminal-data-settings", async () => {
        await click("nav-settings");
        await onPage("設定");
        await waitFor(() => $("#settings-purge-grace-days") && $("#settings-purge-grace-days").value === "7", "grace loaded");
        check($("#settings-max-offline-days").value === "14", "offline limit loaded");
        await type("settings-max-offline-days", "61");
        await click("settings-submit");
        await waitFor(() => text("#settings-max-offline-days-error").includes("1〜60日"), "bounded by the domain rule");
        await type("settings-max-offline-days", "10");
        await click("settings-submit");
        await waitFor(() => $("#settings-saved"), "saved");
        check(minimise.retention.max_offline_days === 10 && minimise.retention.purge_grace_days === 7, "sent to the backend");
      }],
      ["terminal-data-keyer", async () => {
        await click("nav-logout");
        await signIn("keyer01", "Keyer-Pass-01");
        await waitFor(() => $("#keying-block") && $("#keying-block").dataset.state === "overridden", "keyer sees the override");
        check(!document.getElementById("nav-terminal-data"), "not in a keyer's menu");
      }],
    ],
  };
  Object.assign(SCENARIOS, MINIMISE_SCENARIOS);

  // ==== hub findings flows (本部照合, issue 12 §5) ============================================
  Object.assign(SCENARIOS, {
    // phase=ready: the verifier sees the hub's finding on a record and closes the correction
    // task with a note (keyboard: the note has the focus, Enter closes); the sync screen counts.
    "hub-findings": [
      ["findings-record", async () => {
        await signIn("verify02", "Verify-Pass-02");
        await click("nav-verification");
        await onPage("確認");
        await click("verify-open-203");
        await waitFor(() => $("#record-view") && $("#record-view").dataset.formId === "203", "record 203");
        check(!$("#record-hub-findings"), "no box without findings");
        await click("record-back");
        await click("verify-open-202");
        await waitFor(() => $("#record-hub-findings"), "the hub's findings on the record");
        check($("#record-hub-findings").dataset.level === "warning", "level warning");
        check(text("#record-hub-findings").includes("注意") && text("#record-hub-findings").includes("FLU 2026-10-30"), "label, reason and the earlier dose");
      }],
      ["findings-task-refusals", async () => {
        await click("nav-changes");
        await onPage("修正・削除の確認");
        await waitFor(() => $("#correction-task-list li[data-task-id='1']"), "the open task listed");
        check(text("#correction-tasks-heading").includes("1 件"), "count in the heading");
        check(text("#task-1").includes("違反") && text("#task-1").includes("27日"), "the hub's reason and level");
        check(text("#task-1").includes("207"), "the form reference");
        $("#task-note-1").focus();
        await click("task-close-1");
        await formError("INVALID_INPUT");
        check(!s.hub.tasks[0].closed_at, "not closed without a note");
      }],
      ["findings-task-close", async () => {
        await type("task-note-1", "医療機関に確認し、接種日の修正を申請済み");
        // Enter in the note field submits the task's form.
        $("#task-note-1").form.requestSubmit();
        await waitFor(() => $("#tasks-done") && text("#tasks-done").includes("完了にしました"), "closed");
        await waitFor(() => $("#tasks-empty"), "no open task left");
        const sent = window.__calls.filter((c) => c.cmd === "correction_task_close").pop().args.req;
        check(sent.task_id === 1 && sent.note === "医療機関に確認し、接種日の修正を申請済み", "the note sent");
        check(s.audit[0].action_code === A.CorrectionTaskClosed.code, "audited 7400");
      }],
      ["findings-sync", async () => {
        await click("nav-logout");
        await openSync();
        await waitFor(() => $("#sync-findings"), "findings on the sync screen");
        check(text("#sync-findings-violations") === "1 件" && text("#sync-findings-warnings") === "1 件", "counts");
        check(text("#sync-findings-open-tasks") === "0 件", "the closed task no longer counts");
        check(document.querySelectorAll("#sync-findings tr[data-level]").length === 2, "the newest items listed");
      }],
    ],
  });
  // ==== end of hub findings flows ============================================================
  // ==== end of data minimisation flows =======================================================

  const scenario = SCENARIOS[q.get("drive")];
  if (scenario) {
    const stop = q.get("stop");
    window.addEventListener("load", async () => {
      const root = document.documentElement;
      let step = "";
      try {
        for (const [name, run] of scenario) {
          step = name;
          await run();
          if (name === stop) break;
        }
        if (q.get("top")) { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }
        await sleep(100);
        root.dataset.flow = "pass";
      } catch (e) {
        root.dataset.flow = "fail at " + step + ": " + (e && e.message ? e.message : String(e));
      }
      root.dataset.calls = calls.map((c) => c.cmd).join(",");
    });
  }
})();
