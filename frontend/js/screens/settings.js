// Region settings (regio-instellingen): a form per setting with a Dutch label and help text from
// the API. An admin changes them (the whole set is saved at once and checked by the server, which
// names every wrong field); a coordinator or contract manager reads them.
//
// Numbers may be typed with a decimal comma (0,75) as people in the Netherlands do; the form
// sends them as numbers. Anything that is not a number is sent as typed, so the server's Dutch
// message explains what is wrong, next to the field.

import { ApiError, get, request } from "../api.js";
import { announce, el, field, formatDateTime, kids, loading, showError, vocabulary } from "../ui.js";

const LETTERS = "ABCDEFGHIJKLMNOPQRS";
const WEIGHT_ORDER = [
  "need", "intensity", "distance", "care_form_preference", "priority", "placement_bonus",
  "distance_scale_km", "intensity_step_penalty", "waiting_days_full",
];

// "0,75" -> 0.75; "" -> null; anything else is sent as typed (the server refuses it in Dutch).
export function parseNumber(text) {
  const value = String(text ?? "").trim();
  if (!value) return null;
  if (/^-?\d+([.,]\d+)?$/.test(value)) return Number(value.replace(",", "."));
  return value;
}

function showNumber(value) {
  return value === null || value === undefined ? "" : String(value).replace(".", ",");
}

function textInput(value, attrs = {}) {
  return el("input", { type: "text", inputmode: "decimal", autocomplete: "off", value: showNumber(value), ...attrs });
}

export function render(root, { user }) {
  const admin = user.role === "admin";
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const problems = el("div", { class: "warning", role: "status", hidden: true });
  const subtitle = el("p", { class: "freshness", id: "instellingen-regio" });
  const regionPick = el("select", { id: "instellingen-kies-regio" });
  const regionField = el("div", { class: "field inline", hidden: true },
    el("label", { for: "instellingen-kies-regio" }, "Regio"), regionPick);
  const form = el("form", { id: "instellingen-form", class: "settings-form", novalidate: true });
  const saveError = el("p", { class: "error", role: "alert", hidden: true, id: "instellingen-fout" });
  const saved = el("p", { class: "notice", role: "status", hidden: true, id: "instellingen-opgeslagen" });
  let disposed = false;
  let view = null;
  let regions = [];
  let careForms = [];
  let targets = new Map(); // field path -> setError(message)
  let collect = () => ({});

  root.replaceChildren(...kids(el("section", { class: "page" },
    el("div", { class: "page-head" }, el("h1", {}, "Regio-instellingen"), subtitle),
    el("p", { class: "lead" }, admin
      ? "Wat de regio zelf kiest: de nacalculatie, de intensiteitstabel, crisisreserveringen, voorstellen, matching en afwijsredenen. Alles wordt in één keer opgeslagen en gecontroleerd."
      : "Wat de regio zelf kiest. Alleen een beheerder kan deze instellingen wijzigen."),
    regionField, pageError, problems, form)));

  function target(path, controller) {
    targets.set(path, controller);
    return controller;
  }

  function clearErrors() {
    for (const controller of targets.values()) controller.setError(null);
    showError(saveError, null);
  }

  // Next to a row or a part of a setting, "Afwijsredenen.6.code: gebruik ..." reads better as
  // "Code: gebruik ...": the server names the part by its path, the row by the part's label.
  function localMessage(error, controller) {
    const parts = (error.field || "").split(".");
    const top = view && view.fields[parts[0]];
    if (parts.length < 2 || !top) return error.message;
    const prefix = [top.label, ...parts.slice(1)].join(".");
    if (!error.message.startsWith(prefix)) return error.message;
    const rest = error.message.slice(prefix.length).replace(/^:?\s*/, "");
    const name = controller.label ? controller.label(parts) : null;
    return name ? `${name}: ${rest}` : rest;
  }

  // Each message next to the closest field the form has for its path ("a.b.3" -> "a.b" -> "a").
  function showFieldErrors(errors) {
    const unplaced = [];
    let first = null;
    for (const error of errors) {
      let path = error.field || "";
      while (path && !targets.has(path)) path = path.includes(".") ? path.slice(0, path.lastIndexOf(".")) : "";
      const controller = path ? targets.get(path) : null;
      if (controller) {
        const before = controller.message ? controller.message() : "";
        const text = localMessage(error, controller);
        controller.setError(before ? `${before} ${text}` : text);
        first = first || controller;
      } else {
        unplaced.push(error.message);
      }
    }
    if (first && first.focus) first.focus();
    return unplaced;
  }

  // A field with its own error line: the error text accumulates when two messages hit it.
  function targetedField(id, path, labelText, help, input, partLabel = null) {
    const made = field({ id: `inst-${id}`, label: labelText, input, hint: help });
    let current = "";
    target(path, {
      setError(message) {
        current = message || "";
        made.setError(current);
      },
      message: () => current,
      focus: () => input.focus(),
      label: partLabel ? () => partLabel : null,
    });
    return made.wrapper;
  }

  function numberField(id, path, labelText, help, value, { placeholder = null, partLabel = null } = {}) {
    const input = textInput(value, { disabled: !admin, placeholder });
    return { node: targetedField(id, path, labelText, help, input, partLabel), read: () => parseNumber(input.value) };
  }

  // A free text (the coordination point's contact): empty is "none".
  function textField(name, value) {
    const input = el("input", { type: "text", autocomplete: "off", maxlength: 200, value: value || "", disabled: !admin });
    const node = targetedField(name, name, doc(name).label, doc(name).help, input);
    return { node, read: () => input.value.trim() || null };
  }

  function fieldset(legend, ...children) {
    return el("fieldset", { class: "settings-block" }, el("legend", {}, legend), ...children);
  }

  function errorLine(id) {
    const line = el("p", { class: "field-error", id, "aria-live": "polite" });
    let current = "";
    return {
      line,
      controller: {
        setError(message) {
          current = message || "";
          line.textContent = current;
        },
        message: () => current,
      },
    };
  }

  function doc(name) {
    return view.fields[name] || { label: name, help: "" };
  }

  // --- the parts of the form -------------------------------------------------------------------

  function shareByCareForm(values) {
    const inputs = new Map();
    const rows = careForms.map((form) => {
      const id = `inst-zorgvorm-${form.code}`;
      const input = textInput(values[form.code], {
        id, disabled: !admin, placeholder: "standaard", "aria-describedby": `${id}-fout`, class: "short",
      });
      inputs.set(form.code, input);
      const { line, controller } = errorLine(`${id}-fout`);
      target(`availability_share_by_care_form.${form.code}`, {
        ...controller,
        setError(message) {
          controller.setError(message);
          input.setAttribute("aria-invalid", message ? "true" : "false");
        },
        focus: () => input.focus(),
        label: () => form.label,
      });
      return el("tr", {}, el("th", { scope: "row" }, el("label", { for: id }, form.label)), el("td", {}, input, line));
    });
    const { line, controller } = errorLine("inst-availability_share_by_care_form-fout");
    target("availability_share_by_care_form", controller);
    const info = doc("availability_share_by_care_form");
    return {
      node: el("div", { class: "field" },
        el("p", { class: "field-label", id: "inst-zorgvorm-titel" }, info.label),
        el("p", { class: "hint" }, info.help),
        el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": "inst-zorgvorm-titel" }, el("table", { "aria-labelledby": "inst-zorgvorm-titel" },
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Zorgvorm"), el("th", { scope: "col" }, "Deel (0 tot en met 1)"))),
          el("tbody", {}, rows))),
        line),
      read() {
        const out = {};
        for (const [code, input] of inputs) {
          const value = parseNumber(input.value);
          if (value !== null) out[code] = value;
        }
        return out;
      },
    };
  }

  function shareByGroup(values) {
    const body = el("tbody");
    const rows = [];
    const info = doc("availability_share_by_group");
    const { line, controller } = errorLine("inst-availability_share_by_group-fout");
    target("availability_share_by_group", { ...controller, label: (parts) => `Groep ${parts[1]}` });
    function addRow(groupId = "", share = null) {
      const index = rows.length;
      const group = el("input", { type: "text", inputmode: "numeric", value: groupId, disabled: !admin, class: "short", "aria-label": `Groepsnummer ${index + 1}` });
      const part = textInput(share, { disabled: !admin, class: "short", "aria-label": `Deel voor groep ${index + 1}` });
      const remove = admin ? el("button", { type: "button", class: "button small secondary" }, "Weghalen") : null;
      const row = el("tr", {}, el("td", {}, group), el("td", {}, part), el("td", {}, remove));
      const entry = { row, group, part };
      rows.push(entry);
      if (remove) {
        remove.addEventListener("click", () => {
          rows.splice(rows.indexOf(entry), 1);
          row.remove();
        });
      }
      body.append(row);
    }
    for (const [groupId, share] of Object.entries(values)) addRow(groupId, share);
    const add = admin ? el("button", { type: "button", class: "button small secondary" }, "Groep toevoegen") : null;
    if (add) add.addEventListener("click", () => addRow());
    return {
      node: el("div", { class: "field" },
        el("p", { class: "field-label", id: "inst-groep-titel" }, info.label),
        el("p", { class: "hint" }, info.help),
        el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": "inst-groep-titel" }, el("table", { "aria-labelledby": "inst-groep-titel" },
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Groepsnummer"), el("th", { scope: "col" }, "Deel"), el("th", { scope: "col" }, ""))),
          body)),
        add, line),
      read() {
        const out = {};
        for (const { group, part } of rows) {
          if (!group.value.trim() && !part.value.trim()) continue;
          out[group.value.trim()] = parseNumber(part.value);
        }
        return out;
      },
    };
  }

  function bandTable(bands) {
    const body = el("tbody");
    const rows = [];
    const info = doc("intensity_bands");
    const { line, controller } = errorLine("inst-intensity_bands-fout");
    target("intensity_bands", { ...controller, label: (parts) => (parts.length > 1 ? `Letter ${LETTERS[Number(parts[1])] || parts[1]}` : null) });
    function addRow(lower) {
      const letter = LETTERS[rows.length];
      const id = `inst-band-${letter}`;
      const input = textInput(lower, { id, disabled: !admin, class: "short" });
      const row = el("tr", {}, el("th", { scope: "row" }, el("label", { for: id }, letter)), el("td", {}, input));
      rows.push({ letter, input, row });
      body.append(row);
    }
    for (const [, lower] of bands) addRow(lower);
    const more = admin ? el("button", { type: "button", class: "button small secondary" }, "Letter toevoegen") : null;
    const less = admin ? el("button", { type: "button", class: "button small secondary" }, "Laatste letter weghalen") : null;
    function buttons() {
      if (more) more.disabled = rows.length >= LETTERS.length;
      if (less) less.disabled = rows.length <= 1;
    }
    if (more) more.addEventListener("click", () => { addRow(null); buttons(); rows[rows.length - 1].input.focus(); });
    if (less) less.addEventListener("click", () => { rows.pop().row.remove(); buttons(); });
    buttons();
    return {
      node: el("div", { class: "field" },
        el("p", { class: "field-label", id: "inst-banden-titel" }, info.label),
        el("p", { class: "hint" }, info.help),
        el("div", { class: "table-scroll band-table", tabindex: "0", role: "region", "aria-labelledby": "inst-banden-titel" }, el("table", { "aria-labelledby": "inst-banden-titel" },
          el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Letter"), el("th", { scope: "col" }, "Vanaf (uur per kind per dag)"))),
          body)),
        admin ? el("div", { class: "actions" }, more, less) : null, line),
      read: () => rows.map(({ letter, input }) => [letter, parseNumber(input.value)]),
    };
  }

  function neighbourChoice(chosen) {
    const info = doc("neighbours");
    const others = regions.filter((r) => r.code !== view.region.code);
    const boxes = others.map((r) => {
      const id = `inst-buur-${r.code}`;
      const box = el("input", { type: "checkbox", id, value: r.code, checked: chosen.includes(r.code), disabled: !admin });
      return { box, node: el("div", { class: "check" }, box, el("label", { for: id }, `${r.name} (${r.code})`)) };
    });
    // A stored code without a region row stays in the list until the admin removes it.
    const unknown = chosen.filter((code) => !others.some((r) => r.code === code));
    const { line, controller } = errorLine("inst-neighbours-fout");
    target("neighbours", controller);
    return {
      node: el("fieldset", { class: "nested" }, el("legend", {}, info.label), el("p", { class: "hint" }, info.help),
        boxes.length ? el("div", { class: "checks" }, boxes.map((b) => b.node)) : el("p", { class: "hint" }, "Er zijn geen andere regio's."),
        unknown.length ? el("p", { class: "warning" }, `Onbekende buurregio's in de opgeslagen instellingen: ${unknown.join(", ")}.`) : null,
        line),
      read: () => [...boxes.filter((b) => b.box.checked).map((b) => b.box.value), ...unknown],
    };
  }

  function reasonList(reasons) {
    const body = el("tbody");
    const rows = [];
    const info = doc("decline_reasons");
    const { line, controller } = errorLine("inst-decline_reasons-fout");
    target("decline_reasons", controller);
    function addRow(reason, isNew) {
      const index = rows.length;
      // An existing code is fixed for good: shown as text. A new one is typed once.
      const code = isNew
        ? el("input", { type: "text", value: reason.code, "aria-label": `Code van nieuwe reden ${index + 1}`, autocomplete: "off", spellcheck: "false", class: "code" })
        : el("code", { class: "reason-code" }, reason.code);
      const label = el("input", {
        type: "text", value: reason.label, disabled: !admin, "aria-label": `Omschrijving van reden ${index + 1}`, class: "reason-label",
      });
      const retired = el("input", { type: "checkbox", id: `inst-vervallen-${index}`, checked: reason.retired, disabled: !admin });
      const remove = admin && isNew ? el("button", { type: "button", class: "button small secondary" }, "Weghalen") : null;
      const rowError = errorLine(`inst-reden-${index}-fout`);
      const errorRow = el("tr", { class: "row-error", hidden: true }, el("td", { colspan: 4 }, rowError.line));
      const row = el("tr", { dataset: { code: reason.code } },
        el("td", {}, code), el("td", {}, label),
        el("td", {}, el("div", { class: "check" }, retired, el("label", { for: `inst-vervallen-${index}` }, "vervallen"))),
        el("td", {}, remove));
      const error = {
        ...rowError.controller,
        setError(message) {
          rowError.controller.setError(message);
          errorRow.hidden = !message;
        },
        label: (parts) => ({ code: "Code", label: "Omschrijving", retired: "Vervallen" })[parts[2]] || null,
      };
      const entry = { row, errorRow, code, label, retired, isNew, error };
      rows.push(entry);
      if (remove) {
        remove.addEventListener("click", () => {
          rows.splice(rows.indexOf(entry), 1);
          row.remove();
          errorRow.remove();
          register();
        });
      }
      body.append(row, errorRow);
      register();
    }
    // Error paths follow the position in the list that is sent.
    function register() {
      for (const key of [...targets.keys()]) if (key.startsWith("decline_reasons.")) targets.delete(key);
      rows.forEach((entry, i) => {
        target(`decline_reasons.${i}`, { ...entry.error, focus: () => (entry.isNew ? entry.code : entry.label).focus() });
      });
    }
    for (const reason of reasons) addRow(reason, false);
    const add = admin ? el("button", { type: "button", class: "button small secondary", id: "inst-reden-toevoegen" }, "Reden toevoegen") : null;
    if (add) add.addEventListener("click", () => { addRow({ code: "", label: "", retired: false }, true); rows[rows.length - 1].code.focus(); });
    return {
      node: el("div", { class: "field" },
        el("p", { class: "field-label", id: "inst-redenen-titel" }, info.label),
        el("p", { class: "hint" }, info.help),
        el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-labelledby": "inst-redenen-titel" }, el("table", { "aria-labelledby": "inst-redenen-titel", id: "inst-redenen" },
          el("thead", {}, el("tr", {}, ["Code", "Omschrijving", "Vervallen", ""].map((h) => el("th", { scope: "col" }, h)))),
          body)),
        add, line),
      read: () => rows.map(({ code, label, retired, isNew }) => ({
        code: isNew ? code.value.trim() : code.textContent, label: label.value, retired: retired.checked,
      })),
    };
  }

  function weightFields(weights) {
    const parts = WEIGHT_ORDER.filter((name) => name in weights).map((name) => {
      const info = view.weights[name] || { label: name, help: "" };
      const part = numberField(`gewicht-${name}`, `matching_weights.${name}`, info.label, info.help, weights[name], { partLabel: info.label });
      return [name, part];
    });
    const { line, controller } = errorLine("inst-matching_weights-fout");
    target("matching_weights", controller);
    const info = doc("matching_weights");
    return {
      node: el("fieldset", { class: "nested" }, el("legend", {}, info.label), el("p", { class: "hint" }, info.help),
        el("div", { class: "form-row" }, parts.map(([, part]) => part.node)), line),
      read: () => Object.fromEntries(parts.map(([name, part]) => [name, part.read()])),
    };
  }

  // --- the form as a whole ---------------------------------------------------------------------

  function paint() {
    targets = new Map();
    const s = view.settings;
    const defaults = view.service_defaults;
    const num = (name, opts = {}) => numberField(name, name, doc(name).label, doc(name).help, s[name], opts);
    const share = num("availability_share");
    const byCareForm = shareByCareForm(s.availability_share_by_care_form);
    const byGroup = shareByGroup(s.availability_share_by_group);
    const fundBox = el("input", { type: "checkbox", id: "inst-fund_not_admitting_nights", checked: s.fund_not_admitting_nights, disabled: !admin });
    const fundError = errorLine("inst-fund_not_admitting_nights-fout");
    target("fund_not_admitting_nights", fundError.controller);
    const bands = bandTable(s.intensity_bands);
    const familyHome = num("family_home_max_children");
    const hold = num("hold_minutes", { placeholder: `standaard ${defaults.hold_minutes}` });
    const neighbours = neighbourChoice(s.neighbours);
    const expiry = num("proposal_expiry_hours", { placeholder: `standaard ${showNumber(defaults.proposal_expiry_hours)}` });
    const stale = num("stale_after_hours", { placeholder: `standaard ${showNumber(defaults.stale_after_hours)}` });
    const contact = textField("coordinator_contact", s.coordinator_contact);
    const weights = weightFields(s.matching_weights);
    const cLimit = num("profile_c_limit");
    const timeLimit = num("matching_time_limit_s");
    const reasons = reasonList(s.decline_reasons);
    const lossTarget = num("crisis_loss_target");
    const daysRunning = num("compliance_days_running");
    const daysPerMonth = num("compliance_days_per_month");

    collect = () => ({
      availability_share: share.read(),
      availability_share_by_care_form: byCareForm.read(),
      availability_share_by_group: byGroup.read(),
      fund_not_admitting_nights: fundBox.checked,
      intensity_bands: bands.read(),
      family_home_max_children: familyHome.read(),
      hold_minutes: hold.read(),
      neighbours: neighbours.read(),
      proposal_expiry_hours: expiry.read(),
      stale_after_hours: stale.read(),
      coordinator_contact: contact.read(),
      matching_weights: weights.read(),
      profile_c_limit: cLimit.read(),
      matching_time_limit_s: timeLimit.read(),
      decline_reasons: reasons.read(),
      crisis_loss_target: lossTarget.read(),
      compliance_days_running: daysRunning.read(),
      compliance_days_per_month: daysPerMonth.read(),
    });

    const save = admin ? el("button", { type: "submit", class: "button primary" }, "Instellingen opslaan") : null;
    form.replaceChildren(...kids(
      fieldset("Nacalculatie van de beschikbaarheidsvergoeding",
        share.node, byCareForm.node, byGroup.node,
        el("div", { class: "field" },
          el("div", { class: "check" }, fundBox, el("label", { for: "inst-fund_not_admitting_nights" }, doc("fund_not_admitting_nights").label)),
          el("p", { class: "hint" }, doc("fund_not_admitting_nights").help), fundError.line)),
      fieldset("Verblijfsintensiteit en gezinshuizen", bands.node, familyHome.node),
      fieldset("Crisis", hold.node, neighbours.node),
      fieldset("Voorstellen en versheid", expiry.node, stale.node, contact.node),
      fieldset("Matching", weights.node, cLimit.node, timeLimit.node),
      fieldset("Afwijzen", reasons.node),
      fieldset("Capaciteitsplanning en datakwaliteit", lossTarget.node, daysRunning.node, daysPerMonth.node),
      saveError, saved,
      save ? el("div", { class: "actions sticky-actions" }, save) : null));
    problems.replaceChildren(...kids(view.problems.length
      ? [el("strong", {}, "Sommige opgeslagen instellingen kloppen niet; hier staat de standaardwaarde tot u opslaat: "),
        el("ul", {}, view.problems.map((p) => el("li", {}, p.message)))]
      : null));
    problems.hidden = !view.problems.length;
    subtitle.textContent = `${view.region.name} (${view.region.code})`;
  }

  async function load(code) {
    form.replaceChildren(...kids(loading("Instellingen laden…")));
    try {
      view = await get(`/regions/${encodeURIComponent(code)}/settings`);
      if (disposed) return;
      paint();
      showError(pageError, null);
    } catch (error) {
      form.replaceChildren(...kids());
      showError(pageError, `De instellingen konden niet worden geladen: ${error.message}`);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!admin || !view) return;
    clearErrors();
    saved.hidden = true;
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    try {
      const { data } = await request(`/regions/${encodeURIComponent(view.region.code)}/settings`, {
        method: "PUT", json: collect(), headers: { "If-Match": `"${view.version}"` },
      });
      view = data;
      paint();
      const when = formatDateTime(new Date());
      saved.textContent = `De instellingen zijn opgeslagen (${when}).`;
      saved.hidden = false;
      announce("De instellingen zijn opgeslagen.");
    } catch (error) {
      button.disabled = false;
      if (error instanceof ApiError && error.status === 422 && error.errors.length) {
        const rest = showFieldErrors(error.errors);
        showError(saveError, rest.length
          ? `Niet opgeslagen: ${rest.join("; ")}`
          : "Niet opgeslagen: verbeter de velden met een foutmelding.");
      } else if (error instanceof ApiError && error.status === 412) {
        showError(saveError, `${error.message} Uw wijzigingen zijn niet opgeslagen.`);
      } else {
        showError(saveError, `Niet opgeslagen: ${error.message}`);
      }
    }
  });

  async function start() {
    try {
      const [me, list, vocab] = await Promise.all([get("/auth/me"), get("/regions"), vocabulary()]);
      if (disposed) return;
      regions = list;
      careForms = vocab.care_forms;
      const own = regions.find((r) => r.id === me.region_id);
      if (admin && !own && regions.length) {
        // An admin bound to no region acts for every region.
        regionPick.replaceChildren(...regions.map((r) => el("option", { value: r.code }, `${r.name} (${r.code})`)));
        regionField.hidden = false;
        regionPick.addEventListener("change", () => load(regionPick.value));
        load(regionPick.value);
      } else if (own) {
        load(own.code);
      } else {
        form.replaceChildren(...kids());
        showError(pageError, "U bent niet aan een regio gekoppeld; vraag een beheerder om dat te doen.");
      }
    } catch (error) {
      showError(pageError, `De instellingen konden niet worden geladen: ${error.message}`);
    }
  }

  start();
  return () => {
    disposed = true;
  };
}
