// A stand-in for Tauri's `window.__TAURI__.core.invoke`, for looking at the UI in a plain
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
    passwords: { admin01: "Correct-Horse-9" },
    users: [
      { login_id: "admin01", display_name: "管理 太郎", roles: ["administrator"], active: true,
        disabled_at: null, disabled_from: null, locked_until: null, created_at: now },
      { login_id: "keyer01", display_name: "入力 花子", roles: ["keyer"], active: true,
        disabled_at: null, disabled_from: "2027-04-01", locked_until: null, created_at: now },
      { login_id: "verify01", display_name: "確認 次郎", roles: ["verifier", "sync_operator"], active: false,
        disabled_at: now, disabled_from: null, locked_until: null, created_at: now },
    ],
    audit: [],
  };
  const labels = { 100: "初期設定", 110: "ログイン", 111: "ログイン失敗", 112: "アカウントロック",
    120: "画面ロック", 121: "ロック解除", 130: "ログアウト", 200: "利用者の追加", 201: "ロール変更" };
  let seq = 0;
  function audit(code, actor, target, outcome) {
    seq += 1;
    s.audit.unshift({ seq, at: new Date(Date.UTC(2026, 10, 23, 1, 15, seq)).toISOString(),
      terminal_id: terminal.terminal_id, actor, action_code: code, action_label: labels[code] || "操作",
      target, outcome });
  }
  for (let i = 0; i < 5; i++) audit(110 + (i % 2), "admin01", "admin01", i % 2 ? "refused" : "success");
  if (q.get("session")) {
    s.session = { login_id: "admin01", display_name: "管理 太郎",
      roles: (q.get("roles") || "administrator").split(","), state: q.get("session"),
      idle_lock_minutes: 10, signed_in_at: now };
  }

  function fail(code, message) { throw { code, message }; }
  function needSession() {
    if (!s.session) fail("NOT_LOGGED_IN", "ログインしてください");
    if (s.session.state === "locked") fail("SESSION_LOCKED", "画面がロックされています");
  }
  function phase() {
    if (s.phase === "fatal") return { kind: "fatal", code: "KEYSTORE_UNAVAILABLE",
      message: "OSの鍵保管庫に接続できません。台帳は開いていません。" };
    return { kind: s.phase };
  }

  const handlers = {
    app_status: () => ({ phase: phase(), terminal: s.terminal, session: s.session, demo: s.demo }),
    setup: ({ req }) => {
      if (s.phase !== "needs_setup") fail("ALREADY_SET_UP", "この端末は設定済みです");
      s.phase = "ready";
      s.terminal = Object.assign({}, terminal, { municipality_name: req.municipality_name,
        municipality_code: req.municipality_code, terminal_name: req.terminal_name });
      s.passwords[req.admin_login_id] = req.admin_password;
      audit(100, req.admin_login_id, null, "success");
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
        audit(111, req.login_id, req.login_id, "refused");
        fail("INVALID_CREDENTIALS", "ログインIDまたはパスワードが違います");
      }
      audit(110, req.login_id, req.login_id, "success");
      s.session = { login_id: req.login_id, display_name: "管理 太郎", roles: ["administrator"],
        state: "active", idle_lock_minutes: s.policy.idle_lock_minutes, signed_in_at: now };
      return s.session;
    },
    logout: () => { if (s.session) audit(130, s.session.login_id, null, "success"); s.session = null; return null; },
    lock_session: () => { needSession(); s.session.state = "locked"; audit(120, s.session.login_id, null, "success"); return null; },
    unlock_session: ({ req }) => {
      if (!s.session) fail("NOT_LOGGED_IN", "ログインしてください");
      if (s.passwords[s.session.login_id] !== req.password) fail("INVALID_CREDENTIALS", "パスワードが違います");
      s.session.state = "active"; audit(121, s.session.login_id, null, "success");
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
      s.users.push(u); s.passwords[req.login_id] = req.initial_password; audit(200, s.session.login_id, req.login_id, "success");
      return u;
    },
    user_set_roles: ({ req }) => {
      needSession();
      const u = s.users.find((x) => x.login_id === req.login_id) || fail("USER_NOT_FOUND", "利用者が見つかりません");
      u.roles = req.roles; audit(201, s.session.login_id, req.login_id, "success"); return u;
    },
    user_disable: ({ req }) => {
      needSession();
      const u = s.users.find((x) => x.login_id === req.login_id) || fail("USER_NOT_FOUND", "利用者が見つかりません");
      if (req.login_id === s.session.login_id) fail("LAST_ADMINISTRATOR", "有効な管理者がいなくなるため停止できません");
      if (req.from) u.disabled_from = req.from; else { u.active = false; u.disabled_at = now; }
      return u;
    },
    user_enable: ({ req }) => {
      needSession();
      const u = s.users.find((x) => x.login_id === req.login_id) || fail("USER_NOT_FOUND", "利用者が見つかりません");
      u.active = true; u.disabled_at = null; u.disabled_from = null; return u;
    },
    settings_get: () => { needSession(); return { policy: s.policy, log_level: s.log_level, terminal: s.terminal }; },
    settings_update: ({ req }) => {
      needSession(); s.policy = req.policy; s.log_level = req.log_level;
      return { policy: s.policy, log_level: s.log_level, terminal: s.terminal };
    },
    audit_list: ({ req }) => {
      needSession();
      return s.audit.filter((e) => req.before_seq == null || e.seq < req.before_seq).slice(0, req.limit);
    },
    audit_verify: () => { needSession(); return { entries_checked: s.audit.length, first_broken_seq: null,
      head_hash: "9f2c4e7a1b3d5f60718293a4b5c6d7e8f9012345" }; },
  };

  window.__TAURI__ = {
    core: {
      invoke: async function (cmd, args) {
        calls.push({ cmd, args: JSON.parse(JSON.stringify(args === undefined ? null : args)) });
        const h = handlers[cmd];
        if (!h) throw "command " + cmd + " not found";
        // The contract: one argument named `req`, or none at all.
        const keys = args ? Object.keys(args) : [];
        if (keys.some((k) => k !== "req")) throw "invalid args for " + cmd + ": " + keys.join(",");
        return h(args || {});
      },
    },
  };

  // ---- scripted flows -------------------------------------------------------------------
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
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
    fatal: [["fatal", async () => {
      await onPage("起動できません");
      check($("#fatal-code").textContent === "KEYSTORE_UNAVAILABLE", "fatal code");
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
