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

// -- Dutch notation: every screen formats numbers, dates and times through these -----------------
// Decimal comma ("11,5 km", "0,76"), dates as "01-01-2026", countdowns as "1:59:56".

const timeFormat = new Intl.DateTimeFormat("nl-NL", { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const shortTimeFormat = new Intl.DateTimeFormat("nl-NL", { hour: "2-digit", minute: "2-digit" });
const dateFormat = new Intl.DateTimeFormat("nl-NL", { day: "2-digit", month: "2-digit", year: "numeric" });
// A dot between thousands from five digits on (12.500, but 2100), as the server writes numbers.
const numberFormat = new Intl.NumberFormat("nl-NL", { useGrouping: "min2" });
const euroFormat = new Intl.NumberFormat("nl-NL", { style: "currency", currency: "EUR", useGrouping: "min2" });

function asDate(value) {
  return value instanceof Date ? value : new Date(value);
}
function missing(value) {
  return value === null || value === undefined || value === "" || Number.isNaN(value);
}

// 14:05:09
export function formatTime(value) {
  return value ? timeFormat.format(asDate(value)) : "–";
}
// 14:05
export function formatClock(value) {
  return value ? shortTimeFormat.format(asDate(value)) : "–";
}
// 01-01-2026. A calendar date ("2026-01-01") is that day wherever the browser is; a moment is
// the day it falls on here.
export function formatDate(value) {
  if (!value) return "–";
  const calendarDay = typeof value === "string" && /^\d{4}-\d{2}-\d{2}$/.test(value);
  if (calendarDay) {
    const [y, m, d] = value.split("-");
    return `${d}-${m}-${y}`;
  }
  return dateFormat.format(asDate(value)).replace(/\//g, "-");
}
// 01-01-2026 14:05
export function formatDateTime(value) {
  return value ? `${formatDate(value)} ${formatClock(value)}` : "nooit";
}
// 1.250 or, with digits, 0,76
export function formatNumber(value, digits = null) {
  if (missing(value)) return "–";
  if (digits !== null) {
    return new Intl.NumberFormat("nl-NL", { minimumFractionDigits: digits, maximumFractionDigits: digits, useGrouping: "min2" })
      .format(value);
  }
  return numberFormat.format(value);
}
// 11,5 km
export function formatKm(value, digits = 1) {
  return missing(value) ? "afstand onbekend" : `${formatNumber(value, digits)} km`;
}
// A matching score: 0,76
export function formatScore(value) {
  return formatNumber(value, 2);
}
export function formatEuro(value) {
  return missing(value) ? "–" : euroFormat.format(value);
}
// 0.5 -> 50%
export function formatPercent(value) {
  if (missing(value)) return "–";
  return `${formatNumber(value * 100, 0)}%`;
}
// Time left: 1:59:56 from an hour on, 4:05 below.
export function formatCountdown(milliseconds) {
  const total = Math.max(0, Math.floor((Number(milliseconds) || 0) / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = String(total % 60).padStart(2, "0");
  return hours ? `${hours}:${String(minutes).padStart(2, "0")}:${seconds}` : `${minutes}:${seconds}`;
}

// -- Labels: a code the API sends is never shown as such ---------------------------------------
// One table for every screen. The codes are the API's (solver/vocabulary.py and the status lists
// of the domains); tests/backend/test_frontend_words.py checks that every code has a label here.
export const LABELS = {
  role: {
    provider: "zorgaanbieder", coordinator: "coördinatiepunt", crisis: "crisisdienst",
    viewer: "contractmanager", admin: "beheerder",
  },
  // A youth: m/v/x in referrals, jongen/meisje/anders in a crisis search.
  gender: {
    m: "Jongen", v: "Meisje", x: "Anders / onbekend", jongen: "Jongen", meisje: "Meisje", anders: "Anders",
  },
  genderPolicy: { gemengd: "Gemengd", jongens: "Alleen jongens", meisjes: "Alleen meisjes" },
  riskProfile: {
    A: "A: stabiel en gemotiveerd",
    B: "B: enig risico op escalatie",
    C: "C: moeilijk planbaar, hoog risico op escalatie",
  },
  careForm: {
    pleegzorg: "Pleegzorg", gezinshuis: "Gezinshuis", woongroep: "Woongroep",
    khw: "Kleinschalige hoogspecialistische woonvoorziening", behandelgroep: "Behandelgroep",
    driemilieu: "Driemilieuvoorziening", jeugdzorgplus: "Jeugdzorgplus", kamertraining: "Kamertraining",
    ggz_verblijf: "Jeugd GGZ-verblijfsklasse", ouder_kind: "Ouder-kindhuis", deeltijd: "Deeltijdverblijf / logeren",
    crisis: "Crisisverblijf", crisispleegzorg: "Crisispleegzorg",
  },
  need: {
    lvb: "LVB (licht verstandelijke beperking)", trauma: "Trauma", autisme: "Autisme", jeugd_ggz: "Jeugd-GGZ",
    verslaving: "Verslaving", shg: "Seksueel grensoverschrijdend gedrag", hechting: "Hechtingsproblematiek",
    agressie: "Agressieregulatie", eetstoornis: "Eetstoornis", zelfstandigheid: "Zelfstandigheidstraining",
    jonge_moeder: "Jonge moeder met kind", loverboy: "Loverboyproblematiek",
  },
  proposalStatus: {
    open: "Openstaand", accepted: "Geaccepteerd", declined: "Afgewezen", expired: "Verlopen", withdrawn: "Ingetrokken",
  },
  referralStatus: {
    waiting: "Wachtend", proposed: "Voorgesteld", accepted: "Aankomst verwacht", placed: "Geplaatst",
    discharged: "Uitgestroomd", withdrawn: "Ingetrokken",
  },
  placementStatus: {
    accepted: "Aankomst verwacht", arrived: "Aangekomen", discharged: "Uitgestroomd", no_show: "Niet verschenen",
    cancelled: "Gaat niet door",
  },
  occupancyKind: { admission: "Opname", discharge: "Ontslag", cancel: "Intrekking" },
  occupancySource: {
    api: "systeem aanbieder", handmatig: "handmatig", crisis: "crisisplaatsing", matching: "plaatsingsvoorstel", demo: "demo",
  },
  holdStatus: {
    active: "vastgehouden", confirmed: "geplaatst", released: "vrijgegeven", expired: "verlopen",
    rejected: "afgewezen door aanbieder",
  },
};

// label("need", "lvb") -> "LVB (licht verstandelijke beperking)". An unknown code (a new one the
// table does not know yet) is shown as it is rather than hidden.
export function label(kind, code) {
  if (missing(code)) return "–";
  return (LABELS[kind] && LABELS[kind][code]) || String(code);
}
export function labels(kind, codes) {
  return (codes || []).map((code) => label(kind, code));
}

// Urgency runs from 1 (low) to 5 (high): "4 van 5".
export function urgencyLabel(urgency) {
  return missing(urgency) ? "–" : `${urgency} van 5`;
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
