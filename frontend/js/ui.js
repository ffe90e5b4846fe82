// Small DOM helpers shared by every screen.

import { get } from "./api.js";

// el("div", {class: "x", onclick: fn}, child, "text", ...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (key === "text") {
      node.textContent = value;
    } else if (key === "style") {
      // Through the CSSOM: the Content-Security-Policy (style-src 'self') refuses a style
      // attribute set with setAttribute, but not this.
      node.style.cssText = String(value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function announce(text) {
  const node = document.getElementById("announcer");
  if (!node) return;
  node.textContent = "";
  // A new text node after a tick makes screen readers read the same message again.
  setTimeout(() => { node.textContent = text; }, 30);
}

const timeFormat = new Intl.DateTimeFormat("nl-NL", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat("nl-NL", {
  day: "numeric", month: "short", hour: "2-digit", minute: "2-digit",
});
const numberFormat = new Intl.NumberFormat("nl-NL");
const euroFormat = new Intl.NumberFormat("nl-NL", { style: "currency", currency: "EUR" });

export function formatTime(value) {
  return value ? timeFormat.format(value instanceof Date ? value : new Date(value)) : "–";
}
export function formatDateTime(value) {
  return value ? dateTimeFormat.format(value instanceof Date ? value : new Date(value)) : "nooit";
}
export function formatNumber(value, digits = null) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  if (digits !== null) {
    return new Intl.NumberFormat("nl-NL", { minimumFractionDigits: digits, maximumFractionDigits: digits })
      .format(value);
  }
  return numberFormat.format(value);
}
export function formatEuro(value) {
  return value === null || value === undefined ? "–" : euroFormat.format(value);
}
export function formatPercent(value) {
  if (value === null || value === undefined) return "–";
  return `${formatNumber(value * 100, 0)}%`;
}

// Places held beyond what the occupancy feed leaves free, for a group whose free places follow
// the feed (it is over-booked: nothing is open). 0 otherwise.
export function overBookedBy(group) {
  if (!group.places_from_feed) return 0;
  return Math.max(0, group.held_places - Math.max(0, group.capacity - group.feed_present));
}

// "3 uur geleden", "12 minuten geleden"
export function ago(value) {
  if (!value) return "nooit gemeld";
  const seconds = Math.max(0, (Date.now() - new Date(value).getTime()) / 1000);
  if (seconds < 60) return "zojuist";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} ${minutes === 1 ? "minuut" : "minuten"} geleden`;
  const hours = Math.round(minutes / 60);
  if (hours < 48) return `${hours} uur geleden`;
  return `${Math.round(hours / 24)} dagen geleden`;
}

// A message area tied to an input or a form: role=alert so it is read out when it appears.
export function errorBox(id) {
  return el("p", { id, class: "error", role: "alert", hidden: true });
}
export function showError(box, message) {
  if (!box) return;
  if (message) {
    box.textContent = message;
    box.hidden = false;
  } else {
    box.textContent = "";
    box.hidden = true;
  }
}

export function field({ id, label, input, hint = null }) {
  const errorId = `${id}-fout`;
  const hintId = hint ? `${id}-hint` : null;
  input.id = id;
  input.setAttribute("aria-describedby", [hintId, errorId].filter(Boolean).join(" "));
  const error = el("p", { id: errorId, class: "field-error", "aria-live": "polite" });
  const wrapper = el("div", { class: "field" },
    el("label", { for: id }, label),
    hint ? el("p", { id: hintId, class: "hint" }, hint) : null,
    input, error);
  return { wrapper, input, error, setError(message) {
    error.textContent = message || "";
    input.setAttribute("aria-invalid", message ? "true" : "false");
  } };
}

let vocabularyPromise = null;
export function vocabulary() {
  if (!vocabularyPromise) {
    vocabularyPromise = get("/vocabulary").then((v) => ({
      ...v,
      careFormLabel: Object.fromEntries(v.care_forms.map((c) => [c.code, c.label])),
      needLabel: Object.fromEntries(v.need_tags.map((t) => [t.code, t.label])),
    })).catch((error) => {
      vocabularyPromise = null;
      throw error;
    });
  }
  return vocabularyPromise;
}

let municipalitiesPromise = null;
export function municipalities() {
  if (!municipalitiesPromise) {
    municipalitiesPromise = get("/municipalities").catch((error) => {
      municipalitiesPromise = null;
      throw error;
    });
  }
  return municipalitiesPromise;
}

export function resetCaches() {
  vocabularyPromise = null;
  municipalitiesPromise = null;
}

export function downloadBlob(blob, filename) {
  const url = URL.createObjectURL(blob);
  const link = el("a", { href: url, download: filename });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export function loading(text = "Laden…") {
  return el("p", { class: "loading", role: "status" }, text);
}

// Children for replaceChildren/append without the empty ones (the DOM would print "null").
export function kids(...children) {
  return children.flat().filter((c) => c !== null && c !== undefined && c !== false);
}

// One call after a burst: a batch run sends dozens of live events at once, and each screen
// should reload once, not once per event.
export function debounce(fn, ms = 250) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
