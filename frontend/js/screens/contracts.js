// What the provider's screen and the contract register share: a group's contract versions
// (requests for places included), the form for a new version, the provider's request for
// places and the group profile a provider's planner keeps current. Every form shows the API's
// Dutch messages next to the field they are about.

import { ApiError, get, hasApi, post, request } from "../api.js";
import { keepForm } from "../drafts.js";
import { LABELS, announce, el, field, formatClock, formatDate, formatEuro, formatPercent, kids, showError } from "../ui.js";

// The labels live in ui.js (one table for every screen); these names stay for the importers.
export const GENDER_LABEL = LABELS.genderPolicy;
export const RISK_LABEL = LABELS.riskProfile;

function iso(date) {
  const pad = (n) => String(n).padStart(2, "0");
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

// Today as the user's calendar says (the dates of the register are calendar days).
export function todayIso() {
  return iso(new Date());
}

export function firstOfNextMonth() {
  const now = new Date();
  return iso(new Date(now.getFullYear(), now.getMonth() + 1, 1));
}

export { formatDate };

// "Tabblad groepen" and API field messages start in lower case; a sentence on screen does not.
export function sentence(text) {
  const value = String(text || "").trim();
  if (!value) return "";
  const upper = value.charAt(0).toUpperCase() + value.slice(1);
  return /[.!?]$/.test(upper) ? upper : `${upper}.`;
}

// Who did it, as people say it: "user:6:aanbieder1" is aanbieder1, "key:2:koppeling" an API key.
export function who(label) {
  const text = String(label || "");
  const match = /^(user|key|system):\d+:(.*)$/.exec(text);
  if (!match) return text || "onbekend";
  if (match[1] === "key") return `API-sleutel ${match[2]}`;
  if (match[1] === "system") return `${match[2]} (automatisch)`;
  return match[2];
}

export function termState(term, today = todayIso()) {
  if (term.status === "requested") return { label: "aangevraagd", tone: "warn" };
  if (term.status === "rejected") return { label: "afgewezen", tone: "bad" };
  if (term.valid_from > today) return { label: "gepland", tone: "" };
  if (term.valid_to && term.valid_to < today) return { label: "verlopen", tone: "" };
  return { label: "geldt nu", tone: "ok" };
}

export function period(term) {
  return term.valid_to
    ? `${formatDate(term.valid_from)} t/m ${formatDate(term.valid_to)}`
    : `vanaf ${formatDate(term.valid_from)}`;
}

export function placesText(count) {
  return `${count} ${count === 1 ? "plaats" : "plaatsen"}`;
}

function fundingText(term) {
  if (!term.availability_funded) return "geen beschikbaarheidsbekostiging";
  return term.availability_share === null || term.availability_share === undefined
    ? "beschikbaarheidsbekostiging (deel volgens de regio)"
    : `beschikbaarheidsbekostiging, deel ${formatPercent(term.availability_share)}`;
}

function tariffText(term) {
  return term.day_tariff === null || term.day_tariff === undefined
    ? "dagtarief volgens de tarieventabel" : `dagtarief ${formatEuro(term.day_tariff)}`;
}

// Newest first; an open request above the version it would follow.
export function sortTerms(terms) {
  const rank = { requested: 0, approved: 1, rejected: 2 };
  return [...terms].sort((a, b) => (b.valid_from.localeCompare(a.valid_from)) || (rank[a.status] - rank[b.status]) || (b.id - a.id));
}

// A compact list for a narrow card: one item per version.
export function termsList(terms) {
  if (!terms.length) return el("p", { class: "hint" }, "Deze groep heeft nog geen contractversies.");
  return el("ul", { class: "terms" }, sortTerms(terms).map((term) => {
    const state = termState(term);
    return el("li", { class: `term term-${term.status}`, dataset: { termId: term.id, status: term.status } },
      el("div", { class: "term-head" },
        el("strong", {}, placesText(term.contracted_places)), " ", period(term), " ",
        el("span", { class: `badge ${state.tone}` }, state.label)),
      el("div", { class: "term-meta" }, sentence(`${tariffText(term)} · ${fundingText(term)}`)),
      el("div", { class: "term-meta" }, term.status === "requested"
        ? `Aangevraagd door ${who(term.created_by)}`
        : `${term.status === "rejected" ? "Afgewezen" : "Vastgesteld"} door ${who(term.decided_by || term.created_by)}`),
      term.note ? el("div", { class: "term-note" }, `Toelichting: ${term.note}`) : null);
  }));
}

// The same versions as a table, for the register screen.
export function termsTable(terms, { caption }) {
  if (!terms.length) return el("p", { class: "hint" }, "Deze groep heeft nog geen contractversies.");
  const rows = sortTerms(terms).map((term) => {
    const state = termState(term);
    return el("tr", { dataset: { termId: term.id, status: term.status } },
      el("td", {}, formatDate(term.valid_from)),
      el("td", {}, term.valid_to ? formatDate(term.valid_to) : "open"),
      el("td", { class: "num" }, String(term.contracted_places)),
      el("td", { class: "num" }, term.day_tariff === null ? "tabel" : formatEuro(term.day_tariff)),
      el("td", {}, term.availability_funded
        ? (term.availability_share === null ? "ja (regio)" : `ja, ${formatPercent(term.availability_share)}`) : "nee"),
      el("td", {}, el("span", { class: `badge ${state.tone}` }, state.label)),
      el("td", {}, who(term.status === "requested" ? term.created_by : term.decided_by || term.created_by)),
      el("td", {}, term.note || ""));
  });
  return el("div", { class: "table-scroll" }, el("table", { class: "data terms-table" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, ["Vanaf", "Tot en met", "Plaatsen", "Dagtarief", "Beschikbaarheid", "Status", "Door", "Toelichting"]
      .map((h) => el("th", { scope: "col", class: ["Plaatsen", "Dagtarief"].includes(h) ? "num" : null }, h)))),
    el("tbody", {}, rows)));
}

// A form's fields by their API name, each with its error next to it. `place(error)` puts the
// API's field errors next to their fields and returns whether any found its field.
export function fieldSet(prefix) {
  const fields = {};
  return {
    fields,
    add(name, label, input, hint = null) {
      const made = field({ id: `${prefix}-${name}`, label, input, hint });
      input.name = name;
      fields[name] = made;
      return made.wrapper;
    },
    // A group of checkboxes under one legend, with one error for the whole group.
    addGroup(name, legend, boxes, hint = null) {
      const errorId = `${prefix}-${name}-fout`;
      const error = el("p", { id: errorId, class: "field-error", "aria-live": "polite" });
      const node = el("fieldset", { id: `${prefix}-${name}`, "aria-describedby": errorId },
        el("legend", {}, legend), hint ? el("p", { class: "hint" }, hint) : null,
        el("div", { class: "checks" }, boxes), error);
      fields[name] = {
        wrapper: node,
        input: node,
        error,
        setError(message) {
          error.textContent = message || "";
          node.setAttribute("aria-invalid", message ? "true" : "false");
        },
      };
      return node;
    },
    clear() {
      for (const f of Object.values(fields)) f.setError(null);
    },
    set(name, message) {
      fields[name].setError(message ? sentence(message) : null);
    },
    place(error) {
      let placed = false;
      if (!(error instanceof ApiError)) return false;
      for (const item of error.errors || []) {
        const name = String(item.field || "").split(".").pop();
        if (fields[name]) {
          fields[name].setError(sentence(item.message));
          placed = true;
        }
      }
      return placed;
    },
    focusFirstError() {
      const bad = Object.values(fields).find((f) => f.error.textContent);
      if (!bad) return;
      const target = bad.input.tagName === "FIELDSET" ? bad.input.querySelector("input") : bad.input;
      target?.focus();
    },
  };
}

function checkbox(prefix, name, value, label, checked = false) {
  const id = `${prefix}-${name}-${value}`;
  return el("div", { class: "check" },
    el("input", { type: "checkbox", id, name, value, checked }),
    el("label", { for: id }, label));
}

function numberOrNull(input) {
  return input.value.trim() === "" ? null : Number(input.value);
}

function errorText(error) {
  return error instanceof ApiError ? error.message : "Er ging iets mis. Uw invoer staat nog in het formulier; probeer het opnieuw.";
}

// -- the group profile (provider) -------------------------------------------------------------

export function profileForm(initial, { vocab, prefix, onSaved }) {
  let group = initial;
  let dirty = false;
  let busy = false;
  const set = fieldSet(prefix);
  const name = el("input", { maxlength: 200, autocomplete: "off" });
  const ageMin = el("input", { type: "number", inputmode: "numeric", min: 0, max: 27, step: 1, class: "number-short" });
  const ageMax = el("input", { type: "number", inputmode: "numeric", min: 0, max: 27, step: 1, class: "number-short" });
  const gender = el("select", {}, Object.entries(GENDER_LABEL).map(([code, label]) => el("option", { value: code }, label)));
  const roster = el("input", { type: "number", inputmode: "decimal", min: 0, step: 0.5, class: "number-short" });
  const formError = el("p", { class: "error", role: "alert", hidden: true });
  const done = el("p", { class: "notice", role: "status", hidden: true });
  const reassessment = el("p", { class: "warning", role: "note", hidden: true });
  const submit = el("button", { type: "submit", class: "button primary" }, "Profiel opslaan");
  const reset = el("button", { type: "button", class: "button secondary" }, "Herstellen");

  const form = el("form", { class: "profile-form", novalidate: true, "aria-label": `Profiel van ${group.name}` },
    set.add("name", "Naam van de groep", name),
    el("fieldset", { class: "ages" }, el("legend", {}, "Leeftijd in jaren"),
      el("div", { class: "form-row pair" },
        set.add("age_min", "Van", ageMin),
        set.add("age_max", "Tot en met", ageMax))),
    set.add("gender_policy", "Gender", gender),
    set.addGroup("risk_profiles", "Risicoprofielen",
      Object.entries(RISK_LABEL).map(([code, label]) => checkbox(prefix, "risk_profiles", code, label))),
    set.addGroup("expertise", "Expertise",
      vocab.need_tags.map((tag) => checkbox(prefix, "expertise", tag.code, tag.label))),
    set.add("weekly_roster_hours", "Roosteruren per week (netto)", roster,
      "Valt de groep hierdoor in een andere intensiteit, dan beoordeelt de regio dat opnieuw."),
    formError, done, reassessment,
    el("div", { class: "actions" }, reset, submit));

  const checked = (field) => [...form.querySelectorAll(`input[name='${field}']:checked`)].map((i) => i.value);
  // A half-finished edit survives a reload (kept on the server until saved or undone).
  const kept = keepForm(`groepsprofiel:${group.id}`, form);

  function fill() {
    name.value = group.name;
    ageMin.value = String(group.age_min);
    ageMax.value = String(group.age_max);
    gender.value = group.gender_policy;
    roster.value = String(group.weekly_roster_hours);
    for (const box of form.querySelectorAll("input[name='risk_profiles']")) box.checked = group.risk_profiles.includes(box.value);
    for (const box of form.querySelectorAll("input[name='expertise']")) box.checked = group.expertise.includes(box.value);
    set.clear();
    dirty = false;
  }

  function read() {
    return {
      name: name.value.trim(),
      age_min: numberOrNull(ageMin),
      age_max: numberOrNull(ageMax),
      gender_policy: gender.value,
      risk_profiles: checked("risk_profiles").sort().join(""),
      expertise: checked("expertise").sort(),
      weekly_roster_hours: numberOrNull(roster),
    };
  }

  function validate(body) {
    set.clear();
    const age = (v) => v !== null && Number.isInteger(v) && v >= 0 && v <= 27;
    if (!body.name) set.set("name", "Vul de naam van de groep in");
    if (!age(body.age_min)) set.set("age_min", "Vul een leeftijd in van 0 tot en met 27 jaar");
    if (!age(body.age_max)) set.set("age_max", "Vul een leeftijd in van 0 tot en met 27 jaar");
    else if (age(body.age_min) && body.age_min > body.age_max) set.set("age_max", "De leeftijd 'tot en met' ligt onder de leeftijd 'van'");
    if (!body.risk_profiles) set.set("risk_profiles", "Kies minstens één risicoprofiel");
    if (body.weekly_roster_hours === null || !(body.weekly_roster_hours > 0)) {
      set.set("weekly_roster_hours", "Vul het aantal netto roosteruren per week in (meer dan 0)");
    }
    return !Object.values(set.fields).some((f) => f.error.textContent);
  }

  // Only what differs from the group as last seen: another edit of the same group in between
  // (a roster change, a new name from the register) is not overwritten.
  function changes(body) {
    const out = {};
    for (const [key, value] of Object.entries(body)) {
      const current = key === "expertise" ? [...group.expertise].sort() : group[key];
      if (JSON.stringify(current) !== JSON.stringify(value)) out[key] = value;
    }
    return out;
  }

  async function showReassessment() {
    if (!(await hasApi("/intensity"))) return;
    try {
      const info = await get(`/intensity/groups/${group.id}`);
      const open = info.open_reassessment;
      if (open) {
        reassessment.textContent = `Met ${open.roster_hours_after} roosteruren per week komt de groep op intensiteit ${open.intensity_after} `
          + `(nu ${open.intensity_before}). De regio beoordeelt dat; tot dan blijft intensiteit ${info.funded_intensity} gelden.`;
        reassessment.hidden = false;
      }
    } catch {
      /* the profile itself is saved; the note is extra */
    }
  }

  form.addEventListener("input", () => {
    dirty = true;
    done.hidden = true;
  });
  reset.addEventListener("click", () => {
    fill();
    kept.discard();
    showError(formError, null);
    done.hidden = true;
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (busy) return;
    showError(formError, null);
    done.hidden = true;
    reassessment.hidden = true;
    const body = read();
    if (!validate(body)) {
      showError(formError, "Verbeter de gemarkeerde velden.");
      set.focusFirstError();
      return;
    }
    const patch = changes(body);
    if (!Object.keys(patch).length) {
      done.textContent = "Er is niets gewijzigd.";
      done.hidden = false;
      return;
    }
    busy = true;
    submit.disabled = true;
    submit.textContent = "Opslaan…";
    try {
      const { data } = await request(`/groups/${group.id}/profile`, { method: "PATCH", json: patch });
      group = data;
      fill();
      kept.discard();
      done.textContent = `Profiel opgeslagen om ${formatClock(new Date())}.`;
      done.hidden = false;
      announce(`Profiel van ${group.name} opgeslagen.`);
      onSaved(group);
      if ("weekly_roster_hours" in patch) await showReassessment();
    } catch (error) {
      const placed = set.place(error);
      if (!placed && error instanceof ApiError && error.code === "intensity_above_maximum") {
        set.set("weekly_roster_hours", error.message);
      }
      showError(formError, placed || error.code === "intensity_above_maximum"
        ? `${sentence(error.message)} Uw invoer staat nog in het formulier.` : errorText(error));
      set.focusFirstError();
    } finally {
      busy = false;
      submit.disabled = false;
      submit.textContent = "Profiel opslaan";
    }
  });

  fill();
  return {
    node: form,
    restore: kept.restore,
    close: kept.close,
    // A newer state of the group (live feed): shown unless the user is editing.
    update(next) {
      group = next;
      if (!dirty && !busy) fill();
    },
  };
}

// -- a provider's request for places ----------------------------------------------------------

export function placesRequestForm(initial, { prefix, onSent }) {
  let group = initial;
  const set = fieldSet(prefix);
  const from = el("input", { type: "date", value: firstOfNextMonth(), min: todayIso() });
  const count = el("input", { type: "number", inputmode: "numeric", min: 1, max: 500, step: 1, class: "number-short", value: group.capacity });
  const note = el("textarea", { rows: 2, maxlength: 500 });
  const formError = el("p", { class: "error", role: "alert", hidden: true });
  const done = el("p", { class: "notice", role: "status", hidden: true });
  const submit = el("button", { type: "submit", class: "button primary" }, "Aanvraag versturen");
  const form = el("form", { class: "places-request", novalidate: true, "aria-label": `Plaatsen aanvragen voor ${group.name}` },
    el("p", { class: "hint" }, "Meer of minder gecontracteerde plaatsen vanaf een datum. De regio beslist over de aanvraag."),
    el("div", { class: "form-row pair" },
      set.add("valid_from", "Vanaf", from),
      set.add("contracted_places", "Aantal plaatsen", count)),
    set.add("note", "Toelichting (optioneel)", note),
    formError, done,
    el("div", { class: "actions" }, submit));
  const kept = keepForm(`plaatsen-aanvraag:${group.id}`, form);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    set.clear();
    showError(formError, null);
    done.hidden = true;
    const places = numberOrNull(count);
    if (!from.value) set.set("valid_from", "Kies de datum vanaf wanneer het nieuwe aantal moet gelden");
    if (places === null || !Number.isInteger(places) || places < 1 || places > 500) {
      set.set("contracted_places", "Vul een heel aantal plaatsen in van 1 tot en met 500");
    }
    if (set.fields.valid_from.error.textContent || set.fields.contracted_places.error.textContent) {
      showError(formError, "Verbeter de gemarkeerde velden.");
      set.focusFirstError();
      return;
    }
    submit.disabled = true;
    try {
      const term = await post(`/groups/${group.id}/places-requests`, {
        valid_from: from.value, contracted_places: places, note: note.value.trim() || null,
      });
      note.value = "";
      kept.discard();
      done.textContent = `Aanvraag verstuurd: ${placesText(term.contracted_places)} vanaf ${formatDate(term.valid_from)}. De regio beslist.`;
      done.hidden = false;
      announce(`Aanvraag voor ${group.name} verstuurd.`);
      onSent(term);
    } catch (error) {
      const placed = set.place(error);
      showError(formError, placed ? `${sentence(error.message)} Uw invoer staat nog in het formulier.` : errorText(error));
      set.focusFirstError();
    } finally {
      submit.disabled = false;
    }
  });

  return {
    node: form,
    restore: kept.restore,
    close: kept.close,
    update(next) {
      group = next;
    },
  };
}

// -- a new contract version (the region) -------------------------------------------------------

export function termForm(group, { prefix, onAdded }) {
  const set = fieldSet(prefix);
  const from = el("input", { type: "date", value: firstOfNextMonth() });
  const to = el("input", { type: "date" });
  const count = el("input", { type: "number", inputmode: "numeric", min: 1, max: 500, step: 1, class: "number-short", value: group.capacity });
  const tariff = el("input", { type: "number", inputmode: "decimal", min: 0, step: 0.01 });
  const funded = el("input", { type: "checkbox", checked: group.availability_funded });
  const share = el("input", { type: "number", inputmode: "decimal", min: 0, max: 1, step: 0.01 });
  const note = el("textarea", { rows: 2, maxlength: 500 });
  const formError = el("p", { class: "error", role: "alert", hidden: true });
  const done = el("p", { class: "notice", role: "status", hidden: true });
  const submit = el("button", { type: "submit", class: "button primary" }, "Versie toevoegen");
  const fundedId = `${prefix}-availability_funded`;
  const fundedError = el("p", { id: `${fundedId}-fout`, class: "field-error", "aria-live": "polite" });
  funded.id = fundedId;
  funded.name = "availability_funded";
  funded.setAttribute("aria-describedby", fundedError.id);
  set.fields.availability_funded = {
    wrapper: null, input: funded, error: fundedError,
    setError(message) {
      fundedError.textContent = message || "";
      funded.setAttribute("aria-invalid", message ? "true" : "false");
    },
  };
  const shareField = set.add("availability_share", "Beschikbaarheidsdeel (0 tot 1)", share,
    "Bijvoorbeeld 0.75 (met een punt). Leeg: de instelling van de regio.");
  const form = el("form", { class: "term-form", novalidate: true, "aria-label": `Nieuwe contractversie voor ${group.name}` },
    el("div", { class: "form-row" },
      set.add("valid_from", "Geldig vanaf", from, "De eerste dag van deze versie."),
      set.add("valid_to", "Geldig tot en met (optioneel)", to, "Leeg: tot de volgende versie.")),
    el("div", { class: "form-row" },
      set.add("contracted_places", "Gecontracteerde plaatsen", count, "Het aantal plaatsen in deze versie."),
      set.add("day_tariff", "Dagtarief in euro (optioneel)", tariff, "Leeg: het tarief uit de tarieventabel.")),
    el("div", { class: "check" }, funded, el("label", { for: fundedId }, "Beschikbaarheidsbekostiging")), fundedError,
    shareField,
    set.add("note", "Toelichting (optioneel)", note),
    formError, done,
    el("div", { class: "actions" }, submit));

  function paint() {
    shareField.hidden = !funded.checked;
  }
  funded.addEventListener("change", paint);
  const kept = keepForm(`contractversie:${group.id}`, form);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    set.clear();
    showError(formError, null);
    done.hidden = true;
    const body = {
      valid_from: from.value,
      valid_to: to.value || null,
      contracted_places: numberOrNull(count),
      day_tariff: numberOrNull(tariff),
      availability_funded: funded.checked,
      availability_share: funded.checked ? numberOrNull(share) : null,
      note: note.value.trim() || null,
    };
    if (!body.valid_from) set.set("valid_from", "Kies de datum vanaf wanneer de versie geldt");
    if (body.valid_to && body.valid_from && body.valid_to < body.valid_from) set.set("valid_to", "'Geldig tot en met' ligt vóór 'geldig vanaf'");
    if (body.contracted_places === null || !Number.isInteger(body.contracted_places) || body.contracted_places < 1 || body.contracted_places > 500) {
      set.set("contracted_places", "Vul een heel aantal plaatsen in van 1 tot en met 500");
    }
    if (body.day_tariff !== null && !(body.day_tariff >= 0)) set.set("day_tariff", "Het dagtarief is een bedrag van 0 of meer");
    if (body.availability_share !== null && !(body.availability_share >= 0 && body.availability_share <= 1)) {
      set.set("availability_share", "Het beschikbaarheidsdeel ligt tussen 0 en 1, bijvoorbeeld 0.75");
    }
    if (Object.values(set.fields).some((f) => f.error.textContent)) {
      showError(formError, "Verbeter de gemarkeerde velden.");
      set.focusFirstError();
      return;
    }
    submit.disabled = true;
    try {
      const term = await post(`/groups/${group.id}/contract-terms`, body);
      note.value = "";
      kept.discard();
      done.textContent = `Versie toegevoegd: ${placesText(term.contracted_places)} ${period(term)}.`;
      done.hidden = false;
      announce(`Contractversie voor ${group.name} toegevoegd.`);
      onAdded(term);
    } catch (error) {
      const placed = set.place(error);
      showError(formError, placed ? `${sentence(error.message)} Uw invoer staat nog in het formulier.` : errorText(error));
      set.focusFirstError();
    } finally {
      submit.disabled = false;
    }
  });
  paint();
  return { node: form, restore: kept.restore, close: kept.close };
}

export function profileSummary(group, vocab) {
  const expertise = group.expertise.map((code) => (vocab ? vocab.needLabel[code] || code : code));
  return kids(
    `${group.age_min}–${group.age_max} jaar · ${(GENDER_LABEL[group.gender_policy] || group.gender_policy).toLowerCase()}`
      + ` · profiel ${group.risk_profiles}`,
    expertise.length ? ` · expertise: ${expertise.join(", ")}` : " · geen expertise opgegeven");
}
