//! The UI reaches the shell only through Tauri 2's internal IPC entry
//! (`window.__TAURI_INTERNALS__`), never through the `window.__TAURI__` API object that
//! exists only with `withGlobalTauri` (kept off in src-tauri/tauri.conf.json). A stray use
//! would work in no real window and fail only there, so it is refused here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test code: a panic is a failing test

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read ui source dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("rs" | "js" | "html")
        ) {
            out.push(path);
        }
    }
}

#[test]
fn the_ui_uses_no_global_tauri_object() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    sources(&root.join("src"), &mut files);
    files.push(root.join("main.js"));
    files.push(root.join("index.html"));
    assert!(files.len() > 10, "found the UI sources: {files:?}");
    for file in &files {
        let text = std::fs::read_to_string(file).expect("read source");
        // `"__TAURI__"` as a wasm-bindgen namespace, or `__TAURI__.` in JavaScript.
        for needle in ["\"__TAURI__\"", "__TAURI__."] {
            assert!(
                !text.contains(needle),
                "{} uses the global Tauri API ({needle})",
                file.display()
            );
        }
    }
}

#[test]
fn the_ipc_bindings_are_tauris_internal_entry_points() {
    let api = include_str!("../src/api.rs");
    for binding in [
        r#"js_namespace = ["window", "__TAURI_INTERNALS__"], js_name = invoke"#,
        r#"js_namespace = ["window", "__TAURI_INTERNALS__"], js_name = transformCallback"#,
        r#"js_namespace = ["window", "__TAURI_EVENT_PLUGIN_INTERNALS__"], js_name = unregisterListener"#,
        r#""plugin:event|listen""#,
        r#""plugin:event|unlisten""#,
    ] {
        assert!(api.contains(binding), "ui/src/api.rs lacks {binding}");
    }
}

#[test]
fn the_mock_injects_what_the_shell_injects() {
    let mock = include_str!("mock/tauri-mock.js");
    assert!(mock.contains(r#"Object.defineProperty(window, "__TAURI_INTERNALS__""#));
    assert!(mock.contains(r#"Object.defineProperty(window, "__TAURI_EVENT_PLUGIN_INTERNALS__""#));
    assert!(
        !mock.contains("window.__TAURI__ ="),
        "the mock must not offer the global API"
    );
}
