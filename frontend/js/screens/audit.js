// Audit log (auditlog) for the administrator and privacy officer: search who looked at or changed
// which youth record, by record, person and period, and download the same selection as CSV or
// Excel. Every search and every download is itself written to the log by the server.

import { request } from "../api.js";
import { announce, downloadBlob, el, field, formatDateTime, kids, label, loading, showError } from "../ui.js";

const RECORD_KINDS = [
  ["referral", "Verwijzing"],
  ["hold", "Vasthouding (crisis)"],
  ["stay", "Verblijf (bezetting)"],
];
const KIND_LABEL = Object.fromEntries(RECORD_KINDS);

function recordText(record) {
  const [kind, ...rest] = record.split(":");
  return `${KIND_LABEL[kind] || kind} ${rest.join(":")}`;
}

export function render(root) {
  const kind = el("select", {}, RECORD_KINDS.map(([value, label]) => el("option", { value }, label)));
  const number = field({ id: "audit-dossier", label: "Jeugddossier (nummer)", input: el("input", { type: "text", autocomplete: "off" }),
    hint: "Bijvoorbeeld het nummer van de verwijzing; leeg: alle dossiers." });
  const actor = field({ id: "audit-persoon", label: "Persoon (gebruikersnaam)", input: el("input", { type: "text", autocomplete: "off" }) });
  const start = field({ id: "audit-van", label: "Van", input: el("input", { type: "date" }) });
  const end = field({ id: "audit-tot", label: "Tot en met", input: el("input", { type: "date" }) });
  kind.id = "audit-soort";
  kind.setAttribute("aria-label", "Soort dossier");
  const search = el("button", { type: "submit", class: "button" }, "Zoeken");
  const csv = el("button", { type: "button", class: "button secondary" }, "Download CSV");
  const xlsx = el("button", { type: "button", class: "button secondary" }, "Download Excel");
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const result = el("div", {
    class: "table-scroll", id: "audit-resultaat", "aria-live": "polite", tabindex: "0", role: "region", "aria-label": "Auditregels",
  });
  const form = el("form", { class: "card", id: "audit-zoeken" },
    el("div", { class: "field inline" }, el("label", { for: "audit-soort" }, "Soort dossier"), kind),
    number.wrapper, actor.wrapper, start.wrapper, end.wrapper,
    el("div", { class: "actions" }, search, csv, xlsx));

  root.replaceChildren(...kids(el("section", { class: "page wide" },
    el("div", { class: "page-head" }, el("h1", {}, "Auditlog")),
    el("p", { class: "lead" }, "Wie heeft wanneer welk jeugddossier ingezien of gewijzigd, en waarom. "
      + "Elke zoekopdracht en elke download wordt zelf ook vastgelegd."),
    form, pageError, result)));

  function query() {
    const params = new URLSearchParams();
    const id = number.input.value.trim();
    if (id) params.set("youth_record", `${kind.value}:${id}`);
    if (actor.input.value.trim()) params.set("actor", actor.input.value.trim());
    if (start.input.value) params.set("start", start.input.value);
    if (end.input.value) params.set("end", end.input.value);
    return params;
  }

  async function load() {
    showError(pageError, null);
    result.replaceChildren(loading());
    try {
      const { data: rows } = await request(`/audit?${query()}&limit=500`);
      const table = el("table", { class: "data" },
        el("caption", {}, `${rows.length} regels (nieuwste eerst, hoogstens 500; de download bevat alle)`),
        el("thead", {}, el("tr", {}, ["Tijdstip", "Wie", "Rol", "Handeling", "Jeugddossier", "Doel"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows.map((r) => el("tr", {},
          el("td", {}, formatDateTime(r.at)),
          // Words for people; the stored code (as in the download) stays in the title.
          el("td", { title: r.actor }, r.actor_text),
          el("td", {}, label("role", r.actor_role)),
          el("td", { title: r.action, dataset: { action: r.action } }, r.action_label),
          el("td", {}, r.youth_records.map(recordText).join(", ")),
          el("td", {}, r.purpose_label)))));
      result.replaceChildren(table);
      announce(`${rows.length} regels gevonden.`);
    } catch (error) {
      result.replaceChildren();
      showError(pageError, error.message);
    }
  }

  async function download(kindOfFile, button) {
    showError(pageError, null);
    const original = button.textContent;
    button.disabled = true;
    button.textContent = "Bezig…";
    try {
      const { data } = await request(`/audit/export.${kindOfFile}?${query()}`, { blob: true });
      downloadBlob(data, `auditlog.${kindOfFile}`);
    } catch (error) {
      showError(pageError, `Downloaden is mislukt: ${error.message}`);
    } finally {
      button.disabled = false;
      button.textContent = original;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load();
  });
  csv.addEventListener("click", () => download("csv", csv));
  xlsx.addEventListener("click", () => download("xlsx", xlsx));
  load();
}
