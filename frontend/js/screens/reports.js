// Contract manager (and coordinator): occupancy and post-calculation (nacalculatie) of the
// availability-funded groups, per group and per provider, drawn as charts, with CSV and Excel
// downloads of the same tables. A region administrator finalises (vaststellen) an ended year;
// a finalised year shows the stored figures and what the register and feed would give now.

import { request, session } from "../api.js";
import {
  announce, downloadBlob, el, formatDate, formatDateTime, formatEuro, formatNumber, formatPercent, kids, label, loading,
  showError, svg,
} from "../ui.js";

// What changed since the finalisation, in words; fields not listed here are not shown.
const CHANGE_LABEL = {
  contracted_places: ["Plaatsen (laatste nacht)", "number"],
  contracted_bed_days: ["Gecontracteerde etmalen", "number"],
  occupied_bed_days: ["Bezette etmalen", "number"],
  empty_bed_days: ["Lege etmalen", "number"],
  not_admitting_nights: ["Nachten opnamestop", "number"],
  day_tariff: ["Dagtarief (laatste nacht)", "euro"],
  availability_share: ["Beschikbaarheidsdeel", "share"],
  availability_funding: ["Beschikbaarheidsvergoeding", "euro"],
  pxq_amount: ["P×Q", "euro"],
};
const STATUS_LABEL = { gewijzigd: "gewijzigd", nieuw: "nieuw sinds vaststelling", vervallen: "niet meer in de nacalculatie" };

function todayIso() {
  const now = new Date();
  return `${now.getFullYear()}-${String(now.getMonth() + 1).padStart(2, "0")}-${String(now.getDate()).padStart(2, "0")}`;
}

function formatValue(value, kind) {
  if (value === null || value === undefined) return "–";
  if (kind === "euro") return formatEuro(value);
  if (kind === "share") return formatPercent(value);
  return formatNumber(value);
}

function signedEuro(value) {
  return `${value > 0 ? "+" : ""}${formatEuro(value)}`;
}

function rateBar(rate, label) {
  // Occupancy as a bar, with the 50% line that triggers a talk about merging or closing.
  const pct = Math.max(0, Math.min(1, rate || 0)) * 100;
  return el("span", {
    class: `rate-bar${rate < 0.5 ? " low" : ""}`, role: "meter", "aria-valuemin": 0, "aria-valuemax": 100,
    "aria-valuenow": Math.round(pct), "aria-label": `Bezetting ${label}: ${Math.round(pct)}%`,
  }, el("span", { class: "rate-fill", style: `width:${pct.toFixed(1)}%` }), el("span", { class: "rate-line", "aria-hidden": "true" }));
}

function fundingChart(rows, nameKey) {
  // Stacked horizontal bars: availability funding and P×Q per row, in euros.
  const max = Math.max(1, ...rows.map((r) => r.availability_funding + r.pxq_amount));
  const rowHeight = 26;
  const labelWidth = 230;
  const width = 760;
  const height = rows.length * rowHeight + 30;
  const scale = (v) => (v / max) * (width - labelWidth - 90);
  return svg("svg", {
    viewBox: `0 0 ${width} ${height}`, class: "funding-chart", role: "img",
    "aria-label": "Staafdiagram van beschikbaarheidsvergoeding en P×Q per regel; de tabel geeft dezelfde bedragen.",
  },
  rows.map((r, i) => {
    const y = i * rowHeight + 4;
    const a = scale(r.availability_funding);
    const p = scale(r.pxq_amount);
    return svg("g", {},
      svg("text", { x: labelWidth - 8, y: y + 15, "text-anchor": "end", class: "chart-label" }, r[nameKey].slice(0, 34)),
      svg("rect", { x: labelWidth, y, width: Math.max(0, a), height: 18, class: "bar-availability" }),
      svg("rect", { x: labelWidth + a, y, width: Math.max(0, p), height: 18, class: "bar-pxq" }),
      svg("text", { x: labelWidth + a + p + 6, y: y + 15, class: "chart-value" }, formatEuro(r.availability_funding + r.pxq_amount).replace(",00", "")));
  }),
  svg("g", { transform: `translate(${labelWidth}, ${height - 12})` },
    svg("rect", { x: 0, y: -9, width: 12, height: 12, class: "bar-availability" }),
    svg("text", { x: 18, y: 1, class: "chart-label" }, "beschikbaarheidsvergoeding"),
    svg("rect", { x: 220, y: -9, width: 12, height: 12, class: "bar-pxq" }),
    svg("text", { x: 238, y: 1, class: "chart-label" }, "P×Q (bezette dagen)")));
}

// Column priorities of the post-calculation table (styles.css): the figures behind the sums give
// way first on a narrow screen; the group, its occupancy, the amounts and the chart button stay.
function columnClass(mode, index) {
  const perGroup = [null, "col-p2", "num", null, "num col-p3", "num col-p2", "num", "num", "num", "row-action"];
  const perProvider = [null, "num", "num", null, "num col-p3", "num col-p2", "num", "num", "num", "num"];
  return (mode === "groep" ? perGroup : perProvider)[index];
}

export function render(root) {
  const thisYear = new Date().getFullYear();
  const year = el("select", { id: "rapport-jaar" }, [thisYear, thisYear - 1, thisYear - 2].map((y) => el("option", { value: y }, String(y))));
  const perGroup = el("button", { type: "button", class: "button toggle", "aria-pressed": "true" }, "Per groep");
  const perProvider = el("button", { type: "button", class: "button toggle", "aria-pressed": "false" }, "Per aanbieder");
  const csv = el("button", { type: "button", class: "button secondary" }, "Download CSV");
  const xlsx = el("button", { type: "button", class: "button secondary" }, "Download Excel");
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const downloadError = el("p", { class: "error", role: "alert", hidden: true });
  const totals = el("div", { class: "totals", id: "rapport-totalen" });
  const chart = el("figure", { class: "map-figure chart-figure" });
  const tableBox = el("div", { class: "table-scroll tall prioritised", role: "region", tabindex: "0", "aria-label": "Nacalculatie" });
  const detail = el("section", { id: "groep-grafiek", class: "card", hidden: true, "aria-live": "polite" });
  const period = el("p", { class: "freshness" });
  const status = el("div", { id: "rapport-status", "aria-live": "polite" });
  const changes = el("section", { id: "na-vaststelling", class: "card", style: "margin-top: .75rem", hidden: true });
  const isAdmin = (session.get() || {}).role === "admin";
  let report = null;
  let mode = "groep";
  let objectUrl = null;

  root.replaceChildren(...kids(el("section", { class: "page wide" },
    el("div", { class: "page-head" }, el("h1", {}, "Bezetting en nacalculatie"), period),
    el("p", { class: "lead" }, "Beschikbaarheidsgefinancierde groepen (crisis, driemilieu, jeugdzorgplus): bezetting met jongeren uit alle regio's, "
      + "de beschikbaarheidsvergoeding voor lege plaatsen en P×Q voor bezette dagen, per nacht met de plaatsen en het tarief van de "
      + "contractversie die die nacht gold. Groepen onder 50% bezetting zijn gemarkeerd."),
    status,
    el("div", { class: "toolbar" },
      el("div", { class: "field inline" }, el("label", { for: "rapport-jaar" }, "Jaar"), year),
      el("div", { class: "segmented", role: "group", "aria-label": "Indeling" }, perGroup, perProvider),
      el("div", { class: "actions" }, csv, xlsx)),
    downloadError, pageError, totals, changes, chart, detail, tableBox)));

  let loads = 0;
  async function load() {
    // A slower answer for a year chosen before must not overwrite the one chosen last.
    const ticket = ++loads;
    totals.replaceChildren(...kids(loading("Rapport laden…")));
    try {
      const answer = (await request(`/post-calculation?year=${year.value}`)).data;
      if (ticket !== loads) return;
      report = answer;
      period.textContent = `${report.region_name}: ${formatDate(report.period_start)} t/m ${formatDate(report.period_end)}, `
        + `geteld tot en met ${formatDate(report.counted_through)}`;
      showError(pageError, null);
      paintStatus();
      paintChanges();
      paint();
    } catch (error) {
      if (ticket !== loads) return;
      totals.replaceChildren(...kids());
      showError(pageError, `Het rapport kon niet worden geladen: ${error.message}`);
    }
  }

  function paintStatus() {
    const marker = report.finalised;
    if (marker) {
      status.replaceChildren(el("p", { class: "notice" },
        el("strong", {}, `Vastgesteld op ${formatDateTime(marker.finalised_at)} door ${marker.finalised_by_name}.`),
        " Deze bedragen zijn bewaard en veranderen niet meer."));
      return;
    }
    const ended = report.period_end < todayIso();
    const parts = [el("p", { class: "freshness" }, ended
      ? "Voorlopig: deze nacalculatie is nog niet vastgesteld."
      : "Voorlopig: de periode loopt nog; vaststellen kan na afloop.")];
    if (isAdmin && ended && report.groups.length) {
      const start = el("button", { type: "button", class: "button", id: "vaststellen" }, "Vaststellen");
      start.addEventListener("click", () => askConfirmation(start));
      parts.push(el("div", { class: "actions" }, start));
    }
    status.replaceChildren(...parts);
  }

  function askConfirmation(start) {
    start.hidden = true;
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const yes = el("button", { type: "button", class: "button ok" }, "Ja, vaststellen");
    const no = el("button", { type: "button", class: "button secondary" }, "Annuleren");
    const box = el("div", { class: "card", role: "group", "aria-labelledby": "vaststellen-vraag" },
      el("p", { id: "vaststellen-vraag" }, el("strong", {},
        `Nacalculatie ${report.region_name} over ${formatDate(report.period_start)} t/m ${formatDate(report.period_end)} vaststellen?`)),
      el("p", {}, `Beschikbaarheidsvergoeding ${formatEuro(report.total.availability_funding)} en P×Q ${formatEuro(report.total.pxq_amount)} `
        + "worden met alle uitgangspunten bewaard en veranderen daarna niet meer. Latere wijzigingen in het contractregister of de "
        + "bezetting ziet u onder 'Na vaststelling gewijzigd'."),
      el("div", { class: "actions" }, yes, no), error);
    status.append(box);
    yes.focus();
    no.addEventListener("click", () => { box.remove(); start.hidden = false; start.focus(); });
    yes.addEventListener("click", async () => {
      yes.disabled = true;
      no.disabled = true;
      yes.textContent = "Bezig…";
      try {
        const body = { region: report.region, start: report.period_start, end: report.period_end };
        await request("/post-calculation/finalise", { method: "POST", json: body });
        announce("De nacalculatie is vastgesteld.");
        await load();
      } catch (failure) {
        showError(error, `Vaststellen is niet gelukt: ${failure.message}`);
        yes.disabled = false;
        no.disabled = false;
        yes.textContent = "Ja, vaststellen";
      }
    });
  }

  function changeText(fields) {
    const lines = Object.entries(CHANGE_LABEL)
      .filter(([key]) => fields[key])
      .map(([key, [label, kind]]) => {
        const { old, new: now } = fields[key];
        return el("li", {}, `${label}: ${formatValue(old, kind)} → ${formatValue(now, kind)}`);
      });
    if (fields.inputs) lines.push(el("li", {}, "Contractversies of tarieven zijn gewijzigd"));
    return el("ul", {}, lines);
  }

  function paintChanges() {
    const diff = report.changes_since_finalisation;
    if (!diff || !diff.changed) {
      changes.hidden = true;
      changes.replaceChildren();
      return;
    }
    const total = diff.total || {};
    const money = ["availability_funding", "pxq_amount"].filter((key) => total[key]).map((key) => el("li", {},
      `${CHANGE_LABEL[key][0]}: ${formatEuro(total[key].old)} → ${formatEuro(total[key].new)} (${signedEuro(total[key].difference)})`));
    const rows = diff.groups.map((g) => el("tr", {},
      el("th", { scope: "row" }, g.group_name),
      el("td", {}, g.provider_name || ""),
      el("td", {}, STATUS_LABEL[g.status] || g.status),
      el("td", {}, changeText(g.fields)),
      el("td", { class: "num" }, g.fields.availability_funding && g.fields.availability_funding.difference !== undefined
        ? signedEuro(g.fields.availability_funding.difference) : "–")));
    changes.hidden = false;
    changes.replaceChildren(...kids(
      el("h2", {}, "Na vaststelling gewijzigd"),
      el("p", {}, "Het contractregister of de bezetting geeft nu andere uitkomsten dan bij de vaststelling. De vastgestelde bedragen "
        + "blijven gelden; gebruik dit overzicht om een correctie af te spreken."),
      money.length ? el("ul", {}, money) : null,
      el("div", { class: "table-scroll" }, el("table", { class: "data", id: "na-vaststelling-tabel" },
        el("caption", {}, "Wijzigingen per groep"),
        el("thead", {}, el("tr", {}, ["Groep", "Aanbieder", "Status", "Wat is er anders", "Verschil beschikbaarheid"]
          .map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows)))));
  }

  function notAdmitting(r) {
    if (!r.not_admitting_nights) return "–";
    const amount = formatEuro(r.not_admitting_funding);
    return `${formatNumber(r.not_admitting_nights)} n. (${amount}${r.not_admitting_paid === false ? ", niet betaald" : ""})`;
  }

  function stat(label, value) {
    return el("div", { class: "stat" }, el("span", { class: "stat-value" }, value), el("span", { class: "stat-label" }, label));
  }

  function paint() {
    const t = report.total;
    totals.replaceChildren(...kids(
      stat("Gecontracteerde plaatsen", formatNumber(t.contracted_places)),
      stat("Bezetting", formatPercent(t.occupancy_rate)),
      stat("Beschikbaarheidsvergoeding", formatEuro(t.availability_funding)),
      stat("P×Q", formatEuro(t.pxq_amount)),
      stat("Groepen onder 50%", formatNumber(t.groups_below_50))));
    const rows = mode === "groep" ? report.groups : report.providers;
    const nameKey = mode === "groep" ? "group_name" : "provider_name";
    const sorted = [...rows].sort((a, b) => (b.availability_funding + b.pxq_amount) - (a.availability_funding + a.pxq_amount));
    chart.replaceChildren(...kids(fundingChart(sorted.slice(0, 15), nameKey),
      el("figcaption", {}, `Vergoeding per ${mode === "groep" ? "groep" : "aanbieder"} (hoogste 15), ${formatDate(report.period_start)} t/m ${formatDate(report.counted_through)}.`)));
    const head = mode === "groep"
      ? ["Groep", "Aanbieder en zorgvorm", "Plaatsen", "Bezetting", "Bezet (eigen / andere regio's)", "Lege dagen", "Opnamestop",
        "Beschikbaarheid", "P×Q", ""]
      : ["Aanbieder", "Groepen", "Plaatsen", "Bezetting", "Bezet (eigen / andere regio's)", "Lege dagen", "Opnamestop",
        "Beschikbaarheid", "P×Q", "Onder 50%"];
    const body = rows.map((r) => {
      const cells = mode === "groep"
        ? [el("th", { scope: "row" }, r.group_name, r.below_50 ? el("span", { class: "badge bad" }, " onder 50%") : null),
          // Provider and care form stacked in one column, so that the table fits a 1280 px screen.
          el("td", { class: "col-p2" }, r.provider_name, el("br"), el("small", { class: "meta" }, label("careForm", r.care_form))),
          el("td", { class: "num" }, String(r.contracted_places))]
        : [el("th", { scope: "row" }, r.provider_name), el("td", { class: "num" }, String(r.groups)),
          el("td", { class: "num" }, String(r.contracted_places))];
      cells.push(
        el("td", { class: "rate-cell" }, rateBar(r.occupancy_rate, r[nameKey]), el("span", { class: "rate-text" }, formatPercent(r.occupancy_rate))),
        el("td", { class: "num col-p3" }, `${formatNumber(r.occupied_bed_days_own_region)} / ${formatNumber(r.occupied_bed_days_other_regions)}`),
        el("td", { class: "num col-p2" }, formatNumber(r.empty_bed_days)),
        el("td", { class: "num wrap" }, mode === "groep" ? notAdmitting(r)
          : (r.not_admitting_nights ? `${formatNumber(r.not_admitting_nights)} n. (${formatEuro(r.not_admitting_funding)})` : "–")),
        el("td", { class: "num" }, formatEuro(r.availability_funding)),
        el("td", { class: "num" }, formatEuro(r.pxq_amount)));
      if (mode === "groep") {
        cells.push(el("td", { class: "row-action" }, el("button", {
          type: "button", class: "button small secondary", onclick: () => showGroup(r),
        }, "Grafiek", el("span", { class: "visually-hidden" }, ` van ${r.group_name}`)),
        r.changed_since_finalisation ? el("span", { class: "badge warn" }, "gewijzigd") : null));
      } else {
        cells.push(el("td", { class: "num" }, String(r.groups_below_50)));
      }
      return el("tr", { dataset: { id: r.group_id || r.provider_id }, class: r.below_50 ? "below-50" : null }, cells);
    });
    tableBox.replaceChildren(...kids(el("table", { class: "data", id: "rapport-tabel" },
      el("caption", {}, mode === "groep" ? "Nacalculatie per groep" : "Nacalculatie per aanbieder"),
      el("thead", {}, el("tr", {}, head.map((h, i) => el("th", { scope: "col", class: columnClass(mode, i) },
        h || el("span", { class: "visually-hidden" }, "Grafiek"))))), el("tbody", {}, body))));
  }

  async function showGroup(row) {
    detail.hidden = false;
    detail.replaceChildren(...kids(el("h2", {}, `Bezetting per week: ${row.group_name}`), loading("Grafiek laden…")));
    try {
      const { data } = await request(`/post-calculation/groups/${row.group_id}/chart.svg?year=${year.value}`, { blob: true });
      if (objectUrl) URL.revokeObjectURL(objectUrl);
      objectUrl = URL.createObjectURL(data);
      detail.replaceChildren(...kids(el("h2", {}, `Bezetting per week: ${row.group_name}`),
        el("img", {
          src: objectUrl, class: "group-chart",
          alt: `Bezetting van ${row.group_name} per week; gemiddeld ${formatPercent(row.occupancy_rate)} van ${row.contracted_places} plaatsen.`,
        }),
        el("button", { type: "button", class: "button small secondary", onclick: () => { detail.hidden = true; } }, "Sluiten")));
      detail.scrollIntoView({ block: "nearest" });
    } catch (error) {
      detail.replaceChildren(...kids(el("p", { class: "error", role: "alert" }, `De grafiek kon niet worden geladen: ${error.message}`)));
    }
  }

  async function download(kind, button) {
    showError(downloadError, null);
    button.disabled = true;
    const original = button.textContent;
    button.textContent = "Bezig…";
    try {
      const { data, headers } = await request(`/post-calculation/export.${kind}?year=${year.value}`, { blob: true });
      const disposition = headers.get("Content-Disposition") || "";
      const match = /filename="?([^";]+)"?/.exec(disposition);
      downloadBlob(data, match ? match[1] : `nacalculatie-${year.value}.${kind}`);
    } catch (error) {
      showError(downloadError, `Downloaden is mislukt: ${error.message}`);
    } finally {
      button.disabled = false;
      button.textContent = original;
    }
  }

  function setMode(next) {
    mode = next;
    perGroup.setAttribute("aria-pressed", String(mode === "groep"));
    perProvider.setAttribute("aria-pressed", String(mode === "aanbieder"));
    if (report) paint();
  }

  year.addEventListener("change", load);
  perGroup.addEventListener("click", () => setMode("groep"));
  perProvider.addEventListener("click", () => setMode("aanbieder"));
  csv.addEventListener("click", () => download("csv", csv));
  xlsx.addEventListener("click", () => download("xlsx", xlsx));
  load();
  return () => {
    if (objectUrl) URL.revokeObjectURL(objectUrl);
  };
}
