// Contractregister: the region's register of providers, locations, groups, contracts and
// tariffs as one file. Whoever may read it downloads it (Excel, or a zip of CSV files); the
// region's admin uploads a changed file, first sees what it would change (a dry run: counts per
// sheet and the changes, or every problem by sheet, row and column, and then nothing changes),
// and applies it with "Toepassen". Below that: the providers' open requests for places, and the
// contract versions of each group with a form for a new version (admin).

import { ApiError, get, post, request, session } from "../api.js";
import { announce, debounce, downloadBlob, el, formatDateTime, formatNumber, kids, loading, showError } from "../ui.js";
import { formatDate, placesText, sentence, termForm, termsTable, who } from "./contracts.js";

const SHEETS = [
  ["regio", "Regio"], ["gemeenten", "Gemeenten"], ["aanbieders", "Aanbieders"], ["locaties", "Locaties"],
  ["groepen", "Groepen"], ["contracten", "Contracten"], ["tarieven", "Tarieven"],
];
const SHEET_ORDER = Object.fromEntries(SHEETS.map(([name], index) => [name, index]));
const KINDS = [["added", "toegevoegd"], ["changed", "gewijzigd"], ["ended", "beëindigd"]];
const KIND_LABEL = Object.fromEntries(KINDS);

// The template's column headers by field (backend/register/sheets.py), to name what changed
// in the words of the file.
const COMMON = { agb_code: "AGB-code", name: "Naam", active_from: "Actief vanaf", active_to: "Actief tot", lat: "Breedtegraad", lon: "Lengtegraad" };
const HEADERS = {
  regio: { code: "Regiocode" },
  gemeenten: { cbs_code: "CBS-code" },
  aanbieders: { phone_24h: "Telefoon 24 uur", contact_email: "E-mail" },
  locaties: { code: "Locatiecode", postcode: "Postcode", municipality: "Gemeente" },
  groepen: {
    code: "Groepscode", location: "Locatiecode", location_code: "Locatiecode", care_form: "Zorgvorm", level: "Niveau",
    age_min: "Leeftijd van", age_max: "Leeftijd tot", gender_policy: "Gender", risk_profiles: "Risicoprofielen",
    expertise: "Expertise", weekly_roster_hours: "Roosteruren per week", occupancy_norm: "Bezettingsnorm", is_crisis: "Crisis",
  },
  contracten: {
    group_code: "Groepscode", valid_from: "Geldig vanaf", valid_to: "Geldig tot", contracted_places: "Plaatsen",
    day_tariff: "Dagtarief", availability_funded: "Beschikbaarheidsbekostiging", availability_share: "Beschikbaarheidsdeel",
  },
  tarieven: { care_form: "Zorgvorm", intensity: "Intensiteit", day_tariff: "Dagtarief", valid_from: "Geldig vanaf", valid_to: "Geldig tot" },
};
const MAX_PROBLEMS_PER_SHEET = 500;

function header(sheet, fieldName) {
  return (HEADERS[sheet] || {})[fieldName] || COMMON[fieldName] || fieldName;
}

// "groepen: 1 toegevoegd; contracten: 1 toegevoegd, 2 gewijzigd", or null when nothing changes.
export function countsSentence(counts) {
  const parts = [];
  for (const [sheet] of SHEETS) {
    const c = counts[sheet] || {};
    const said = KINDS.filter(([kind]) => c[kind]).map(([kind, label]) => `${formatNumber(c[kind])} ${label}`);
    if (said.length) parts.push(`${sheet}: ${said.join(", ")}`);
  }
  return parts.length ? parts.join("; ") : null;
}

function countsTable(counts, caption) {
  const total = { added: 0, changed: 0, ended: 0 };
  const rows = SHEETS.map(([sheet, label]) => {
    const c = counts[sheet] || {};
    const zero = KINDS.every(([kind]) => !c[kind]);
    for (const [kind] of KINDS) total[kind] += c[kind] || 0;
    return el("tr", { dataset: { sheet }, class: zero ? "zero" : null },
      el("th", { scope: "row" }, label),
      KINDS.map(([kind]) => el("td", { class: `num ${kind}` }, formatNumber(c[kind] || 0))));
  });
  return el("div", { class: "table-scroll counts" }, el("table", { class: "data counts-table", id: "import-aantallen" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Tabblad"),
      // Soft hyphens let the headers break on a phone rather than push the table sideways.
      ["Toege\u00advoegd", "Gewij\u00adzigd", "Beëin\u00addigd"].map((label) => el("th", { scope: "col", class: "num" }, label)))),
    el("tbody", {}, rows),
    el("tfoot", {}, el("tr", {}, el("th", { scope: "row" }, "Totaal"),
      KINDS.map(([kind]) => el("td", { class: `num ${kind}` }, formatNumber(total[kind])))))));
}

function changesTable(changes, total) {
  const shown = changes.length < total
    ? `De eerste ${formatNumber(changes.length)} van ${formatNumber(total)} wijzigingen.` : `${formatNumber(total)} ${total === 1 ? "wijziging" : "wijzigingen"}.`;
  return el("div", {},
    el("h3", { id: "wijzigingen-titel" }, "Wijzigingen"),
    el("p", { class: "hint" }, shown),
    el("div", { class: "table-scroll tall", tabindex: "0", role: "region", "aria-labelledby": "wijzigingen-titel" },
      el("table", { class: "data", id: "import-wijzigingen" },
        el("thead", {}, el("tr", {}, ["Tabblad", "Sleutel", "Wijziging", "Kolommen"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, changes.map((c) => el("tr", { dataset: { sheet: c.sheet, kind: c.kind } },
          el("td", {}, c.sheet), el("td", { class: "key" }, c.key), el("td", {}, KIND_LABEL[c.kind] || c.kind),
          el("td", {}, c.kind === "added" ? "nieuwe rij" : (c.fields || []).map((f) => header(c.sheet, f)).join(", "))))))));
}

function problemsList(problems) {
  const bySheet = new Map();
  const sorted = [...problems].sort((a, b) => ((SHEET_ORDER[a.sheet] ?? 99) - (SHEET_ORDER[b.sheet] ?? 99))
    || ((a.row ?? 0) - (b.row ?? 0)));
  for (const problem of sorted) {
    const key = problem.sheet || "bestand";
    if (!bySheet.has(key)) bySheet.set(key, []);
    bySheet.get(key).push(problem);
  }
  return el("div", { class: "problems", id: "import-problemen" }, [...bySheet].map(([sheet, list]) => {
    const more = list.length - MAX_PROBLEMS_PER_SHEET;
    return el("section", { class: "problem-sheet", dataset: { sheet } },
      el("h3", {}, `Tabblad ${sheet}: ${formatNumber(list.length)} ${list.length === 1 ? "probleem" : "problemen"}`),
      el("ul", {}, list.slice(0, MAX_PROBLEMS_PER_SHEET).map((p) => {
        const where = [p.row !== null && p.row !== undefined ? `rij ${p.row}` : null, p.column ? `kolom '${p.column}'` : null]
          .filter(Boolean).join(", ");
        return el("li", { dataset: { row: p.row ?? "", column: p.column ?? "" } },
          el("strong", {}, where ? sentence(where).slice(0, -1) + ":" : "Het tabblad:"), " ", sentence(p.message));
      })),
      more > 0 ? el("p", { class: "hint" }, `En nog ${formatNumber(more)} ${more === 1 ? "probleem" : "problemen"} op dit tabblad.`) : null);
  }));
}

// The upload as XMLHttpRequest, for its upload progress. Resolves with the JSON body of a 200
// and of a refused file (422 register_invalid, which has the same shape); rejects otherwise.
function sendRegister(files, { dryRun, region, onProgress, onUploaded }) {
  return new Promise((resolve, reject) => {
    const params = new URLSearchParams({ dry_run: dryRun ? "true" : "false" });
    if (region) params.set("region", region);
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `/api/v1/register/import?${params}`);
    xhr.setRequestHeader("Accept", "application/json");
    const current = session.get();
    if (current) xhr.setRequestHeader("Authorization", `Bearer ${current.token}`);
    xhr.upload.addEventListener("progress", (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    xhr.upload.addEventListener("load", onUploaded);
    xhr.addEventListener("error", () => reject(new ApiError(0, "Geen verbinding met de server. Er is niets gewijzigd; probeer het zo opnieuw.")));
    xhr.addEventListener("abort", () => reject(new ApiError(0, "Het versturen is afgebroken.")));
    xhr.addEventListener("load", () => {
      let body;
      try {
        body = JSON.parse(xhr.responseText);
      } catch {
        body = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && body) {
        resolve(body);
        return;
      }
      if (xhr.status === 422 && body && body.code === "register_invalid") {
        resolve(body);
        return;
      }
      if (xhr.status === 401) get("/auth/me").catch(() => {}); // lets the app log out as for any request
      const message = body && typeof body.detail === "string" ? body.detail
        : xhr.status === 413 ? "Het bestand is te groot."
          : xhr.status >= 500 ? "Er ging iets mis op de server. Er is niets gewijzigd; probeer het later opnieuw."
            : `Het inlezen is mislukt (${xhr.status}).`;
      reject(new ApiError(xhr.status, message, { code: body && body.code, errors: (body && body.errors) || [], body }));
    });
    const form = new FormData();
    for (const file of files) form.append("files", file, file.name);
    xhr.send(form);
  });
}

// A register is one .xlsx, one .zip, or CSV files; anything else is said before uploading.
function fileProblem(files) {
  if (!files.length) return "Kies eerst een bestand: een Excel-werkmap (.xlsx), een zip met CSV-bestanden, of de CSV-bestanden zelf.";
  const names = files.map((f) => f.name.toLowerCase());
  if (files.length === 1 && (names[0].endsWith(".xlsx") || names[0].endsWith(".zip"))) return null;
  if (names.every((n) => n.endsWith(".csv"))) return null;
  return "Kies één Excel-werkmap (.xlsx), één zip met CSV-bestanden, of alleen CSV-bestanden.";
}

export function render(root, { user, live, params }) {
  const admin = user.role === "admin";
  let disposed = false;
  let busy = false;
  let region = null; // {code, name} of the register shown
  let groups = new Map(); // id -> group
  const pending = new Map(); // term id -> request
  let selectedGroup = null;

  // -- download ------------------------------------------------------------------------------
  const regionLine = el("p", { class: "freshness", id: "register-regio" });
  const regionSelect = el("select", { id: "register-regio-kiezen" });
  const regionChoice = el("div", { class: "field inline", hidden: true },
    el("label", { for: "register-regio-kiezen" }, "Regio"), regionSelect);
  const xlsx = el("button", { type: "button", class: "button secondary" }, "Download Excel");
  const csv = el("button", { type: "button", class: "button secondary" }, "Download CSV (zip)");
  const downloadError = el("p", { class: "error", role: "alert", hidden: true });
  const exportCard = el("section", { class: "card register-part", "aria-labelledby": "export-titel" },
    el("h2", { id: "export-titel" }, "Register downloaden"),
    el("p", { class: "hint" }, "Alle aanbieders, locaties, groepen, contracten en tarieven van de regio, in het sjabloon om in te lezen. "
      + "Een Excel-werkmap met een tabblad per onderdeel, of een zip met een CSV-bestand per tabblad."),
    regionChoice,
    el("div", { class: "actions" }, xlsx, csv), downloadError);

  // -- upload (admin) ------------------------------------------------------------------------
  // The browser's own file button speaks the browser's language; this one speaks Dutch.
  const fileInput = el("input", {
    type: "file", accept: ".xlsx,.zip,.csv", multiple: true, id: "register-bestand", class: "file-input",
    "aria-describedby": "register-bestand-hint register-bestand-gekozen register-bestand-fout",
  });
  const chosen = el("span", { class: "file-names", id: "register-bestand-gekozen" }, "Geen bestand gekozen");
  const fileError = el("p", { id: "register-bestand-fout", class: "field-error", "aria-live": "polite" });
  const check = el("button", { type: "submit", class: "button primary" }, "Controleren");
  const apply = el("button", { type: "button", class: "button ok", hidden: true }, "Toepassen");
  const again = el("button", { type: "button", class: "button secondary", hidden: true }, "Ander bestand kiezen");
  const phase = el("span", { class: "phase" });
  // The phase is read out when it changes; the percentage and the seconds only show.
  const elapsed = el("span", { class: "elapsed", "aria-hidden": "true" });
  const bar = el("progress", { class: "progress", max: 1, "aria-label": "Voortgang van het inlezen" });
  const progress = el("div", { class: "import-progress", id: "import-voortgang", hidden: true },
    el("p", { role: "status", "aria-live": "polite" }, phase, " ", elapsed), bar);
  const importError = el("p", { class: "error", role: "alert", hidden: true, id: "import-fout", tabindex: "-1" });
  const outcome = el("div", { class: "import-outcome", id: "import-resultaat" });
  const importForm = el("form", { class: "import-form", novalidate: true },
    el("div", { class: "field" },
      el("label", { for: "register-bestand" }, "Bestand of bestanden"),
      el("p", { class: "hint", id: "register-bestand-hint" }, "Een Excel-werkmap (.xlsx), een zip met CSV-bestanden, of de CSV-bestanden zelf (regio.csv, groepen.csv, …)."),
      el("div", { class: "file-pick" }, fileInput,
        el("label", { for: "register-bestand", class: "button secondary", "aria-hidden": "true" }, "Bestand kiezen…"), chosen),
      fileError),
    el("div", { class: "actions" }, check));
  const importCard = admin ? el("section", { class: "card register-part", id: "inlezen", "aria-labelledby": "import-titel" },
    el("h2", { id: "import-titel" }, "Register inlezen"),
    el("p", { class: "hint" }, "Eerst controleren: u ziet wat er verandert, of welke rijen niet kloppen. Pas na 'Toepassen' wordt het register gewijzigd; "
      + "een bestand met één fout wordt helemaal niet ingelezen."),
    importForm, progress, importError, outcome,
    el("div", { class: "actions" }, again, apply)) : null;

  // -- open requests for places (admin) --------------------------------------------------------
  const requestsBox = el("div", { class: "requests", id: "aanvragen-lijst" }, loading("Aanvragen laden…"));
  const requestsCard = admin ? el("section", { class: "card register-part", id: "aanvragen", "aria-labelledby": "aanvragen-titel" },
    el("h2", { id: "aanvragen-titel" }, "Aanvragen voor plaatsen"),
    el("p", { class: "hint" }, "Aanbieders vragen meer of minder gecontracteerde plaatsen aan. Goedgekeurd wordt het een nieuwe contractversie."),
    requestsBox) : null;

  // -- contract versions per group ---------------------------------------------------------------
  const groupSelect = el("select", { id: "contract-groep", disabled: true }, el("option", { value: "" }, "Groepen laden…"));
  const versionsBox = el("div", { class: "versions", id: "contractversies-lijst" }, loading("Groepen laden…"));
  const versionsCard = el("section", { class: "card register-part", id: "contractversies", "aria-labelledby": "versies-titel" },
    el("h2", { id: "versies-titel" }, "Contractversies per groep"),
    el("div", { class: "field" }, el("label", { for: "contract-groep" }, "Groep"), groupSelect),
    versionsBox);

  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  root.replaceChildren(...kids(el("section", { class: "page register-page" },
    el("div", { class: "page-head" }, el("h1", {}, "Contractregister"), regionLine),
    el("p", { class: "lead" }, admin
      ? "Het register van de regio als bestand: downloaden, aanpassen in Excel en weer inlezen. Daaronder de aanvragen van aanbieders en de contractversies per groep."
      : "Het register van de regio als bestand om te downloaden, en de contractversies per groep. Alleen de beheerder van de regio leest een register in."),
    pageError, exportCard, importCard, requestsCard, versionsCard)));

  function regionCode() {
    return region ? region.code : null;
  }

  // -- downloads -------------------------------------------------------------------------------
  async function download(format, button) {
    showError(downloadError, null);
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Downloaden…";
    try {
      const query = new URLSearchParams({ format });
      if (regionCode()) query.set("region", regionCode());
      const { data, headers } = await request(`/register/export?${query}`, { blob: true });
      const match = /filename="([^"]+)"/.exec(headers.get("Content-Disposition") || "");
      downloadBlob(data, match ? match[1] : `register.${format === "xlsx" ? "xlsx" : "zip"}`);
      announce("Het register is gedownload.");
    } catch (error) {
      showError(downloadError, `Downloaden is mislukt: ${error.message}`);
    } finally {
      button.disabled = false;
      button.textContent = label;
    }
  }
  xlsx.addEventListener("click", () => download("xlsx", xlsx));
  csv.addEventListener("click", () => download("csv", csv));

  // -- import ----------------------------------------------------------------------------------
  let ticker = null;
  let files = [];
  let preview = null; // the dry run of the files chosen now

  let setProgress = () => {};
  function setBusy(text) {
    busy = Boolean(text);
    outcome.setAttribute("aria-busy", busy ? "true" : "false");
    fileInput.disabled = busy;
    check.disabled = busy;
    apply.disabled = busy;
    again.disabled = busy;
    regionSelect.disabled = busy;
    progress.hidden = !busy;
    clearInterval(ticker);
    if (!busy) return;
    phase.textContent = text;
    const started = Date.now();
    let percent = "";
    const paint = () => {
      const seconds = Math.round((Date.now() - started) / 1000);
      elapsed.textContent = [percent, seconds ? `(${seconds} s)` : ""].filter(Boolean).join(" ");
    };
    setProgress = (fraction) => {
      percent = fraction === null ? "" : `${Math.round(fraction * 100)}%`;
      paint();
    };
    paint();
    ticker = setInterval(paint, 1000);
  }

  function setPhase(text, fraction = null) {
    if (phase.textContent !== text) phase.textContent = text;
    if (fraction === null) bar.removeAttribute("value");
    else bar.value = fraction;
    setProgress(fraction);
  }

  function clearOutcome() {
    preview = null;
    outcome.replaceChildren(...kids());
    showError(importError, null);
    apply.hidden = true;
    again.hidden = true;
  }

  async function run(dryRun) {
    const problem = fileProblem(files);
    fileError.textContent = problem || "";
    fileInput.setAttribute("aria-invalid", problem ? "true" : "false");
    if (problem) {
      fileInput.focus();
      return;
    }
    showError(importError, null);
    const working = dryRun ? "Bestand controleren…" : "Wijzigingen toepassen…";
    setBusy("Bestand uploaden…");
    setPhase("Bestand uploaden…", 0);
    try {
      const body = await sendRegister(files, {
        dryRun,
        region: regionCode(),
        onProgress: (fraction) => {
          if (fraction < 1) setPhase("Bestand uploaden…", fraction);
          else setPhase(working);
        },
        onUploaded: () => setPhase(working),
      });
      if (disposed) return;
      setBusy(null);
      if (!body.valid) showRefusal(body);
      else if (dryRun) showPreview(body);
      else showApplied(body);
    } catch (error) {
      setBusy(null);
      if (disposed) return;
      // A file that is no register at all (not a workbook, wrong headers): said at the file.
      if (error.status === 422 || error.status === 413) {
        fileError.textContent = sentence(error.message);
        fileInput.setAttribute("aria-invalid", "true");
      }
      showError(importError, dryRun ? `${sentence(error.message)} Er is niets gewijzigd.`
        : `Toepassen is mislukt: ${error.message} Er is niets gewijzigd.`);
      importError.focus();
    }
  }

  function showRefusal(body) {
    preview = null;
    apply.hidden = true;
    again.hidden = false;
    const count = body.problems.length;
    showError(importError, body.detail || `Het bestand is niet ingelezen: ${count} ${count === 1 ? "probleem" : "problemen"}. Er is niets gewijzigd.`);
    outcome.replaceChildren(...kids(
      el("p", {}, "Verbeter deze rijen in het bestand en kies het opnieuw:"),
      problemsList(body.problems)));
    importError.focus(); // role=alert reads it out
  }

  function showPreview(body) {
    preview = body;
    again.hidden = false;
    const said = countsSentence(body.counts);
    if (!body.changes_total) {
      apply.hidden = true;
      outcome.replaceChildren(...kids(
        el("p", { class: "notice", id: "import-samenvatting", tabindex: "-1" }, `Het bestand is in orde en gelijk aan het register van ${body.region}: er verandert niets.`),
        countsTable(body.counts, "Controle: wijzigingen per tabblad")));
      announce("Controle klaar: het bestand verandert niets.");
      outcome.querySelector("#import-samenvatting").focus();
      return;
    }
    apply.hidden = false;
    apply.textContent = `Toepassen (${formatNumber(body.changes_total)} ${body.changes_total === 1 ? "wijziging" : "wijzigingen"})`;
    outcome.replaceChildren(...kids(
      el("p", { class: "notice", id: "import-samenvatting", tabindex: "-1" },
        `Het bestand is in orde. Nog niets gewijzigd; bij toepassen verandert in ${body.region}: ${said}.`),
      countsTable(body.counts, "Voorbeeld: wat er verandert per tabblad"),
      changesTable(body.changes, body.changes_total)));
    announce(`Controle klaar: ${formatNumber(body.changes_total)} wijzigingen. Kies Toepassen om ze door te voeren.`);
    apply.focus();
  }

  function showApplied(body) {
    preview = null;
    apply.hidden = true;
    again.hidden = false;
    importForm.reset();
    files = [];
    showChosen();
    const said = countsSentence(body.counts);
    outcome.replaceChildren(...kids(
      el("p", { class: "notice", id: "import-samenvatting", tabindex: "-1" },
        said ? `Het register van ${body.region} is bijgewerkt: ${said}.` : `Het register van ${body.region} is ingelezen; er veranderde niets.`),
      countsTable(body.counts, "Toegepast: wijzigingen per tabblad"),
      body.changes_total ? changesTable(body.changes, body.changes_total) : null));
    announce(said ? `Register bijgewerkt: ${said}.` : "Register ingelezen; er veranderde niets.");
    outcome.querySelector("#import-samenvatting").focus();
    loadGroups();
  }

  function showChosen() {
    chosen.textContent = files.length ? files.map((f) => f.name).join(", ") : "Geen bestand gekozen";
  }

  fileInput.addEventListener("change", () => {
    files = [...fileInput.files];
    showChosen();
    fileError.textContent = "";
    fileInput.setAttribute("aria-invalid", "false");
    clearOutcome();
  });
  importForm.addEventListener("submit", (event) => {
    event.preventDefault();
    if (!busy) run(true);
  });
  apply.addEventListener("click", () => {
    if (!busy && preview) run(false);
  });
  again.addEventListener("click", () => {
    importForm.reset();
    files = [];
    showChosen();
    clearOutcome();
    fileInput.focus();
  });
  // Leaving while the register is being written would not stop it, but the user would not
  // see the outcome.
  const beforeUnload = (event) => {
    if (busy) {
      event.preventDefault();
      event.returnValue = "";
    }
  };
  window.addEventListener("beforeunload", beforeUnload);

  // -- groups, requests and versions -----------------------------------------------------------
  async function loadGroups() {
    try {
      const list = await get("/groups");
      if (disposed) return;
      groups = new Map(list.map((g) => [g.id, g]));
      fillGroupSelect();
      if (admin) loadRequests();
    } catch (error) {
      showError(pageError, `De groepen konden niet worden geladen: ${error.message}`);
    }
  }

  function fillGroupSelect() {
    const byProvider = new Map();
    for (const g of [...groups.values()].sort((a, b) => (a.provider_name || "").localeCompare(b.provider_name || "") || a.name.localeCompare(b.name))) {
      const key = g.provider_name || `Aanbieder ${g.provider_id}`;
      if (!byProvider.has(key)) byProvider.set(key, []);
      byProvider.get(key).push(g);
    }
    groupSelect.disabled = false;
    groupSelect.replaceChildren(...kids(el("option", { value: "" }, "Kies een groep"),
      [...byProvider].map(([provider, list]) => el("optgroup", { label: provider },
        list.map((g) => el("option", { value: g.id }, `${g.name}${g.code ? ` (${g.code})` : ""}`))))));
    if (selectedGroup && groups.has(selectedGroup)) groupSelect.value = String(selectedGroup);
  }

  // Every group's versions, a few at a time, to find the open requests.
  let requestsRun = 0;
  let loadingRequests = false;
  const refreshedMeanwhile = new Set(); // groups the live feed named while the list was loading
  async function loadRequests() {
    const run = ++requestsRun;
    loadingRequests = true;
    refreshedMeanwhile.clear();
    const status = el("p", { class: "loading" }, "Aanvragen laden…");
    requestsBox.replaceChildren(status);
    const ids = [...groups.keys()];
    const found = [];
    let next = 0;
    let done = 0;
    async function worker() {
      while (next < ids.length && !disposed && run === requestsRun) {
        const id = ids[next];
        next += 1;
        const terms = await get(`/groups/${id}/contract-terms`);
        found.push(...terms.filter((t) => t.status === "requested"));
        done += 1;
        if (done % 10 === 0) status.textContent = `Aanvragen laden… (${done} van ${ids.length} groepen)`;
      }
    }
    try {
      await Promise.all(Array.from({ length: Math.min(6, ids.length) }, worker));
    } catch (error) {
      if (run !== requestsRun) return;
      loadingRequests = false;
      requestsBox.replaceChildren(...kids(el("p", { class: "error", role: "alert" }, `De aanvragen konden niet worden geladen: ${error.message}`)));
      return;
    }
    if (disposed || run !== requestsRun) return;
    loadingRequests = false;
    pending.clear();
    for (const term of found) pending.set(term.id, term);
    paintRequests();
    // A group read before its new request arrived is read again.
    for (const id of refreshedMeanwhile) refreshGroupRequests(id);
    refreshedMeanwhile.clear();
  }

  async function refreshGroupRequests(groupId, { announceNew = false } = {}) {
    if (loadingRequests) {
      refreshedMeanwhile.add(groupId);
      return;
    }
    try {
      const terms = await get(`/groups/${groupId}/contract-terms`);
      const fresh = terms.filter((t) => t.status === "requested" && !pending.has(t.id));
      for (const [id, term] of pending) if (term.group_id === groupId) pending.delete(id);
      for (const term of terms) if (term.status === "requested") pending.set(term.id, term);
      paintRequests();
      if (announceNew && fresh.length) {
        announce(`Nieuwe aanvraag voor plaatsen: ${groups.get(groupId)?.name || `groep ${groupId}`}.`);
      }
    } catch {
      /* the list stays as it was; the next load corrects it */
    }
  }

  function paintRequests() {
    const list = [...pending.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
    if (!list.length) {
      requestsBox.replaceChildren(...kids(el("p", { class: "hint", id: "geen-aanvragen" }, "Er zijn geen openstaande aanvragen.")));
      return;
    }
    requestsBox.replaceChildren(...kids(el("p", {}, `${list.length} ${list.length === 1 ? "openstaande aanvraag" : "openstaande aanvragen"}.`),
      el("div", { class: "card-grid" }, list.map(requestCard))));
  }

  function requestCard(term) {
    const group = groups.get(term.group_id);
    const name = group ? group.name : `Groep ${term.group_id}`;
    const noteId = `besluit-${term.id}`;
    const note = el("input", { id: noteId, maxlength: 500, autocomplete: "off" });
    const approve = el("button", { type: "button", class: "button ok" }, "Goedkeuren");
    const reject = el("button", { type: "button", class: "button danger" }, "Afwijzen");
    const show = el("button", { type: "button", class: "button secondary small" }, "Contractversies");
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const card = el("article", { class: "card request-card", dataset: { termId: term.id, groupId: term.group_id }, "aria-labelledby": `${noteId}-titel` },
      el("h3", { id: `${noteId}-titel` }, name),
      el("p", { class: "meta" }, group ? `${group.provider_name || ""}${group.code ? ` · ${group.code}` : ""}` : ""),
      el("p", {}, "Vraagt ", el("strong", {}, placesText(term.contracted_places)), ` vanaf ${formatDate(term.valid_from)}`,
        group ? ` (nu ${placesText(group.capacity)}).` : "."),
      term.note ? el("p", { class: "term-note" }, `Toelichting: ${term.note}`) : null,
      el("p", { class: "meta" }, `Aangevraagd door ${who(term.created_by)}, ${formatDateTime(term.created_at)}`),
      el("div", { class: "field" }, el("label", { for: noteId }, "Toelichting bij het besluit (optioneel)"), note),
      error,
      el("div", { class: "actions" }, show, reject, approve));

    async function decide(ok) {
      showError(error, null);
      approve.disabled = true;
      reject.disabled = true;
      try {
        await post(`/places-requests/${term.id}/decision`, { approve: ok, note: note.value.trim() || null });
        pending.delete(term.id);
        paintRequests();
        announce(`Aanvraag voor ${name} ${ok ? "goedgekeurd" : "afgewezen"}.`);
        if (selectedGroup === term.group_id) loadVersions();
      } catch (err) {
        showError(error, err.message);
        approve.disabled = false;
        reject.disabled = false;
      }
    }
    approve.addEventListener("click", () => decide(true));
    reject.addEventListener("click", () => decide(false));
    show.addEventListener("click", () => {
      selectGroup(term.group_id);
      versionsCard.scrollIntoView({ block: "start" });
      groupSelect.focus({ preventScroll: true });
    });
    return card;
  }

  function selectGroup(id) {
    selectedGroup = id;
    groupSelect.value = id ? String(id) : "";
    versionParts = null;
    loadVersions();
  }

  // The versions of the chosen group: its table is redrawn when something changes, the form
  // for a new version stays as the user is filling it in.
  let versionParts = null;

  function partsFor(group) {
    if (versionParts && versionParts.groupId === group.id) return versionParts;
    const meta = el("p", { class: "meta" });
    const table = el("div", { class: "versions-table" });
    const form = admin ? termForm(group, {
      prefix: `versie-${group.id}`,
      onAdded: () => {
        loadVersions();
        refreshGroupRequests(group.id);
      },
    }) : null;
    const details = form ? el("details", { class: "more extra" }, el("summary", {}, "Nieuwe contractversie"), form.node) : null;
    // A half-finished version comes back when the section is opened.
    details?.addEventListener("toggle", () => {
      if (details.open) form.restore();
    });
    versionsBox.replaceChildren(...kids(meta, table, details));
    versionParts = { groupId: group.id, meta, table, details, painted: false };
    return versionParts;
  }

  async function loadVersions() {
    const id = selectedGroup;
    if (!id) {
      versionsBox.replaceChildren(...kids(el("p", { class: "hint" }, "Kies een groep om haar contractversies te zien.")));
      return;
    }
    if (!versionParts) versionsBox.replaceChildren(...kids(loading("Contractversies laden…")));
    try {
      const terms = await get(`/groups/${id}/contract-terms`);
      if (disposed || selectedGroup !== id) return;
      paintVersions(terms);
    } catch (error) {
      versionParts = null;
      versionsBox.replaceChildren(...kids(el("p", { class: "error", role: "alert" }, `De contractversies konden niet worden geladen: ${error.message}`)));
    }
  }

  function paintVersions(terms) {
    const group = groups.get(selectedGroup);
    if (!group) return;
    const parts = partsFor(group);
    parts.meta.textContent = `${group.provider_name || ""} · nu ${placesText(group.capacity)}`
      + `${group.active_to ? ` · actief tot en met ${formatDate(group.active_to)}` : ""}`;
    parts.table.replaceChildren(termsTable(terms, { caption: `Contractversies van ${group.name}, nieuwste eerst` }));
    // A group without any version: the form is what the user came for.
    if (parts.details && !parts.painted && !terms.length) parts.details.open = true;
    parts.painted = true;
  }

  groupSelect.addEventListener("change", () => selectGroup(groupSelect.value ? Number(groupSelect.value) : null));

  // -- region ----------------------------------------------------------------------------------
  async function loadRegion() {
    try {
      const [me, regions] = await Promise.all([get("/auth/me"), get("/regions")]);
      if (disposed) return;
      if (me.region_id) {
        region = regions.find((r) => r.id === me.region_id) || null;
      } else {
        // An admin for every region chooses which register.
        regionChoice.hidden = false;
        regionSelect.replaceChildren(...kids(regions.map((r) => el("option", { value: r.code }, `${r.name} (${r.code})`))));
        region = regions[0] || null;
        regionSelect.addEventListener("change", () => {
          region = regions.find((r) => r.code === regionSelect.value) || null;
          regionLine.textContent = region ? `Regio ${region.name} (${region.code})` : "";
          clearOutcome();
        });
      }
      regionLine.textContent = region ? `Regio ${region.name} (${region.code})` : "";
    } catch (error) {
      showError(pageError, `De regio kon niet worden geladen: ${error.message}`);
    }
  }

  // -- live ------------------------------------------------------------------------------------
  const reloadGroups = debounce(loadGroups, 500);
  const unsubscribe = live.subscribe((message) => {
    if (message.type === "register.places_requested" && typeof message.group_id === "number") {
      if (admin) refreshGroupRequests(message.group_id, { announceNew: true });
      if (selectedGroup === message.group_id) loadVersions();
    } else if (message.type === "register.imported") {
      reloadGroups();
    } else if (message.group && typeof message.group.id === "number" && groups.size) {
      const current = groups.get(message.group.id);
      if (!current && message.type === "group.created") {
        reloadGroups();
      } else if (current && current.version <= message.group.version) {
        groups.set(message.group.id, { ...message.group, provider_name: current.provider_name, municipality_name: current.municipality_name });
        if (message.type === "register.contract_term" && selectedGroup === message.group.id) loadVersions();
      }
    }
  });

  async function start() {
    await loadRegion();
    await loadGroups();
    if (!selectedGroup) versionsBox.replaceChildren(...kids(el("p", { class: "hint" }, "Kies een groep om haar contractversies te zien.")));
    const wanted = params && params[0] === "groep" ? Number(params[1]) : null;
    if (wanted && groups.has(wanted)) selectGroup(wanted);
  }
  start();

  return () => {
    disposed = true;
    clearInterval(ticker);
    unsubscribe();
    reloadGroups.cancel();
    window.removeEventListener("beforeunload", beforeUnload);
  };
}
