// A tiny element builder. Text always goes in through textContent, never innerHTML, so host
// names and labels with markup in them show as text.

/** h("a", {class: "x", href: "#/", dataset: {host}}, "text", child, ...) */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.append(child);
    else el.append(document.createTextNode(String(child)));
  }
}

/** Set text only when it changed: cheaper than touching the DOM every tick. */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

export function hostHref(name, params = {}) {
  const query = new URLSearchParams(params).toString();
  return `#/host/${encodeURIComponent(name)}${query ? `?${query}` : ""}`;
}
