// "Add host": name and labels in, the host's new token and its one-line install command out
// (POST /api/v1/install/hosts; an admin's viewer session, see docs/install.md). The token is shown
// this once, so the command comes with a Copy button.

import { h, setText } from "./dom.js";

/** "env=prod, team=web" → {env: "prod", team: "web"}; throws naming the first bad entry. */
export function parseLabels(text) {
  const labels = {};
  for (const part of String(text || "").split(",")) {
    const entry = part.trim();
    if (!entry) continue;
    const at = entry.indexOf("=");
    if (at <= 0) throw new Error(`"${entry}" is not KEY=VALUE`);
    labels[entry.slice(0, at).trim()] = entry.slice(at + 1).trim();
  }
  return labels;
}

async function addHost(name, labels) {
  const response = await fetch("/api/v1/install/hosts", {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json" },
    body: JSON.stringify({ name, labels }),
  });
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error(body?.error?.message || `the hub answered ${response.status}`);
  return body;
}

/** The topbar button and its dialog. */
export function addHostButton() {
  const name = h("input", { name: "name", required: true, maxlength: "255", placeholder: "web-1", autocomplete: "off" });
  const labels = h("input", { name: "labels", placeholder: "env=prod, team=web", autocomplete: "off" });
  const error = h("p", { class: "add-host-error", role: "alert", hidden: true });
  const command = h("code", { class: "add-host-command" });
  const copy = h("button", { type: "button", class: "add-host-copy" }, "Copy");
  const result = h("div", { class: "add-host-result", hidden: true },
    h("p", {}, "Run this on the host as root (the token is shown once):"), command, copy);
  const submit = h("button", { type: "submit" }, "Create token");
  const close = h("button", { type: "button", class: "add-host-close" }, "Close");
  const form = h("form", { class: "add-host-form", method: "dialog" },
    h("h2", {}, "Add host"),
    h("label", {}, "Name ", name),
    h("label", {}, "Labels ", labels),
    error, h("div", { class: "add-host-actions" }, submit, close), result);
  const dialog = h("dialog", { class: "add-host" }, form);
  const button = h("button", { type: "button", class: "add-host-open" }, "Add host");

  function showError(message) {
    setText(error, message);
    error.hidden = !message;
  }
  button.addEventListener("click", () => {
    showError("");
    result.hidden = true;
    form.reset();
    dialog.showModal();
    name.focus();
  });
  close.addEventListener("click", () => dialog.close());
  copy.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(command.textContent);
      setText(copy, "Copied");
    } catch {
      // No clipboard (plain http on another name): the command stays selected for Ctrl+C.
      getSelection().selectAllChildren(command);
      setText(copy, "Select and copy");
    }
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("");
    try {
      const created = await addHost(name.value.trim(), parseLabels(labels.value));
      setText(command, created.command);
      setText(copy, "Copy");
      result.hidden = false;
    } catch (exc) {
      showError(exc.message);
    }
  });
  return h("span", { class: "add-host-slot" }, button, dialog);
}
