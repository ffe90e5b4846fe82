// Coordinator: the waiting list (wachtlijst), a referral form that validates as you type, and
// the ranked options of one youth with every score component drawn as a bar, plus "why not"
// for any group of the region.

import { ApiError, get, post, request } from "../api.js";
import { draft } from "../drafts.js";
import { announce, debounce, el, formatDate, formatDateTime, formatNumber, loading, municipalities, showError, kids } from "../ui.js";

let referralVocabulary = null;
async function refVocab() {
  if (!referralVocabulary) referralVocabulary = await get("/referrals/vocabulary");
  return referralVocabulary;
}

// Column priorities of the list (styles.css): age and intensity give way first, the options never.
const LIST_COLUMNS = [null, "num col-p3", null, "col-p3", "num col-p2", "num col-p2", null, "row-action"];

export function render(root, ctx) {
  if (ctx.params[0]) return renderOptions(root, ctx, Number(ctx.params[0]));
  return renderWaitingList(root, ctx);
}

// ---- the waiting list and the form ------------------------------------------------------

function renderWaitingList(root, { navigate, live }) {
  const listError = el("p", { class: "error", role: "alert", hidden: true });
  const tbody = el("tbody");
  const statusFilter = el("select", { id: "wachtlijst-status" },
    el("option", { value: "waiting" }, "Wachtend"), el("option", { value: "proposed" }, "Voorgesteld"),
    el("option", { value: "accepted" }, "Aankomst verwacht"), el("option", { value: "placed" }, "Geplaatst"),
    el("option", { value: "discharged" }, "Uitgestroomd"), el("option", { value: "" }, "Alle"));
  const formSection = el("section", { class: "card", "aria-labelledby": "nieuw-titel", id: "nieuwe-verwijzing" });
  root.replaceChildren(...kids(el("section", { class: "page wide" },
    el("div", { class: "page-head" }, el("h1", {}, "Wachtlijst")),
    el("div", { class: "two-col wide-form" }, formSection,
      el("div", {},
        el("div", { class: "toolbar" }, el("div", { class: "field inline" }, el("label", { for: "wachtlijst-status" }, "Status"), statusFilter)),
        listError,
        el("div", { class: "table-scroll tall prioritised", role: "region", tabindex: "0", "aria-label": "Verwijzingen" },
          el("table", { class: "data", id: "wachtlijst-tabel" },
            el("caption", {}, "Pseudonieme verwijzingen; langst wachtend en meest urgent bovenaan."),
            el("thead", {}, el("tr", {}, ["Referentie", "Leeftijd", "Zorgvorm", "Intensiteit", "Urgentie", "Wacht (dagen)", "Status", ""]
              .map((h, i) => el("th", { scope: "col", class: LIST_COLUMNS[i] }, h || el("span", { class: "visually-hidden" }, "Acties"))))),
            tbody)))))));

  async function loadList() {
    tbody.replaceChildren(...kids(el("tr", {}, el("td", { colspan: 8 }, loading()))));
    try {
      const [vocab, rows] = await Promise.all([refVocab(), get(`/referrals${statusFilter.value ? `?status=${statusFilter.value}` : ""}`)]);
      rows.sort((a, b) => (b.urgency - a.urgency) || (b.waiting_days - a.waiting_days));
      tbody.replaceChildren(...kids(...rows.map((r) => el("tr", { dataset: { referralId: r.id } },
        el("th", { scope: "row" }, r.reference),
        el("td", { class: "num col-p3" }, String(r.age)),
        el("td", {}, r.care_forms.map((c) => vocab.care_forms[c] || c).join(", ")),
        el("td", { class: "col-p3" }, r.required_intensity),
        el("td", { class: "num col-p2" }, String(r.urgency)),
        el("td", { class: "num col-p2" }, formatNumber(Math.round(r.waiting_days))),
        el("td", {}, r.status_label),
        el("td", { class: "row-action" }, el("a", { href: `#/wachtlijst/${r.id}`, class: "button small secondary" }, "Opties",
          el("span", { class: "visually-hidden" }, ` voor ${r.reference}`)))))));
      if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: 8 }, "Geen verwijzingen met deze status.")));
      showError(listError, null);
    } catch (error) {
      tbody.replaceChildren(...kids());
      showError(listError, `De wachtlijst kon niet worden geladen: ${error.message}`);
    }
  }

  statusFilter.addEventListener("change", loadList);
  const closeForm = referralForm(formSection, { onSaved: (referral) => navigate(`wachtlijst/${referral.id}`) });
  loadList();
  const reloadSoon = debounce(loadList, 300);
  const unsubscribe = live.subscribe((message) => {
    if (typeof message.type === "string" && (message.type.startsWith("referral") || message.type.startsWith("proposal"))) reloadSoon();
  });
  return () => {
    unsubscribe();
    closeForm();
  };
}

// The referral form, new (no `referral`) or to edit one: every change is kept as a draft on the
// server (drafts.js), so a reload or another device finds the input again. Returns a close
// function for the screen's clean-up.
function referralForm(section, { onSaved, referral = null, onCancel = null }) {
  const store = draft(referral ? `verwijzing-wijzigen:${referral.id}` : "verwijzing-nieuw");
  buildReferralForm(section, { onSaved, referral, onCancel, store });
  return () => store.close();
}

async function buildReferralForm(section, { onSaved, referral, onCancel, store }) {
  const title = referral ? `Verwijzing ${referral.reference} wijzigen` : "Nieuwe verwijzing";
  section.replaceChildren(...kids(el("h2", { id: "nieuw-titel" }, title), loading()));
  let vocab;
  let places;
  try {
    [vocab, places] = await Promise.all([refVocab(), municipalities()]);
  } catch (error) {
    section.replaceChildren(...kids(el("h2", { id: "nieuw-titel" }, title),
      el("p", { class: "error", role: "alert" }, `Het formulier kon niet worden geladen: ${error.message}`)));
    return;
  }
  const fields = {};
  const errors = {};
  const currentYear = new Date().getFullYear();

  function wrap(name, label, input, hint = null) {
    const id = `ref-${name}`;
    input.id = id;
    input.name = name;
    const error = el("p", { id: `${id}-fout`, class: "field-error", "aria-live": "polite" });
    input.setAttribute("aria-describedby", [hint ? `${id}-hint` : null, error.id].filter(Boolean).join(" "));
    fields[name] = input;
    errors[name] = error;
    return el("div", { class: "field" }, el("label", { for: id }, label),
      hint ? el("p", { class: "hint", id: `${id}-hint` }, hint) : null, input, error);
  }
  function group(name, legend, boxes, hint = null) {
    const error = el("p", { id: `ref-${name}-fout`, class: "field-error", "aria-live": "polite" });
    errors[name] = error;
    return el("fieldset", { id: `ref-${name}`, "aria-describedby": error.id },
      el("legend", {}, legend), hint ? el("p", { class: "hint" }, hint) : null, el("div", { class: "checks" }, boxes), error);
  }
  const checkbox = (name, value, label) => el("div", { class: "check" },
    el("input", { type: "checkbox", id: `ref-${name}-${value}`, name, value }),
    el("label", { for: `ref-${name}-${value}` }, label));

  const form = el("form", { novalidate: true, "aria-labelledby": "nieuw-titel" },
    wrap("reference", "Referentie (pseudoniem)", el("input", { autocomplete: "off", maxlength: 40, placeholder: "TW-2026-0101" }),
      "Geen naam en geen BSN: een code die alleen uw organisatie kan herleiden."),
    el("div", { class: "form-row" },
      wrap("birth_year", "Geboortejaar", el("input", { type: "number", inputmode: "numeric", min: 1995, max: currentYear })),
      wrap("birth_month", "Geboortemaand", el("select", {}, el("option", { value: "" }, "Kies"),
        ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"]
          .map((m, i) => el("option", { value: i + 1 }, m))))),
    el("div", { class: "form-row" },
      wrap("gender", "Geslacht", el("select", {}, el("option", { value: "" }, "Kies"),
        Object.entries(vocab.genders).map(([code, label]) => el("option", { value: code }, label)))),
      wrap("risk_profile", "Profiel (A stabiel – C hoog risico)", el("select", {},
        vocab.risk_profiles.map((p) => el("option", { value: p }, p))))),
    el("div", { class: "form-row" },
      wrap("home_postcode", "Postcode thuis (4 cijfers)", el("input", { inputmode: "numeric", maxlength: 4, autocomplete: "off" })),
      wrap("home_municipality", "of woongemeente", el("select", {}, el("option", { value: "" }, "Kies"),
        places.map((m) => el("option", { value: m.name }, m.name))))),
    group("care_forms", "Zorgvorm (één of meer, in volgorde van voorkeur)",
      Object.entries(vocab.care_forms).filter(([c]) => c !== "crisis" && c !== "crisispleegzorg").map(([code, label]) => checkbox("care_forms", code, label))),
    el("div", { class: "form-row" },
      wrap("required_intensity", "Benodigde verblijfsintensiteit", el("select", {}, el("option", { value: "" }, "Kies"),
        vocab.intensities.map((i) => el("option", { value: i }, i)))),
      wrap("urgency", "Urgentie (1 laag – 5 hoog)", el("select", {}, [1, 2, 3, 4, 5].map((u) => el("option", { value: u, selected: u === 3 }, String(u)))))),
    group("needs", "Zorgbehoeften", Object.entries(vocab.need_tags).map(([code, label]) => checkbox("needs", code, label))),
    el("div", { class: "check" }, el("input", { type: "checkbox", id: "ref-secure", name: "secure_authorisation" }),
      el("label", { for: "ref-secure" }, "Machtiging gesloten jeugdhulp aanwezig")),
    wrap("max_distance_km", "Maximale afstand (km, optioneel)", el("input", { type: "number", inputmode: "numeric", min: 1, max: 500 })));
  const formError = el("p", { class: "error", role: "alert", hidden: true });
  const submitText = referral ? "Wijzigingen opslaan" : "Verwijzing opslaan en opties tonen";
  const submit = el("button", { type: "submit", class: "button primary" }, submitText);
  const cancel = onCancel ? el("button", { type: "button", class: "button secondary" }, "Annuleren") : null;
  form.append(formError, el("div", { class: "actions" }, submit, cancel));
  section.replaceChildren(...kids(el("h2", { id: "nieuw-titel" }, title), form));
  if (referral) {
    // The pseudonymous reference is the referral's name in every list: it does not change.
    fields.reference.readOnly = true;
  }

  const checked = (name) => [...form.querySelectorAll(`input[name='${name}']:checked`)].map((i) => i.value);
  const order = []; // care forms in the order they were ticked: the order of preference

  function read() {
    const body = {
      reference: fields.reference.value.trim(),
      birth_year: fields.birth_year.value === "" ? null : Number(fields.birth_year.value),
      birth_month: fields.birth_month.value === "" ? null : Number(fields.birth_month.value),
      gender: fields.gender.value || null,
      risk_profile: fields.risk_profile.value,
      care_forms: order.filter((c) => checked("care_forms").includes(c)),
      required_intensity: fields.required_intensity.value || null,
      urgency: Number(fields.urgency.value),
      needs: checked("needs"),
      secure_authorisation: form.querySelector("#ref-secure").checked,
    };
    if (fields.home_postcode.value.trim()) body.home_postcode = fields.home_postcode.value.trim();
    if (fields.home_municipality.value) body.home_municipality = fields.home_municipality.value;
    if (fields.max_distance_km.value !== "") body.max_distance_km = Number(fields.max_distance_km.value);
    return body;
  }

  // One rule per field, in the user's words; the server checks again.
  const rules = {
    reference: (b) => (!b.reference ? "Vul een referentie in."
      : !/^[A-Za-z0-9_.-]{2,40}$/.test(b.reference) ? "Gebruik 2 tot 40 letters, cijfers, punten, streepjes of liggende streepjes (geen spaties)."
        : /^\d{8,9}$/.test(b.reference) ? "Dit lijkt op een BSN; gebruik een pseudoniem zoals TW-2026-0101." : null),
    birth_year: (b) => (b.birth_year === null ? "Vul het geboortejaar in."
      : !Number.isInteger(b.birth_year) || b.birth_year < 1995 || b.birth_year > currentYear ? `Het geboortejaar ligt tussen 1995 en ${currentYear}.` : null),
    birth_month: (b) => (b.birth_month === null ? "Kies de geboortemaand." : null),
    gender: (b) => (!b.gender ? "Kies het geslacht." : null),
    home_postcode: (b) => (b.home_postcode && !/^\d{4}$/.test(b.home_postcode) ? "Een postcode hier is precies 4 cijfers, bijvoorbeeld 7511."
      : !b.home_postcode && !b.home_municipality ? "Vul een postcode in of kies een woongemeente." : null),
    care_forms: (b) => (!b.care_forms.length ? "Kies minstens één zorgvorm." : null),
    required_intensity: (b) => (!b.required_intensity ? "Kies de benodigde verblijfsintensiteit (A tot en met S)." : null),
    max_distance_km: (b) => (b.max_distance_km !== undefined && !(b.max_distance_km > 0 && b.max_distance_km <= 500) ? "De afstand ligt tussen 1 en 500 km." : null),
  };
  const touched = new Set();

  function check(name, body) {
    const message = rules[name] ? rules[name](body) : null;
    if (errors[name]) errors[name].textContent = message || "";
    const input = fields[name] || form.querySelector(`#ref-${name}`);
    if (input) input.setAttribute("aria-invalid", message ? "true" : "false");
    return !message;
  }

  function saveDraft() {
    // Nothing typed is lost: the server keeps the draft (a reload, another device).
    store.save({ ...read(), care_order: order });
  }

  function fill(values) {
    for (const name of ["reference", "birth_year", "birth_month", "gender", "risk_profile", "required_intensity", "urgency", "home_postcode", "home_municipality", "max_distance_km"]) {
      if (values[name] !== undefined && values[name] !== null) fields[name].value = String(values[name]);
    }
    order.length = 0;
    form.querySelectorAll("input[name='care_forms'], input[name='needs']").forEach((box) => { box.checked = false; });
    for (const code of values.care_order || values.care_forms || []) {
      const box = form.querySelector(`#ref-care_forms-${code}`);
      if (box) {
        box.checked = true;
        order.push(code);
      }
    }
    for (const code of values.needs || []) {
      const box = form.querySelector(`#ref-needs-${code}`);
      if (box) box.checked = true;
    }
    form.querySelector("#ref-secure").checked = Boolean(values.secure_authorisation);
  }

  async function restoreDraft() {
    if (referral) {
      const home = places.find((m) => m.id === referral.home_municipality_id);
      fill({ ...referral, home_municipality: home ? home.name : null });
    }
    const saved = await store.load();
    if (saved) {
      fill(saved);
      form.prepend(el("p", { class: "notice", role: "status" }, "Uw eerder ingevulde gegevens zijn teruggezet."));
    }
  }

  form.addEventListener("input", (event) => {
    const target = event.target;
    if (target.name === "care_forms") {
      const at = order.indexOf(target.value);
      if (target.checked && at < 0) order.push(target.value);
      if (!target.checked && at >= 0) order.splice(at, 1);
    }
    const name = target.name === "home_municipality" ? "home_postcode" : target.name;
    touched.add(name);
    const body = read();
    // Validate as you type, but only fields the user has reached.
    for (const field of touched) check(field, body);
    saveDraft();
  });
  form.addEventListener("focusout", (event) => {
    const name = event.target.name === "home_municipality" ? "home_postcode" : event.target.name;
    if (name && rules[name]) {
      touched.add(name);
      check(name, read());
    }
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(formError, null);
    const body = read();
    const bad = Object.keys(rules).filter((name) => !check(name, body));
    if (bad.length) {
      const first = fields[bad[0]] || form.querySelector(`#ref-${bad[0]} input`);
      first?.focus();
      showError(formError, `Verbeter ${bad.length === 1 ? "het gemarkeerde veld" : `de ${bad.length} gemarkeerde velden`}.`);
      return;
    }
    submit.disabled = true;
    submit.textContent = "Opslaan…";
    try {
      let saved;
      if (referral) {
        const changes = { ...body };
        delete changes.reference; // the reference does not change
        // Send the home area whole: an emptied postcode must be cleared, not kept.
        changes.home_postcode = body.home_postcode || null;
        changes.max_distance_km = body.max_distance_km ?? null;
        saved = (await request(`/referrals/${referral.id}`, {
          method: "PATCH", json: changes, headers: { "If-Match": `"${referral.version}"` },
        })).data;
      } else {
        saved = await post("/referrals", body);
      }
      await store.discard();
      announce(referral ? `Verwijzing ${saved.reference} gewijzigd.` : `Verwijzing ${saved.reference} opgeslagen.`);
      onSaved(saved);
    } catch (error) {
      let placed = false;
      if (error instanceof ApiError) {
        for (const item of error.errors) {
          const name = (item.field || "").split(".")[0];
          if (errors[name]) {
            errors[name].textContent = item.message;
            placed = true;
          }
        }
      }
      showError(formError, placed ? "Verbeter de gemarkeerde velden. Uw invoer is bewaard." : `${error.message} Uw invoer is bewaard.`);
    } finally {
      submit.disabled = false;
      submit.textContent = submitText;
    }
  });
  if (cancel) {
    cancel.addEventListener("click", async () => {
      await store.discard();
      onCancel();
    });
  }
  restoreDraft();
}

// ---- ranked options of one youth ---------------------------------------------------------

function bars(components, labels, { weights = null } = {}) {
  return el("div", { class: "bars" }, Object.entries(components).map(([key, value]) => {
    const pct = Math.max(0, Math.min(1, value)) * 100;
    const weight = weights ? weights[key] ?? weights[`${key}_preference`] : null;
    return el("div", { class: "bar-row" },
      el("span", { class: "bar-label" }, labels[key] || key),
      el("span", {
        class: "bar-track", role: "meter", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": Math.round(pct),
        "aria-label": `${labels[key] || key}: ${Math.round(pct)} van 100`,
      }, el("span", { class: "bar-fill", style: `width:${pct.toFixed(1)}%` })),
      el("span", { class: "bar-value" }, `${Math.round(pct)}%${weight ? ` ×${formatNumber(weight)}` : ""}`));
  }));
}

const OPEN_STATUSES = ["waiting", "proposed"];
const dateText = (v) => (v ? new Intl.DateTimeFormat("nl-NL", { day: "2-digit", month: "2-digit", year: "numeric" }).format(new Date(v)) : "–");

// The referral's history, oldest first: what happened, where, who and when.
function timelineList(events) {
  if (!events.length) return el("p", { class: "hint" }, "Nog niets gebeurd sinds de invoer.");
  return el("ol", { class: "timeline", id: "tijdlijn-lijst" }, events.map((e) => el("li", { class: `timeline-item ${e.kind}`, dataset: { kind: e.kind } },
    el("time", { datetime: e.at }, formatDateTime(e.at)),
    el("div", {},
      el("strong", {}, e.title), e.group_name ? ` · ${e.group_name}${e.provider_name ? ` (${e.provider_name})` : ""}` : "",
      e.reason ? el("p", { class: "reason" }, `Reden: ${e.reason}`) : null,
      e.expected_arrival ? el("p", {}, `Verwacht op ${dateText(`${e.expected_arrival}T12:00:00`)}`) : null,
      e.destination ? el("p", {}, `Naar: ${e.destination}`) : null,
      el("p", { class: "hint" }, `door ${e.who}`)))));
}

function renderOptions(root, { live }, referralId) {
  const head = el("div", { class: "page-head" }, el("h1", {}, "Verwijzing"), el("a", { href: "#/wachtlijst" }, "← Terug naar de wachtlijst"));
  const summary = el("div", { class: "card referral-summary" }, loading());
  const editSection = el("section", { class: "card", id: "verwijzing-wijzigen", "aria-labelledby": "nieuw-titel", hidden: true });
  const timelineCard = el("section", { class: "card", id: "tijdlijn", "aria-labelledby": "tijdlijn-titel" },
    el("h2", { id: "tijdlijn-titel" }, "Tijdlijn"), loading());
  let closeEdit = () => {};
  const placementsCard = el("section", { class: "card referral-placements", id: "plaatsingen", "aria-labelledby": "plaatsingen-titel", hidden: true });
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const optionList = el("ol", { class: "options", id: "opties" });
  const excluded = el("div", { class: "excluded" });
  const whyGroup = el("select", { id: "waarom-groep" }, el("option", { value: "" }, "Kies een groep"));
  const whyButton = el("button", { type: "button", class: "button secondary" }, "Waarom (niet)?");
  const whyResult = el("div", { id: "waarom-resultaat", "aria-live": "polite" });
  const optionsBlock = el("div", { class: "two-col options-layout" },
      el("section", { "aria-labelledby": "opties-titel" }, el("h2", { id: "opties-titel" }, "Beste plekken voor deze jongere"),
        el("p", { class: "hint" }, "Elke balk is één onderdeel van de score; de lengte is hoe goed de groep erop scoort."), optionList),
      el("section", { "aria-labelledby": "waarom-titel", class: "card" },
        el("h2", { id: "waarom-titel" }, "Waarom niet?"),
        el("p", { class: "hint" }, "Kies een groep om te zien welke regels hij niet haalt en hoe hij scoort."),
        el("div", { class: "field" }, el("label", { for: "waarom-groep" }, "Groep"), whyGroup), whyButton, whyResult,
        el("h3", {}, "Uitgesloten groepen per regel"), excluded));
  root.replaceChildren(...kids(el("section", { class: "page wide" }, head, pageError, summary, editSection,
    placementsCard, optionsBlock, timelineCard)));

  let labels = {};
  let weights = null;
  let referral = null;
  let disposed = false;

  async function load() {
    try {
      const [ref, history, placements] = await Promise.all([
        get(`/referrals/${referralId}?purpose=matching_options`),
        get(`/referrals/${referralId}/timeline`),
        get(`/placements?referral_id=${referralId}`).catch(() => []),
      ]);
      if (disposed) return;
      referral = ref;
      const vocab = await refVocab();
      const open = OPEN_STATUSES.includes(ref.status);
      timelineCard.replaceChildren(el("h2", { id: "tijdlijn-titel" }, "Tijdlijn"), timelineList(history.events));
      paintPlacements(placements);
      optionsBlock.hidden = !open;
      // A placed, discharged or withdrawn youth has nothing to choose: no options, no ranking.
      const options = open ? await get(`/referrals/${referralId}/options`) : null;
      if (disposed) return;
      summary.replaceChildren(...kids(
        el("h2", {}, `${ref.reference} · ${ref.age} jaar · ${vocab.genders[ref.gender] || ref.gender}`),
        el("p", {}, `Zorgvorm: ${ref.care_forms.map((c) => vocab.care_forms[c] || c).join(" › ")} · intensiteit ${ref.required_intensity}`
          + ` · profiel ${ref.risk_profile} · urgentie ${ref.urgency} · wacht ${Math.round(ref.waiting_days)} dagen · `,
        el("strong", { id: "verwijzing-status" }, ref.status_label)),
        placedText(history.placed),
        ref.needs.length ? el("p", {}, `Zorgbehoeften: ${ref.needs.map((n) => vocab.need_tags[n] || n).join(", ")}`) : null,
        options ? el("p", { class: "hint" }, `${options.feasible_count} van ${options.total_groups} groepen passen.`) : null,
        open ? actionsFor(ref) : null));
      if (!options) return;
      labels = options.component_labels;
      weights = options.weights;
      const groups = await get("/groups");
      paintOptions(options);
      excluded.replaceChildren(...kids(el("ul", {}, Object.entries(options.excluded).filter(([, n]) => n > 0)
        .map(([rule, n]) => el("li", {}, `${options.excluded_reasons[rule] || rule}: ${n}`)))));
      whyGroup.replaceChildren(...kids(el("option", { value: "" }, "Kies een groep"),
        ...groups.sort((a, b) => a.name.localeCompare(b.name)).map((g) => el("option", { value: g.id }, `${g.name} (${g.provider_name || ""})`))));
      showError(pageError, null);
    } catch (error) {
      showError(pageError, `De opties konden niet worden geladen: ${error.message}`);
    }
  }

  // Where a placed youth is, since when (and until when): in the summary, not as options.
  function placedText(placed) {
    if (!placed) return null;
    const until = placed.discharged_at ? ` tot ${dateText(placed.discharged_at)}` : "";
    return el("p", { id: "geplaatst" }, "In ", el("strong", {}, placed.group_name),
      ` bij ${placed.provider_name} · sinds ${dateText(placed.placed_at)}${until}`);
  }

  // The same actions node while the referral is unchanged: a live reload of the page must not
  // wipe a withdrawal reason being typed.
  let actions = null;
  function actionsFor(ref) {
    if (!actions || actions.version !== ref.version) actions = { version: ref.version, node: referralActions(ref) };
    return actions.node;
  }

  // Edit (the same form as a new referral, kept as a draft) and withdraw with a reason.
  function referralActions(ref) {
    const edit = el("button", { type: "button", class: "button secondary", id: "verwijzing-wijzig-knop" }, "Wijzigen");
    const withdrawOpen = el("button", { type: "button", class: "button danger", id: "verwijzing-intrek-knop" }, "Intrekken");
    const reason = el("input", { id: "intrek-reden", maxlength: 200, autocomplete: "off" });
    const reasonError = el("p", { class: "field-error", id: "intrek-reden-fout", "aria-live": "polite" });
    reason.setAttribute("aria-describedby", reasonError.id);
    const confirm = el("button", { type: "button", class: "button danger" }, "Verwijzing intrekken");
    const withdrawBox = el("div", { class: "withdraw", hidden: true },
      el("div", { class: "field" }, el("label", { for: "intrek-reden" }, "Reden van intrekken"), reason, reasonError), confirm);
    const store = draft(`verwijzing-intrekken:${ref.id}`);
    store.load().then((saved) => {
      if (saved && saved.reason && !reason.value) {
        reason.value = saved.reason;
        withdrawBox.hidden = false;
      }
    });
    reason.addEventListener("input", () => store.save({ reason: reason.value }));
    edit.addEventListener("click", () => {
      editSection.hidden = false;
      closeEdit();
      closeEdit = referralForm(editSection, {
        referral: ref,
        onSaved: () => {
          editSection.hidden = true;
          load();
        },
        onCancel: () => {
          editSection.hidden = true;
        },
      });
      editSection.scrollIntoView({ block: "start" });
    });
    withdrawOpen.addEventListener("click", () => {
      withdrawBox.hidden = false;
      reason.focus();
    });
    confirm.addEventListener("click", async () => {
      const text = reason.value.trim();
      if (text.length < 3) {
        reasonError.textContent = "Geef een reden van minstens 3 tekens.";
        reason.setAttribute("aria-invalid", "true");
        reason.focus();
        return;
      }
      confirm.disabled = true;
      try {
        await post(`/referrals/${ref.id}/withdraw`, { reason: text });
        await store.discard();
        announce(`Verwijzing ${ref.reference} is ingetrokken.`);
        load();
      } catch (error) {
        reasonError.textContent = error.fieldMessage && error.fieldMessage("reason") ? error.fieldMessage("reason") : error.message;
        confirm.disabled = false;
      }
    });
    return el("div", { class: "referral-actions" }, el("div", { class: "actions" }, edit, withdrawOpen), withdrawBox);
  }

  // Where the youth was placed, from when until when (newest first); an expected arrival can be
  // called off here by the coordinator.
  function paintPlacements(placements) {
    placementsCard.hidden = !placements.length;
    if (!placements.length) return;
    const dateOnly = formatDate;
    const rows = placements.map((p) => {
      const period = p.status === "accepted"
        ? `verwacht op ${dateOnly(`${p.expected_arrival}T12:00:00`)}`
        : p.arrived_at ? `van ${dateOnly(p.arrived_at)} tot ${p.discharged_at ? dateOnly(p.discharged_at) : "nu"}` : "";
      const end = p.destination_label ? ` · uitstroom naar: ${p.destination_label}` : p.end_reason ? ` · reden: ${p.end_reason}` : "";
      const row = el("li", { dataset: { placementId: p.id } },
        el("strong", {}, p.group_name || `groep ${p.group_id}`), ` · ${p.status_label} · ${period}${end}`);
      if (p.status === "accepted") {
        const error = el("p", { class: "error", role: "alert", hidden: true });
        const reasonId = `plaatsing-reden-${p.id}`;
        const reason = el("input", { id: reasonId, maxlength: 500 });
        const noShow = el("button", { type: "button", class: "button small danger" }, "Niet verschenen");
        const cancel = el("button", { type: "button", class: "button small secondary" }, "Gaat niet door");
        for (const [button, kind] of [[noShow, "no_show"], [cancel, "cancelled"]]) {
          button.addEventListener("click", async () => {
            if (reason.value.trim().length < 3) {
              showError(error, "Geef een reden (minstens 3 tekens).");
              reason.focus();
              return;
            }
            button.disabled = true;
            try {
              await post(`/placements/${p.id}/no-show`, { kind, reason: reason.value.trim() });
              announce("De jongere staat weer op de wachtlijst; de plek is vrijgegeven.");
              load();
            } catch (err) {
              showError(error, err.message);
              button.disabled = false;
            }
          });
        }
        row.append(el("div", { class: "field inline" }, el("label", { for: reasonId }, "Reden"), reason), noShow, cancel, error);
      }
      return row;
    });
    placementsCard.replaceChildren(...kids(el("h2", { id: "plaatsingen-titel" }, "Plaatsing"), el("ul", {}, rows)));
  }

  function paintOptions(options) {
    optionList.replaceChildren(...kids(...options.options.map((o, index) => {
      const propose = el("button", { type: "button", class: "button primary small" }, "Voorstel sturen");
      const error = el("p", { class: "error", role: "alert", hidden: true });
      const item = el("li", { class: "card option", dataset: { groupId: o.group_id } },
        el("div", { class: "result-head" },
          el("h3", {}, `${index + 1}. ${o.group_name}`),
          el("span", { class: "score" }, `score ${formatNumber(o.score, 2)}`)),
        el("p", { class: "meta" }, `${o.provider_name} · ${o.care_form_label} · intensiteit ${o.intensity} · ${formatNumber(o.distance_km, 1)} km · ${o.free_places} vrij`),
        o.stale ? el("p", { class: "warning" }, `Cijfer is verouderd (${Math.round(o.report_age_hours)} uur oud): bel de aanbieder.`) : null,
        bars(o.components, labels, { weights }),
        referral && referral.status === "waiting" ? el("div", { class: "actions" }, propose) : null, error);
      propose.addEventListener("click", async () => {
        propose.disabled = true;
        try {
          await post(`/referrals/${referralId}/proposals`, { group_id: o.group_id });
          item.append(el("p", { class: "notice", role: "status" }, "Voorstel verstuurd naar de aanbieder; de plek wordt vastgehouden."));
          propose.remove();
        } catch (err) {
          showError(error, err.message);
          propose.disabled = false;
        }
      });
      return item;
    })));
    if (!options.options.length) optionList.append(el("li", { class: "card" }, "Geen groep past nu. Zie hiernaast waarom."));
    if (options.expected_free_soon && options.expected_free_soon.length) {
      optionList.append(el("li", { class: "card" }, el("h3", {}, "Binnenkort vrij"),
        el("ul", {}, options.expected_free_soon.map((g) => el("li", {}, `${g.group_name || g.name} – ${g.expected_free_date || ""}`)))));
    }
  }

  whyButton.addEventListener("click", async () => {
    if (!whyGroup.value) {
      whyResult.replaceChildren(...kids(el("p", { class: "field-error" }, "Kies eerst een groep.")));
      whyGroup.focus();
      return;
    }
    whyResult.replaceChildren(...kids(loading()));
    try {
      const why = await get(`/referrals/${referralId}/options/${whyGroup.value}`);
      whyResult.replaceChildren(...kids(
        el("h3", {}, why.group_name),
        why.feasible
          ? el("p", { class: "notice" }, "Deze groep past: hij haalt alle regels.")
          : el("div", {}, el("p", {}, "Deze groep past niet, omdat:"),
            el("ul", { class: "failed-rules" }, why.failed_rules.map((r) => el("li", {}, r.reason)))),
        why.needs_missing && why.needs_missing.length ? el("p", {}, `Ontbrekende expertise: ${why.needs_missing.join(", ")}`) : null,
        el("p", { class: "hint" }, `Score als hij wel zou passen: ${formatNumber(why.score, 2)}`),
        bars(why.components, why.component_labels || labels)));
    } catch (error) {
      whyResult.replaceChildren(...kids(el("p", { class: "error", role: "alert" }, error.message)));
    }
  });

  load();
  const reloadOptions = debounce(load, 300);
  const unsubscribe = live.subscribe((message) => {
    // A place that fills or frees changes the ranking: reload when a group in the list changes.
    if (message.group && optionList.querySelector(`[data-group-id='${message.group.id}']`)) reloadOptions();
    else if (message.type === "placement.changed" || (typeof message.type === "string" && message.type.startsWith("proposal."))
      || (message.type === "referral.changed" && message.referral_id === referralId)) reloadOptions();
  });
  return () => {
    disposed = true;
    unsubscribe();
    closeEdit();
  };
}

export { bars };
