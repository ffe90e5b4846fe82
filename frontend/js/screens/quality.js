// Region (contract manager, coordinator, administrator): how well each provider keeps its free
// places up to date. Per group the share of days with an update, the longest gap and whether
// it meets the region's reporting rule; per provider the same added up. A chart, the table
// behind it and a CSV download, so that the region can talk to the providers concerned.

import { request } from "../api.js";
import { downloadBlob, el, formatNumber, kids, loading, showError, svg } from "../ui.js";

function percent(value) {
  return value === null || value === undefined ? "–" : `${formatNumber(value * 100, 0)}%`;
}

function dutchDate(iso) {
  if (!iso) return "";
  const [y, m, d] = iso.split("-");
  return `${Number(d)}-${Number(m)}-${y}`;
}

function isoDay(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
}

// Share of days with an update per row, a bar each; non-compliant rows in the warning colour.
function shareChart(rows, nameOf) {
  const rowHeight = 24;
  const labelWidth = 250;
  const width = 760;
  const height = rows.length * rowHeight + 28;
  const plot = width - labelWidth - 60;
  const bad = rows.filter((r) => !r.compliant).length;
  return svg("svg", {
    viewBox: `0 0 ${width} ${height}`, class: "funding-chart", role: "img",
    "aria-label": `Staafdiagram: aandeel dagen met bijgewerkte vrije plaatsen voor ${rows.length} regels, waarvan ${bad} niet aan de meldregel voldoen. De tabel geeft dezelfde cijfers.`,
  },
  rows.map((r, i) => {
    const y = i * rowHeight + 4;
    const w = (r.update_share || 0) * plot;
    return svg("g", {},
      svg("text", { x: labelWidth - 8, y: y + 14, "text-anchor": "end", class: "chart-label" }, nameOf(r).slice(0, 36)),
      svg("rect", { x: labelWidth, y, width: plot, height: 16, class: "bar-track" }),
      svg("rect", { x: labelWidth, y, width: Math.max(0, w), height: 16, class: r.compliant ? "bar-ok" : "bar-loss" }),
      svg("text", { x: labelWidth + plot + 6, y: y + 14, class: "chart-value" }, `${percent(r.update_share)}${r.compliant ? "" : " ✗"}`));
  }),
  svg("g", { transform: `translate(${labelWidth}, ${height - 8})` },
    svg("rect", { x: 0, y: -9, width: 12, height: 12, class: "bar-ok" }),
    svg("text", { x: 18, y: 1, class: "chart-label" }, "voldoet"),
    svg("rect", { x: 100, y: -9, width: 12, height: 12, class: "bar-loss" }),
    svg("text", { x: 118, y: 1, class: "chart-label" }, "voldoet niet (✗)")));
}

export function render(root) {
  const today = new Date();
  const firstOfLastMonth = new Date(today.getFullYear(), today.getMonth() - 1, 1);
  const start = el("input", { type: "date", id: "dq-van", value: isoDay(firstOfLastMonth) });
  const end = el("input", { type: "date", id: "dq-tot", value: isoDay(today) });
  const perGroup = el("button", { type: "button", class: "button toggle", "aria-pressed": "true" }, "Per groep");
  const perProvider = el("button", { type: "button", class: "button toggle", "aria-pressed": "false" }, "Per aanbieder");
  const csv = el("button", { type: "button", class: "button secondary", id: "dq-csv" }, "Download CSV");
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const rule = el("p", { class: "freshness", id: "dq-regel" });
  const totals = el("div", { class: "totals", id: "dq-totalen", "aria-live": "polite" });
  const chart = el("figure", { class: "chart-figure" });
  const tableBox = el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Tabel: datakwaliteit per groep" });
  let report = null;
  let mode = "groep";
  let loads = 0;

  root.replaceChildren(...kids(el("section", { class: "page wide" },
    el("div", { class: "page-head" }, el("h1", {}, "Datakwaliteit vrije plaatsen"), rule),
    el("p", { class: "lead" }, "Hoe vaak werkt elke aanbieder de vrije plaatsen van zijn groepen bij? Een dag telt als bijgewerkt "
      + "wanneer de aanbieder (of de bezettingsfeed) die dag de vrije plaatsen meldde of bevestigde. Vandaag telt pas mee na een melding."),
    el("div", { class: "toolbar" },
      el("div", { class: "field inline" }, el("label", { for: "dq-van" }, "Van"), start),
      el("div", { class: "field inline" }, el("label", { for: "dq-tot" }, "Tot en met"), end),
      el("div", { class: "segmented", role: "group", "aria-label": "Indeling" }, perGroup, perProvider),
      el("div", { class: "actions" }, csv)),
    pageError, totals, chart, tableBox)));

  function query() {
    return `?start=${encodeURIComponent(start.value)}&end=${encodeURIComponent(end.value)}`;
  }

  async function load() {
    const ticket = ++loads;
    totals.replaceChildren(...kids(loading("Laden…")));
    try {
      const data = (await request(`/data-quality${query()}`)).data;
      if (ticket !== loads) return;
      report = data;
      showError(pageError, null);
      rule.textContent = `${data.region_name}: meldregel niet ${data.rule.days_running} dagen achter elkaar en niet op `
        + `${data.rule.days_per_month} dagen in een maand zonder bijgewerkte vrije plaatsen (instelling van de regio).`;
      paint();
    } catch (error) {
      if (ticket !== loads) return;
      totals.replaceChildren();
      showError(pageError, `Het rapport kon niet worden geladen: ${error.message}`);
    }
  }

  function stat(label, value) {
    return el("div", { class: "stat" }, el("span", { class: "stat-value" }, value), el("span", { class: "stat-label" }, label));
  }

  function paint() {
    const groups = report.groups;
    const bad = groups.filter((g) => !g.compliant);
    const counted = groups.reduce((s, g) => s + g.days, 0);
    const updated = groups.reduce((s, g) => s + g.days_with_update, 0);
    totals.replaceChildren(
      stat("Groepen", formatNumber(groups.length)),
      stat("Dagen bijgewerkt", percent(counted ? updated / counted : null)),
      stat("Groepen die niet voldoen", formatNumber(bad.length)),
      stat("Aanbieders die niet voldoen", formatNumber(report.providers.filter((p) => !p.compliant).length)));
    const rows = mode === "groep" ? groups : report.providers;
    const nameOf = mode === "groep" ? (r) => r.group_name : (r) => r.provider_name || "";
    const sorted = [...rows].sort((a, b) => (a.update_share ?? 1) - (b.update_share ?? 1));
    chart.replaceChildren(shareChart(sorted.slice(0, 20), nameOf),
      el("figcaption", {}, `Aandeel dagen bijgewerkt per ${mode === "groep" ? "groep" : "aanbieder"} (laagste 20), `
        + `${dutchDate(report.period_start)} t/m ${dutchDate(report.counted_through)}.`));
    const head = mode === "groep"
      ? ["Groep", "Aanbieder", "Feed", "Dagen bijgewerkt", "Langste gat", "Voldoet", "Waarom niet"]
      : ["Aanbieder", "Groepen", "Dagen bijgewerkt", "Langste gat", "Groepen die niet voldoen", "Voldoet"];
    const body = sorted.map((r) => el("tr", { class: r.compliant ? null : "not-compliant" }, mode === "groep"
      ? [el("th", { scope: "row" }, r.group_name), el("td", {}, r.provider_name || ""),
        el("td", {}, r.follows_feed ? "ja" : "nee"),
        el("td", { class: "num" }, `${percent(r.update_share)} (${r.days_with_update} van ${r.days})`),
        el("td", { class: "num" }, r.longest_gap_days ? `${r.longest_gap_days} d (${dutchDate(r.longest_gap_from)} – ${dutchDate(r.longest_gap_to)})` : "–"),
        el("td", {}, r.compliant ? "ja" : el("strong", {}, "nee")),
        el("td", {}, r.reasons.join("; "))]
      : [el("th", { scope: "row" }, r.provider_name || ""), el("td", { class: "num" }, String(r.groups)),
        el("td", { class: "num" }, `${percent(r.update_share)} (${r.days_with_update} van ${r.days})`),
        el("td", { class: "num" }, `${r.longest_gap_days} d`),
        el("td", { class: "num" }, String(r.non_compliant_groups)),
        el("td", {}, r.compliant ? "ja" : el("strong", {}, "nee"))]));
    tableBox.replaceChildren(el("table", { class: "data", id: "dq-tabel" },
      el("caption", {}, mode === "groep" ? "Datakwaliteit per groep" : "Datakwaliteit per aanbieder"),
      el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))), el("tbody", {}, body)));
  }

  async function download() {
    csv.disabled = true;
    try {
      const { data, headers } = await request(`/data-quality/export.csv${query()}`, { blob: true });
      const match = /filename="?([^";]+)"?/.exec(headers.get("Content-Disposition") || "");
      downloadBlob(data, match ? match[1] : "datakwaliteit.csv");
    } catch (error) {
      showError(pageError, `Downloaden is mislukt: ${error.message}`);
    } finally {
      csv.disabled = false;
    }
  }

  function setMode(next) {
    mode = next;
    perGroup.setAttribute("aria-pressed", String(mode === "groep"));
    perProvider.setAttribute("aria-pressed", String(mode === "aanbieder"));
    if (report) paint();
  }

  start.addEventListener("change", load);
  end.addEventListener("change", load);
  perGroup.addEventListener("click", () => setMode("groep"));
  perProvider.addEventListener("click", () => setMode("aanbieder"));
  csv.addEventListener("click", download);
  load();
}
