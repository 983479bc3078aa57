// Starts the Yew app. A file, not an inline script, so the CSP needs no inline allowance.
import init from "./sesshu_ui.js";
init();
