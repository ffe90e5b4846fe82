// Steering indicators (stuurinformatie) of the region, per month over a chosen period:
// waiting times, proposals and declines, placements, scaling up and down, occupancy, crisis and
// the age of the availability reports. Every chart is an SVG image (role="img" with a title and
// a description) with the table of its figures below it; CSV and Excel hold the same tables.
// Coordinators, contract managers and region administrators see their region; a provider sees
// its own groups (no waiting times: a wait is the region's, before any provider is involved).

import { request, session } from "../api.js";
import { downloadBlob, el, formatNumber, formatPercent, kids, loading, municipalities, showError, svg, vocabulary } from "../ui.js";

const MONTHS = ["jan", "feb", "mrt", "apr", "mei", "jun", "jul", "aug", "sep", "okt", "nov", "dec"];
const MONTHS_LONG = ["januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
  "november", "december"];
const INTENSITIES = "ABCDEFGHIJKLMNOPQRS".split("");
const NUMERIC = /^[-–\d.,% ]+( d| u)?$/;
let chartCount = 0;

function monthShort(label) {
  const [year, month] = label.split("-");
  return `${MONTHS[Number(month) - 1]} ${year.slice(2)}`;
}
function monthLong(label) {
  const [year, month] = label.split("-");
  return `${MONTHS_LONG[Number(month) - 1]} ${year}`;
}
function days(value) {
  return value === null || value === undefined ? "–" : `${formatNumber(value, 1)} d`;
}
function isoDay(date) {
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, "0")}-${String(date.getDate()).padStart(2, "0")}`;
}

// A table with a caption, column headers and the first cell of each row as its header.
function dataTable(caption, head, rows) {
  return el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": caption }, el("table", { class: "data" },
    el("caption", {}, caption),
    el("thead", {}, el("tr", {}, head.map((h) => el("th", { scope: "col" }, h)))),
    el("tbody", {}, rows.map((row) => el("tr", {}, row.map((cell, i) => (i === 0
      ? el("th", { scope: "row" }, cell) : el("td", { class: NUMERIC.test(String(cell)) ? "num" : null }, cell))))))));
}

// The chart and its table: the image says in words what it shows; the table has the figures.
function figure(chart, caption, table) {
  return el("figure", { class: "map-figure chart-figure indicator-figure" }, chart,
    el("figcaption", {}, caption),
    el("details", { class: "chart-table" }, el("summary", {}, "Tabel bij de grafiek"), table));
}

// The top of a value axis with four steps of 1, 2 or 5 times a power of ten.
function niceMax(value) {
  const raw = Math.max(value, 1) / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((f) => f * power).find((s) => s >= raw - 1e-9);
  return Math.max(4, step * 4);
}

// Columns per month, one per series (grouped), with a value axis from 0.
function columnChart({ title, description, labels, series, format = (v) => formatNumber(v), percent = false }) {
  const id = `grafiek-${++chartCount}`;
  const width = 760;
  const height = 240;
  const left = 48;
  const bottom = 36;
  const top = 14;
  const plotH = height - top - bottom;
  const values = series.flatMap((s) => s.values.filter((v) => v !== null && v !== undefined));
  if (!values.some((v) => v > 0)) return el("p", { class: "empty-chart" }, `${title}: geen gegevens in deze periode.`);
  const max = percent ? 1 : niceMax(Math.max(...values));
  const slot = (width - left - 10) / Math.max(1, labels.length);
  const barW = Math.max(2, Math.min(26, (slot - 4) / series.length));
  const y = (v) => top + plotH - (v / max) * plotH;
  const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => f * max);
  const every = Math.ceil(labels.length / 12);
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "indicator-chart", role: "img", "aria-labelledby": `${id}-t ${id}-d` },
    svg("title", { id: `${id}-t` }, title),
    svg("desc", { id: `${id}-d` }, description),
    ticks.map((t) => svg("g", {},
      svg("line", { x1: left, x2: width - 6, y1: y(t), y2: y(t), class: "grid-line" }),
      svg("text", { x: left - 6, y: y(t) + 4, "text-anchor": "end", class: "chart-label" }, percent ? formatPercent(t) : format(t)))),
    percent ? svg("line", { x1: left, x2: width - 6, y1: y(0.5), y2: y(0.5), class: "half-line" }) : null,
    labels.map((label, i) => svg("g", {},
      series.map((s, k) => {
        const v = s.values[i];
        if (v === null || v === undefined) return null;
        const x = left + i * slot + (slot - barW * series.length) / 2 + k * barW;
        return svg("rect", { x, y: y(v), width: barW - 1, height: Math.max(0, top + plotH - y(v)), class: `series-${k}` },
          svg("title", {}, `${s.name}, ${monthLong(label)}: ${percent ? formatPercent(v) : format(v)}`));
      }),
      i % every === 0 ? svg("text", { x: left + i * slot + slot / 2, y: height - bottom + 16, "text-anchor": "middle", class: "chart-label" }, monthShort(label)) : null)),
    svg("g", { transform: `translate(${left}, ${height - 6})` }, series.map((s, k) => svg("g", { transform: `translate(${k * 190}, 0)` },
      svg("rect", { x: 0, y: -10, width: 12, height: 12, class: `series-${k}` }),
      svg("text", { x: 17, y: 0, class: "chart-label" }, s.name)))));
}

// Horizontal bars with a label each (reasons, groups, providers).
function barChart({ title, description, rows, format = (v) => formatNumber(v), max = null, marker = null }) {
  const id = `grafiek-${++chartCount}`;
  const rowH = 24;
  const width = 760;
  const labelW = 260;
  const height = rows.length * rowH + 12;
  if (!rows.length) return el("p", { class: "empty-chart" }, `${title}: geen gegevens.`);
  const top = max ?? Math.max(1, ...rows.map((r) => r.value || 0));
  const scale = (v) => (Math.min(v, top) / top) * (width - labelW - 80);
  return svg("svg", { viewBox: `0 0 ${width} ${Math.max(height, 30)}`, class: "indicator-chart bars", role: "img", "aria-labelledby": `${id}-t ${id}-d` },
    svg("title", { id: `${id}-t` }, title),
    svg("desc", { id: `${id}-d` }, description),
    rows.map((r, i) => svg("g", {},
      svg("text", { x: labelW - 8, y: i * rowH + 17, "text-anchor": "end", class: "chart-label" }, r.label.slice(0, 38)),
      svg("rect", { x: labelW, y: i * rowH + 5, width: Math.max(0, scale(r.value || 0)), height: 16, class: r.warn ? "series-warn" : "series-0" }),
      svg("text", { x: labelW + scale(r.value || 0) + 6, y: i * rowH + 17, class: "chart-label" }, r.value === null ? "–" : format(r.value)))),
    marker !== null ? svg("line", { x1: labelW + scale(marker), x2: labelW + scale(marker), y1: 0, y2: height, class: "half-line" }) : null);
}

function stat(label, value, id = null) {
  return el("div", { class: "stat", dataset: id ? { stat: id } : {} }, el("span", { class: "stat-value" }, value), el("span", { class: "stat-label" }, label));
}

function section(id, title, intro, ...content) {
  return el("section", { class: "card indicator-section", id, "aria-labelledby": `${id}-kop` },
    el("h2", { id: `${id}-kop` }, title), intro ? el("p", { class: "freshness" }, intro) : null, ...content);
}

export function render(root, { user }) {
  const isProvider = (user || session.get() || {}).role === "provider";
  const today = new Date();
  const startDefault = new Date(today.getFullYear(), today.getMonth() - 11, 1);
  const start = el("input", { type: "date", id: "ind-start", value: isoDay(startDefault) });
  const end = el("input", { type: "date", id: "ind-end", value: isoDay(today) });
  const careForm = el("select", { id: "ind-zorgvorm" }, el("option", { value: "" }, "Alle zorgvormen"));
  const intensity = el("select", { id: "ind-intensiteit" }, el("option", { value: "" }, "Alle"),
    INTENSITIES.map((l) => el("option", { value: l }, l)));
  const municipality = el("select", { id: "ind-gemeente" }, el("option", { value: "" }, "Alle gemeenten"));
  const provider = el("select", { id: "ind-aanbieder" }, el("option", { value: "" }, "Alle aanbieders"));
  const csv = el("button", { type: "button", class: "button secondary" }, "Download CSV");
  const xlsx = el("button", { type: "button", class: "button secondary" }, "Download Excel");
  const heading = el("p", { class: "freshness", id: "ind-periode" });
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const body = el("div", { id: "ind-inhoud", "aria-live": "polite" });
  const label = (forId, text, input) => el("div", { class: "field" }, el("label", { for: forId }, text), input);

  root.replaceChildren(...kids(el("section", { class: "page wide" },
    el("div", { class: "page-head" }, el("h1", {}, "Stuurinformatie"), heading),
    el("p", { class: "lead" }, isProvider
      ? "De cijfers van uw eigen groepen: voorstellen en afwijzingen, plaatsingen, bezetting, crisisplaatsingen en hoe actueel uw meldingen zijn."
      : "Wachttijden, voorstellen en afwijzingen, plaatsingen buiten de regio, op- en afschaling, bezetting van elke groep, crisis en de actualiteit van de meldingen, per maand."),
    el("form", { class: "toolbar indicator-filters", id: "ind-filters" },
      el("div", { class: "form-row" },
        label("ind-start", "Van", start), label("ind-end", "Tot en met", end),
        label("ind-zorgvorm", "Zorgvorm", careForm), label("ind-intensiteit", "Intensiteit", intensity),
        label("ind-gemeente", "Gemeente", municipality), isProvider ? null : label("ind-aanbieder", "Aanbieder", provider)),
      el("div", { class: "actions" }, csv, xlsx)),
    pageError, body)));

  let formLabel = {};
  vocabulary().then((v) => {
    formLabel = v.careFormLabel;
    careForm.append(...v.care_forms.map((c) => el("option", { value: c.code }, c.label)));
  }).catch(() => {});
  // Only the own region's municipalities (the list holds every region's).
  Promise.all([municipalities(), request("/auth/me")]).then(([list, { data: me }]) => municipality.append(...list
    .filter((m) => !me.region_id || m.region_id === me.region_id)
    .map((m) => el("option", { value: m.id }, m.name)))).catch(() => {});
  if (!isProvider) {
    request("/providers").then(({ data }) => provider.append(...data.map((p) => el("option", { value: p.id }, p.name)))).catch(() => {});
  }

  function query() {
    const params = new URLSearchParams();
    if (start.value) params.set("start", start.value);
    if (end.value) params.set("end", end.value);
    for (const [key, input] of [["care_form", careForm], ["intensity", intensity], ["municipality", municipality], ["provider", provider]]) {
      if (input.value) params.set(key, input.value);
    }
    return params.toString();
  }

  let loads = 0;
  async function load() {
    const ticket = ++loads;
    body.replaceChildren(loading("Stuurinformatie laden…"));
    try {
      const { data } = await request(`/indicators?${query()}`);
      if (ticket !== loads) return;
      showError(pageError, null);
      paint(data);
    } catch (error) {
      if (ticket !== loads) return;
      body.replaceChildren();
      showError(pageError, `De stuurinformatie kon niet worden geladen: ${error.message}`);
    }
  }

  function paint(r) {
    chartCount = 0;
    heading.textContent = `${r.region_name}: ${r.period_start} t/m ${r.period_end}`;
    const w = r.waiting;
    const p = r.proposals;
    const pl = r.placements.total;
    const sc = r.scaling;
    const occ = r.occupancy;
    const cr = r.crisis.total;
    const months = r.months;
    const tiles = el("div", { class: "totals", id: "ind-kerncijfers" },
      w ? stat("Mediaan wachttijd tot voorstel", days(w.to_proposal.median_days), "wacht-voorstel") : null,
      w ? stat("Mediaan wachttijd tot plaatsing", days(w.to_placement.median_days), "wacht-plaatsing") : null,
      stat("Voorstellen verstuurd", formatNumber(p.total.sent), "voorstellen"),
      stat("Geaccepteerd", formatPercent(p.total.acceptance_rate), "acceptatie"),
      stat("Plaatsingen", formatNumber(pl.placements), "plaatsingen"),
      stat("Bezetting", formatPercent(occ.total.occupancy_rate), "bezetting"),
      stat("Crisis in eigen regio", formatPercent(cr.own_region_share), "crisis-eigen"));
    const sections = [tiles];
    if (w) {
      const a = w.to_proposal;
      const b = w.to_placement;
      sections.push(section("ind-wachttijden", "Wachttijden",
        `Van verwijzing tot eerste voorstel en tot plaatsing, per maand van verwijzing. Jeugdigen die nog wachten tellen mee tot vandaag (Kaplan-Meier), niet als geplaatst en niet weggelaten. Nu nog wachtend: ${formatNumber(w.still_waiting)}.`,
        el("div", { class: "totals" },
          stat("Tot voorstel: mediaan / 90%", `${days(a.median_days)} / ${days(a.p90_days)}`),
          stat("Tot plaatsing: mediaan / 90%", `${days(b.median_days)} / ${days(b.p90_days)}`),
          stat("Nog wachtend (gecensureerd)", `${formatNumber(a.censored)} / ${formatNumber(b.censored)}`)),
        figure(columnChart({
          title: "Mediane wachttijd per maand van verwijzing",
          description: `Staafdiagram: mediane wachttijd in dagen tot voorstel en tot plaatsing per maand; over de hele periode ${days(a.median_days)} tot voorstel en ${days(b.median_days)} tot plaatsing. Lege plekken: de mediaan is nog niet bereikt.`,
          labels: months, series: [{ name: "tot voorstel", values: a.by_month.map((m) => m.median_days) },
            { name: "tot plaatsing", values: b.by_month.map((m) => m.median_days) }],
        }), "Mediane wachttijd (dagen). Een 90e percentiel '–' betekent: meer dan 10% wacht nog.",
        dataTable("Wachttijden per maand van verwijzing", ["Maand", "Verwijzingen", "Voorstel mediaan", "Voorstel 90%", "Nog zonder voorstel",
          "Plaatsing mediaan", "Plaatsing 90%", "Nog niet geplaatst"],
        a.by_month.map((m, i) => [monthLong(m.month), formatNumber(m.referrals), days(m.median_days), days(m.p90_days), formatNumber(m.censored),
          days(b.by_month[i].median_days), days(b.by_month[i].p90_days), formatNumber(b.by_month[i].censored)])))));
    }
    sections.push(section("ind-voorstellen", "Plaatsingsvoorstellen", "Per maand van versturen, met de afloop zoals die nu is.",
      figure(columnChart({
        title: "Plaatsingsvoorstellen per maand",
        description: `Staafdiagram per maand: geaccepteerd, afgewezen en verlopen. Totaal ${p.total.sent} verstuurd, ${p.total.accepted} geaccepteerd, ${p.total.declined} afgewezen, ${p.total.expired} verlopen.`,
        labels: months, series: [{ name: "geaccepteerd", values: p.by_month.map((m) => m.accepted) },
          { name: "afgewezen", values: p.by_month.map((m) => m.declined) }, { name: "verlopen", values: p.by_month.map((m) => m.expired) }],
      }), "Voorstellen per maand.", dataTable("Voorstellen per maand", ["Maand", "Verstuurd", "Geaccepteerd", "Afgewezen", "Verlopen", "Ingetrokken", "Open"],
        p.by_month.map((m) => [monthLong(m.month), m.sent, m.accepted, m.declined, m.expired, m.withdrawn, m.open].map(String)))),
      p.declined_by_reason.length ? figure(barChart({
        title: "Afwijzingen per reden",
        description: `Staafdiagram van ${p.total.declined} afwijzingen per reden; meest gegeven: ${p.declined_by_reason[0].label} (${p.declined_by_reason[0].declined}).`,
        rows: p.declined_by_reason.map((d) => ({ label: d.label, value: d.declined })),
      }), "Afwijzingen per reden.", dataTable("Afwijzingen per reden", ["Reden", "Afgewezen"],
        p.declined_by_reason.map((d) => [d.label, String(d.declined)]))) : el("p", {}, "Geen afwijzingen in deze periode."),
      el("details", { class: "chart-table" }, el("summary", {}, "Per aanbieder"),
        dataTable("Voorstellen per aanbieder", ["Aanbieder", "Verstuurd", "Geaccepteerd", "Afgewezen", "Verlopen", "Acceptatie"],
          p.by_provider.map((g) => [g.provider_name, String(g.sent), String(g.accepted), String(g.declined), String(g.expired),
            formatPercent(g.acceptance_rate)]))),
      el("details", { class: "chart-table" }, el("summary", {}, "Per groep, met afwijsredenen"),
        dataTable("Voorstellen per groep", ["Groep", "Aanbieder", "Verstuurd", "Geaccepteerd", "Afgewezen", "Verlopen", "Afwijsredenen"],
          p.by_group.map((g) => [g.group_name, g.provider_name, String(g.sent), String(g.accepted), String(g.declined), String(g.expired),
            Object.entries(g.declined_by_reason).map(([code, n]) => `${code} ${n}`).join(", ") || "–"])))));
    sections.push(section("ind-plaatsingen", "Plaatsingen en op- en afschaling",
      `${formatNumber(pl.placements)} plaatsingen; ${formatNumber(pl.out_of_region)} buiten de regio (${formatPercent(pl.out_of_region_share)}), ${formatNumber(pl.beyond_max_distance)} verder dan de maximale afstand van de jeugdige (van ${formatNumber(pl.with_max_distance)} met een maximum). Zwaarder dan nodig geplaatst: ${formatNumber(sc.total.heavier_than_needed)}, lichter: ${formatNumber(sc.total.lighter_than_needed)}.`,
      figure(columnChart({
        title: "Plaatsingen per maand",
        description: `Staafdiagram per maand: plaatsingen, waarvan buiten de regio en verder dan de maximale afstand. Totaal ${pl.placements}, buiten de regio ${pl.out_of_region}, te ver ${pl.beyond_max_distance}.`,
        labels: months, series: [{ name: "plaatsingen", values: r.placements.by_month.map((m) => m.placements) },
          { name: "buiten de regio", values: r.placements.by_month.map((m) => m.out_of_region) },
          { name: "verder dan maximum", values: r.placements.by_month.map((m) => m.beyond_max_distance) }],
      }), "Plaatsingen per maand (aankomsten; overplaatsingen tussen groepen niet).",
      dataTable("Plaatsingen per maand", ["Maand", "Plaatsingen", "Buiten de regio", "Verder dan maximum", "Zwaarder dan nodig", "Lichter dan nodig"],
        r.placements.by_month.map((m, i) => [monthLong(m.month), m.placements, m.out_of_region, m.beyond_max_distance,
          sc.by_month[i].heavier_than_needed, sc.by_month[i].lighter_than_needed].map(String)))),
      el("div", { class: "card-grid" },
        dataTable("Uitstroom per bestemming", ["Bestemming", "Uitgestroomd"], sc.discharges_by_destination.map((d) => [d.label, String(d.discharges)])),
        dataTable(`Overgangen tussen zorgvormen (${sc.moves_up} op, ${sc.moves_down} af)`, ["Van", "Naar", "Richting", "Aantal"],
          sc.care_form_moves.map((m) => [m.from_label, m.to_label, m.direction === "op" ? "opschaling" : m.direction === "af" ? "afschaling" : "gelijk", String(m.moves)])))));
    const groups = [...occ.groups].sort((a, b) => (a.occupancy_rate ?? 2) - (b.occupancy_rate ?? 2));
    sections.push(section("ind-bezetting", "Bezetting", `Bezette etmalen gedeeld door plaatsen × dagen, tot en met ${occ.counted_through}; ${occ.total.groups_below_50} van ${occ.total.groups} groepen onder 50%.`,
      figure(columnChart({
        title: "Bezettingsgraad per maand", percent: true,
        description: `Staafdiagram van de bezettingsgraad per maand, met een lijn bij 50%. Over de periode ${formatPercent(occ.total.occupancy_rate)}.`,
        labels: months, series: [{ name: "bezettingsgraad", values: occ.by_month.map((m) => m.occupancy_rate) }],
      }), "Bezettingsgraad van alle groepen samen per maand.", dataTable("Bezetting per maand", ["Maand", "Bezette etmalen", "Plaatsdagen", "Bezettingsgraad"],
        occ.by_month.map((m) => [monthLong(m.month), formatNumber(m.occupied_bed_days), formatNumber(m.place_days), formatPercent(m.occupancy_rate)]))),
      figure(barChart({
        title: "Bezettingsgraad per groep", max: 1, marker: 0.5, format: formatPercent,
        description: `Staafdiagram per groep, laagste eerst, met een lijn bij 50%. ${occ.total.groups_below_50} groepen onder 50%.`,
        rows: groups.slice(0, 25).map((g) => ({ label: g.group_name, value: g.occupancy_rate, warn: g.below_50 })),
      }), groups.length > 25 ? "De 25 groepen met de laagste bezetting; de tabel heeft ze allemaal." : "Bezetting per groep.",
      dataTable("Bezetting per groep", ["Groep", "Aanbieder", "Zorgvorm", "Plaatsen", "Bezette etmalen", "Bezettingsgraad"],
        occ.groups.map((g) => [g.group_name, g.provider_name, formLabel[g.care_form] || g.care_form, String(g.places), formatNumber(g.occupied_bed_days), formatPercent(g.occupancy_rate)])))));
    sections.push(section("ind-crisis", "Crisis", `${r.crisis.note} Tijd tot een plek: van vasthouden tot bevestigen.`,
      el("div", { class: "totals" },
        stat("Zoekacties", cr.searches === null ? "–" : formatNumber(cr.searches), "zoekacties"),
        stat("Zoekacties met een plek", formatPercent(cr.search_success_share)),
        stat("Zoekacties met een plek in eigen regio", formatPercent(cr.search_own_region_share)),
        stat("Vastgehouden", formatNumber(cr.holds)), stat("Bevestigd", formatNumber(cr.confirmed)),
        stat("Bevestigd in eigen regio", formatPercent(cr.own_region_share)),
        stat("Minuten tot plek (mediaan / 90%)", `${formatNumber(cr.median_minutes_to_place)} / ${formatNumber(cr.p90_minutes_to_place)}`)),
      figure(columnChart({
        title: "Crisisplaatsen per maand",
        description: `Staafdiagram per maand: ${cr.searches === null ? "" : "zoekacties, "}vastgehouden, bevestigd en bevestigd in de eigen regio. Totaal ${cr.searches === null ? "" : `${cr.searches} zoekacties, `}${cr.holds} vastgehouden, ${cr.confirmed} bevestigd.`,
        labels: months, series: [...(cr.searches === null ? [] : [{ name: "zoekacties", values: r.crisis.by_month.map((m) => m.searches) }]),
          { name: "vastgehouden", values: r.crisis.by_month.map((m) => m.holds) },
          { name: "bevestigd", values: r.crisis.by_month.map((m) => m.confirmed) },
          { name: "in eigen regio", values: r.crisis.by_month.map((m) => m.confirmed_in_own_region) }],
      }), "Crisis per maand.", dataTable("Crisis per maand", ["Maand", "Zoekacties", "Vastgehouden", "Bevestigd", "In eigen regio"],
        r.crisis.by_month.map((m) => [monthLong(m.month), m.searches === null ? "–" : String(m.searches), String(m.holds), String(m.confirmed), String(m.confirmed_in_own_region)])))));
    const fresh = r.freshness;
    sections.push(section("ind-actualiteit", "Actualiteit van de meldingen", `Nu: hoe oud de laatste beschikbaarheidsmelding per aanbieder is. Verouderd: ouder dan ${fresh.stale_after_hours} uur of nooit gemeld.`,
      figure(barChart({
        title: "Uren sinds de laatste melding per aanbieder",
        description: `Staafdiagram per aanbieder van het aantal uren sinds de nieuwste melding van een van de groepen; ${fresh.providers.filter((f) => f.stale_groups).length} aanbieders hebben verouderde groepen.`,
        rows: fresh.providers.map((f) => ({ label: f.provider_name, value: f.last_report_age_hours, warn: f.stale_groups > 0 })),
        format: (v) => `${formatNumber(v, 1)} u`,
      }), "Uren sinds de laatste melding.", dataTable("Actualiteit per aanbieder", ["Aanbieder", "Groepen", "Laatste melding (uur geleden)", "Oudste groep (uur)", "Nooit gemeld", "Verouderd"],
        fresh.providers.map((f) => [f.provider_name, String(f.groups), formatNumber(f.last_report_age_hours, 1), formatNumber(f.oldest_report_age_hours, 1),
          String(f.never_reported), String(f.stale_groups)])))));
    body.replaceChildren(...kids(sections));
  }

  async function download(kind, button) {
    showError(pageError, null);
    button.disabled = true;
    try {
      const { data, headers } = await request(`/indicators/export.${kind}?${query()}`, { blob: true });
      const match = /filename="?([^";]+)"?/.exec(headers.get("Content-Disposition") || "");
      downloadBlob(data, match ? match[1] : `stuurinformatie.${kind}`);
    } catch (error) {
      showError(pageError, `Downloaden is mislukt: ${error.message}`);
    } finally {
      button.disabled = false;
    }
  }

  for (const input of [start, end, careForm, intensity, municipality, provider]) input.addEventListener("change", load);
  document.getElementById("ind-filters").addEventListener("submit", (event) => { event.preventDefault(); load(); });
  csv.addEventListener("click", () => download("csv", csv));
  xlsx.addEventListener("click", () => download("xlsx", xlsx));
  load();
}
