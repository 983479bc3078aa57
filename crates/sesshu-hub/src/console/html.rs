//! The console's pages: server-rendered HTML with no script at all (the CSP forbids it), so
//! every screen works from the keyboard with the browser's own focus order. Every text the
//! console shows is here.

use std::fmt::Write as _;

/// The product name in every title.
pub const CONSOLE_NAME: &str = "集約サーバ 管理画面";

/// Escapes text for HTML content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The sections of the navigation, in order (Alt+1…5 jump to them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Overview,
    Media,
    Terminals,
    Exports,
    Audit,
}

impl Section {
    pub const ALL: [Section; 5] = [
        Section::Overview,
        Section::Media,
        Section::Terminals,
        Section::Exports,
        Section::Audit,
    ];

    pub fn path(self) -> &'static str {
        match self {
            Section::Overview => "/it/",
            Section::Media => "/it/media",
            Section::Terminals => "/it/terminals",
            Section::Exports => "/it/exports",
            Section::Audit => "/it/audit",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Section::Overview => "概要",
            Section::Media => "媒体",
            Section::Terminals => "端末",
            Section::Exports => "出力",
            Section::Audit => "操作ログ",
        }
    }
}

/// A notice above a page's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Done(String),
    Error { code: &'static str, message: String },
}

/// Who is signed in, for the header and the forms' CSRF field.
pub struct Viewer<'a> {
    pub operator: &'a str,
    pub csrf: &'a str,
}

impl Viewer<'_> {
    /// The hidden field every POST form carries.
    pub fn csrf_field(&self) -> String {
        format!(
            r#"<input type="hidden" name="csrf" value="{}">"#,
            esc(self.csrf)
        )
    }
}

fn head(title: &str) -> String {
    format!(
        "<!doctype html><html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{} — {CONSOLE_NAME}</title><link rel=\"stylesheet\" href=\"/it/style.css\"></head>",
        esc(title)
    )
}

fn notice_html(notice: Option<&Notice>) -> String {
    match notice {
        None => String::new(),
        Some(Notice::Done(m)) => format!(r#"<p class="notice done" role="status">{}</p>"#, esc(m)),
        Some(Notice::Error { code, message }) => format!(
            r#"<p class="notice error" role="alert" data-code="{code}">{}<span class="code">（{code}）</span></p>"#,
            esc(message)
        ),
    }
}

/// A whole page for a signed-in operator.
pub fn page(
    viewer: &Viewer<'_>,
    current: Section,
    title: &str,
    notice: Option<&Notice>,
    body: &str,
) -> String {
    let mut nav = String::new();
    for (i, s) in Section::ALL.iter().enumerate() {
        let current_attr = if *s == current {
            r#" aria-current="page""#
        } else {
            ""
        };
        let _ = write!(
            nav,
            r#"<a href="{}" accesskey="{}"{current_attr}>{}<kbd>{}</kbd></a>"#,
            s.path(),
            i + 1,
            s.label(),
            i + 1
        );
    }
    format!(
        "{}<body><header class=\"bar\"><span class=\"brand\">{CONSOLE_NAME}</span>\
         <form class=\"who\" method=\"post\" action=\"/it/logout\">{}<span>操作者: {}</span>\
         <button type=\"submit\" class=\"quiet\">サインアウト</button></form></header>\
         <nav aria-label=\"画面\">{nav}</nav><main><h1>{}</h1>{}{body}</main></body></html>",
        head(title),
        viewer.csrf_field(),
        esc(viewer.operator),
        esc(title),
        notice_html(notice),
    )
}

/// The sign-in page.
pub fn sign_in(notice: Option<&Notice>, name: &str) -> String {
    format!(
        "{}<body class=\"sign-in\"><main><h1>{CONSOLE_NAME}</h1>\
         <p>集約サーバ（ハブ）のシステム担当の画面です。操作はすべて集約サーバの操作ログに記録されます。</p>{}\
         <form method=\"post\" action=\"/it/login\">\
         <label for=\"name\">操作者名</label>\
         <input id=\"name\" name=\"name\" autocomplete=\"username\" required autofocus value=\"{}\">\
         <label for=\"password\">パスワード</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">サインイン</button></form>\
         <p class=\"hint\">操作者は <code>sesshu-hub console operator add</code> で登録します。</p>\
         </main></body></html>",
        head("サインイン"),
        notice_html(notice),
        esc(name),
    )
}

/// A table from a header and rows of already escaped cells.
pub fn table(caption: &str, header: &[&str], rows: &[Vec<String>], empty: &str) -> String {
    if rows.is_empty() {
        return format!(
            "<h2>{}</h2><p class=\"empty\">{}</p>",
            esc(caption),
            esc(empty)
        );
    }
    let mut s = format!("<table><caption>{}</caption><thead><tr>", esc(caption));
    for h in header {
        let _ = write!(s, "<th scope=\"col\">{}</th>", esc(h));
    }
    s.push_str("</tr></thead><tbody>");
    for r in rows {
        s.push_str("<tr>");
        for c in r {
            let _ = write!(s, "<td>{c}</td>");
        }
        s.push_str("</tr>");
    }
    s.push_str("</tbody></table>");
    s
}

/// A definition list of (term, already escaped value).
pub fn facts(items: &[(&str, String)]) -> String {
    let mut s = String::from("<dl class=\"facts\">");
    for (k, v) in items {
        let _ = write!(s, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    }
    s.push_str("</dl>");
    s
}

/// The console's style sheet (served as `/it/style.css`; the CSP allows no inline style).
/// デジタル庁デザインシステム foundations: Noto Sans JP, 16 px body, line height 1.7, the
/// blue 1000 key colour, 4.5:1 contrast, a visible focus ring.
pub const STYLE: &str = r#"
:root { --key: #0031d8; --ink: #1a1a1c; --muted: #4d4d4d; --line: #cccccc; --bg: #f8f8fb;
        --ok: #197a4b; --err: #ce0000; --focus: #d18d0f; }
* { box-sizing: border-box; }
body { margin: 0; font-family: "Noto Sans JP", "Hiragino Sans", "Yu Gothic UI", sans-serif;
       font-size: 16px; line-height: 1.7; color: var(--ink); background: var(--bg); }
.bar { display: flex; justify-content: space-between; align-items: center; padding: 8px 24px;
       background: var(--key); color: #fff; }
.brand { font-weight: 700; }
.who { display: flex; gap: 12px; align-items: center; margin: 0; }
nav { display: flex; gap: 4px; padding: 0 24px; background: #fff; border-bottom: 1px solid var(--line); }
nav a { padding: 10px 16px; color: var(--ink); text-decoration: none; border-bottom: 4px solid transparent; }
nav a[aria-current="page"] { border-bottom-color: var(--key); font-weight: 700; color: var(--key); }
nav kbd { margin-left: 6px; font-size: 12px; color: var(--muted); }
main { max-width: 1120px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 28px; margin: 8px 0 16px; }
h2 { font-size: 20px; margin: 28px 0 8px; }
table { border-collapse: collapse; width: 100%; background: #fff; margin: 8px 0 16px; }
caption { text-align: left; font-weight: 700; font-size: 20px; padding: 16px 0 8px; }
th, td { border: 1px solid var(--line); padding: 6px 10px; text-align: left; vertical-align: top; }
th { background: #eef0f8; font-weight: 700; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
code, .mono { font-family: "Noto Sans Mono", ui-monospace, monospace; font-size: 14px; word-break: break-all; }
form.card, .card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px; margin: 12px 0; }
label { display: block; font-weight: 700; margin: 8px 0 4px; }
input, select { font: inherit; padding: 8px 10px; border: 1px solid #767676; border-radius: 6px; min-width: 16em; background: #fff; }
input[type="checkbox"] { min-width: 0; width: 20px; height: 20px; vertical-align: middle; }
label.check { display: inline-flex; gap: 8px; align-items: center; font-weight: 400; }
button { font: inherit; font-weight: 700; padding: 8px 20px; border-radius: 8px; border: 2px solid var(--key);
         background: var(--key); color: #fff; cursor: pointer; margin-top: 12px; }
button.quiet { background: transparent; color: #fff; border-color: #fff; padding: 2px 12px; margin: 0; font-weight: 400; }
td button { margin: 0; padding: 2px 12px; }
button.danger { background: var(--err); border-color: var(--err); }
:focus-visible { outline: 4px solid var(--focus); outline-offset: 2px; }
.notice { padding: 12px 16px; border-radius: 8px; border-left: 8px solid; background: #fff; }
.notice.done { border-color: var(--ok); }
.notice.error { border-color: var(--err); color: var(--err); }
.notice .code { color: var(--muted); font-size: 14px; margin-left: 8px; }
.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 24px; background: #fff;
         border: 1px solid var(--line); border-radius: 8px; padding: 16px; }
.facts dt { font-weight: 700; } .facts dd { margin: 0; }
.big { font-size: 32px; font-weight: 700; letter-spacing: 0.08em; font-family: "Noto Sans Mono", ui-monospace, monospace; }
.empty, .hint { color: var(--muted); }
.ok { color: var(--ok); font-weight: 700; } .bad { color: var(--err); font-weight: 700; }
body.sign-in main { max-width: 480px; margin-top: 64px; background: #fff; border: 1px solid var(--line); border-radius: 8px; }
body.sign-in input { width: 100%; }
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_attributes() {
        assert_eq!(
            esc(r#"<a href="x">'&'</a>"#),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(esc("接種"), "接種");
    }

    #[test]
    fn pages_escape_what_they_are_given() {
        let v = Viewer {
            operator: "<b>",
            csrf: "\"x",
        };
        let p = page(
            &v,
            Section::Media,
            "<t>",
            Some(&Notice::Done("<n>".into())),
            "",
        );
        assert!(!p.contains("<b>") && !p.contains("<t>") && !p.contains("<n>"));
        assert!(p.contains(r#"href="/it/media" accesskey="2" aria-current="page""#));
        assert!(!sign_in(None, "\"><script>").contains("<script>"));
    }
}
