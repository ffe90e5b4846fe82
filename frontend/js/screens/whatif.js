// Contract manager (viewer) and region administrator: what if a group had been closed, two
// groups merged, places added or removed, or the region had matched in weekly batches? The
// server replays a period of the region's referrals through the matching solver, as it was and
// with the change, several times (a background job); this screen starts it, shows its progress
// (polled every second), can stop it ("Stoppen") and shows both sides with their 95% intervals.
// "Eerdere simulaties" lists the region's earlier runs; "Bekijken" shows one in the same result
// view (a run still going is followed as if just started), without starting a new one.

import { request } from "../api.js";
import {
  announce, el, field, formatDate, formatDateTime, formatEuro, formatKm, formatNumber, kids, loading, showError, svg,
} from "../ui.js";

const CHANGES = [
  ["close", "Een groep sluiten"],
  ["merge", "Twee groepen samenvoegen"],
  ["places", "Plaatsen erbij of eraf"],
  ["none", "Alleen een andere matchwijze"],
];
const POLICIES = [
  ["fcfs", "Wie het eerst komt, het eerst maalt"],
  ["batch", "Wekelijkse batchmatching"],
];
const FINISHED = ["done", "failed", "cancelled"];

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

// A figure in its unit, the Dutch way.
function show(value, unit) {
  if (value === null || value === undefined) return "–";
  if (unit === "dagen") return `${formatNumber(value, 1)} dagen`;
  if (unit === "km") return formatKm(value);
  if (unit === "aandeel") return `${formatNumber(value * 100, 1)}%`;
  if (unit === "euro") return formatEuro(value);
  if (unit === "treden") return formatNumber(value, 2);
  return formatNumber(value, 1);
}

// The mean, and under it the 95% interval (smaller), so that the table stays narrow.
function withInterval(side, unit) {
  if (!side || side.mean === null) return "–";
  if (side.low === null) return show(side.mean, unit);
  return [show(side.mean, unit), el("span", { class: "interval" }, `${show(side.low, unit)} – ${show(side.high, unit)}`)];
}

function select(options, value) {
  return el("select", {}, options.map(([code, text]) => el("option", { value: code, selected: code === value }, text)));
}

// One figure as three bars (what happened, now, with the change), the 95% interval as a line
// over each simulated bar. role=img with the figures in words; the table above has them all.
function figureChart(figure) {
  const bars = [
    ["Wat er gebeurde", figure.observed, null, "bar-track-dark"],
    ["Nu (simulatie)", figure.baseline.mean, figure.baseline, "bar-ok"],
    ["Met wijziging", figure.change.mean, figure.change, "bar-advice"],
  ];
  // Narrow, so that the labels stay readable when a phone scales it down.
  const width = 420;
  const height = 190;
  const left = 118;
  const right = 104;
  const rowH = 58;
  const values = bars.flatMap(([, v, side]) => [v, side && side.high]).filter((v) => v !== null && v !== undefined);
  const max = Math.max(...values, 0) || 1;
  const x = (v) => left + (Math.max(0, v) / max) * (width - left - right);
  const label = `Staafdiagram van ${figure.label.toLowerCase()}: `
    + bars.map(([name, v, side]) => `${name} ${show(v, figure.unit)}`
      + (side && side.low !== null ? ` (95%-interval ${show(side.low, figure.unit)} tot ${show(side.high, figure.unit)})` : ""))
      .join("; ")
    + ". De tabel hierboven geeft alle cijfers.";
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "planner-chart whatif-chart", role: "img", "aria-label": label },
    bars.map(([name, v, side, cls], i) => {
      const y = 14 + i * rowH;
      const known = v !== null && v !== undefined;
      return svg("g", {},
        svg("text", { x: left - 8, y: y + 22, "text-anchor": "end", class: "chart-label strong" }, name),
        svg("rect", { x: left, y, width: width - left - right, height: 32, class: "bar-track" }),
        known ? svg("rect", { x: left, y, width: Math.max(1, x(v) - left), height: 32, class: cls }) : null,
        side && side.low !== null
          ? svg("line", { x1: x(side.low), x2: x(side.high), y1: y + 16, y2: y + 16, class: "interval-line" })
          : null,
        svg("text", { x: width - right + 8, y: y + 22, class: "chart-label" }, known ? show(v, figure.unit) : "onbekend"));
    }));
}

export function render(root) {
  const today = new Date();
  const end = new Date(today.getTime() - 86400000);
  const start = new Date(end.getTime() - 364 * 86400000);
  const startInput = field({ id: "wat-als-begin", label: "Begin van de periode", input: el("input", { type: "date", value: isoDay(start) }) });
  const endInput = field({ id: "wat-als-einde", label: "Einde van de periode", input: el("input", { type: "date", value: isoDay(end) }) });
  const change = field({ id: "wat-als-wijziging", label: "Wijziging", input: select(CHANGES, "close") });
  const group = field({ id: "wat-als-groep", label: "Groep", input: el("select", {}) });
  const other = field({ id: "wat-als-met", label: "Samenvoegen met (deze groep blijft, met de plaatsen van beide)", input: el("select", {}) });
  const delta = field({
    id: "wat-als-plaatsen", label: "Plaatsen erbij (positief) of eraf (negatief)",
    input: el("input", { type: "number", step: "1", min: "-200", max: "200", value: "2", inputmode: "numeric" }),
  });
  const baseline = field({ id: "wat-als-nu", label: "Matchwijze nu", input: select(POLICIES, "fcfs") });
  const policy = field({ id: "wat-als-matchwijze", label: "Matchwijze in de simulatie", input: select(POLICIES, "fcfs") });
  const repetitions = field({
    id: "wat-als-herhalingen", label: "Herhalingen", hint: "Meer herhalingen geven smallere intervallen, maar duren langer.",
    input: el("input", { type: "number", min: "2", max: "30", step: "1", value: "10", inputmode: "numeric" }),
  });
  // Enabled once the groups are there: a change names one of them.
  const startButton = el("button", { type: "submit", class: "button primary", id: "wat-als-start", disabled: true }, "Simulatie starten");
  const stopButton = el("button", { type: "button", class: "button danger", id: "wat-als-stoppen", hidden: true }, "Stoppen");
  const formError = el("p", { class: "error", role: "alert", hidden: true, id: "wat-als-fout" });
  const bar = el("progress", { id: "wat-als-voortgang", class: "progress", max: "1", value: "0", "aria-label": "Voortgang van de simulatie" });
  const statusText = el("p", { id: "wat-als-status", role: "status", tabindex: "-1" });
  const statusBox = el("div", { class: "card", hidden: true }, statusText, bar, el("div", { class: "actions" }, stopButton));
  const result = el("div", { id: "wat-als-resultaat" });
  const listError = el("p", { class: "error", role: "alert", hidden: true, id: "wat-als-eerder-fout" });
  const listBox = el("div", { id: "wat-als-eerder" }, loading());
  const earlier = el("section", { class: "card whatif-runs", "aria-labelledby": "wat-als-eerder-kop" },
    el("h2", { id: "wat-als-eerder-kop" }, "Eerdere simulaties"), listError, listBox);
  const form = el("form", { class: "card whatif-form", novalidate: true },
    el("div", { class: "form-row" }, startInput.wrapper, endInput.wrapper),
    el("div", { class: "form-row" }, change.wrapper, group.wrapper, other.wrapper, delta.wrapper),
    el("div", { class: "form-row" }, baseline.wrapper, policy.wrapper, repetitions.wrapper),
    formError,
    el("div", { class: "actions" }, startButton));

  root.replaceChildren(...kids(el("section", { class: "page wide" },
    el("div", { class: "page-head" }, el("h1", {}, "Wat-als-simulatie")),
    el("p", { class: "lead" }, "Speel de verwijzingen, opnames en vertrekken van een periode opnieuw af met één wijziging, en "
      + "vergelijk wachttijd, afstand, plaatsingen buiten de regio, zwaarte boven de behoefte en beschikbaarheidsvergoeding met "
      + "wat er gebeurde. Elke simulatie wordt een aantal keren herhaald; onder elk gemiddelde staat het 95%-interval."),
    form, earlier, statusBox, result)));

  let timer = null;
  let runId = null;
  let groups = [];

  function showFields() {
    const kind = change.input.value;
    group.wrapper.hidden = kind === "none";
    other.wrapper.hidden = kind !== "merge";
    delta.wrapper.hidden = kind !== "places";
  }
  change.input.addEventListener("change", showFields);
  showFields();

  request("/groups").then(({ data }) => {
    groups = data.slice().sort((a, b) => a.name.localeCompare(b.name, "nl"));
    const options = () => groups.map((g) => el("option", { value: String(g.id) }, `${g.name} (${formatNumber(g.capacity)} plaatsen)`));
    group.input.replaceChildren(...options());
    other.input.replaceChildren(...options());
    if (groups.length > 1) other.input.value = String(groups[1].id);
    startButton.disabled = false;
  }).catch((error) => showError(formError, `De groepen konden niet worden geladen: ${error.message}`));

  function body() {
    const kind = change.input.value;
    const data = {
      start: startInput.input.value,
      end: endInput.input.value,
      change: kind,
      policy: policy.input.value,
      baseline_policy: baseline.input.value,
      repetitions: Number(repetitions.input.value),
    };
    if (kind !== "none") data.group_id = Number(group.input.value);
    if (kind === "merge") data.other_group_id = Number(other.input.value);
    if (kind === "places") data.places_delta = Number(delta.input.value);
    return data;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(formError, null);
    startButton.disabled = true;
    try {
      const run = (await request("/whatif/runs", { method: "POST", json: body() })).data;
      runId = run.id;
      result.replaceChildren();
      paintStatus(run);
      poll();
      loadRuns();
    } catch (error) {
      startButton.disabled = false;
      showError(formError, error.message);
    }
  });

  stopButton.addEventListener("click", async () => {
    stopButton.disabled = true;
    try {
      paintStatus((await request(`/whatif/runs/${runId}/cancel`, { method: "POST" })).data);
    } catch (error) {
      showError(formError, error.message);
      stopButton.disabled = false;
    }
  });

  function poll() {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      try {
        const run = (await request(`/whatif/runs/${runId}`)).data;
        paintStatus(run);
        if (FINISHED.includes(run.status)) finish(run);
        else poll();
      } catch (error) {
        showError(formError, `De voortgang kon niet worden opgehaald: ${error.message}`);
        poll();
      }
    }, 1000);
  }

  function paintStatus(run) {
    statusBox.hidden = false;
    bar.value = run.progress;
    const percent = `${formatNumber(run.progress * 100, 0)}%`;
    bar.textContent = percent;
    const stopping = run.cancel_requested && !FINISHED.includes(run.status);
    statusText.textContent = stopping ? "Stoppen…" : `${run.status_label}: ${percent} van ${run.params.description}`;
    stopButton.hidden = FINISHED.includes(run.status);
    stopButton.disabled = stopping;
  }

  // ``fresh``: the run just ended while this screen followed it (not one opened from the list).
  function finish(run, fresh = true) {
    clearTimeout(timer);
    startButton.disabled = false;
    stopButton.hidden = true;
    if (run.status === "done") {
      statusText.textContent = `Klaar: ${run.params.description}.`;
      paintResult(run);
      if (fresh) announce("De simulatie is klaar. De uitkomst staat onder de voortgang.");
    } else if (run.status === "cancelled") {
      statusText.textContent = "Gestopt. Er is geen uitkomst; start opnieuw om verder te rekenen.";
      if (fresh) announce("De simulatie is gestopt.");
    } else {
      statusText.textContent = `Mislukt: ${run.error || "onbekende fout"}`;
    }
    if (fresh) loadRuns();
  }

  // An earlier run in the same view as a new one; one still going is followed.
  async function view(id) {
    showError(listError, null);
    try {
      const run = (await request(`/whatif/runs/${id}`)).data;
      clearTimeout(timer);
      runId = run.id;
      result.replaceChildren();
      paintStatus(run);
      if (FINISHED.includes(run.status)) {
        finish(run, false);
        announce(`Simulatie ${run.params.description}: ${run.status_label.toLowerCase()}. Zie onder de lijst.`);
      } else {
        poll();
      }
      const heading = result.querySelector("h2");
      (heading || statusText).focus({ preventScroll: true });
      statusBox.scrollIntoView({ block: "start" });
    } catch (error) {
      showError(listError, `Die simulatie kon niet worden geopend: ${error.message}`);
    }
  }

  function runRow(run) {
    const head = run.headline;
    const figures = head && head.placed_baseline !== null
      ? el("span", { class: "whatif-headline" },
        `Geplaatst: ${formatNumber(head.placed_baseline, 1)} nu, ${formatNumber(head.placed_change, 1)} met wijziging`)
      : null;
    const open = el("button", {
      type: "button", class: "button small secondary",
      "aria-label": `Bekijken: ${run.description}, gestart ${formatDateTime(run.created_at)}`,
    }, "Bekijken");
    open.addEventListener("click", () => view(run.id));
    return el("tr", { "data-run": String(run.id) },
      el("td", { "data-label": "Gestart" }, formatDateTime(run.created_at)),
      el("td", { "data-label": "Wijziging" }, run.description || "–",
        el("span", { class: "whatif-period" }, `Periode ${formatDate(run.start)} t/m ${formatDate(run.end)}`)),
      el("td", { "data-label": "Status" }, ...kids(run.status_label, figures)),
      el("td", {}, open));
  }

  async function loadRuns() {
    try {
      const runs = (await request("/whatif/runs?limit=20")).data;
      showError(listError, null);
      if (!runs.length) {
        listBox.replaceChildren(el("p", { class: "hint" }, "Nog geen simulaties in deze regio."));
        return;
      }
      listBox.replaceChildren(
        el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Tabel: eerdere simulaties" },
          el("table", { class: "data stack-on-phone", id: "wat-als-eerdere" },
            el("caption", {}, "De nieuwste eerst, hoogstens twintig"),
            el("thead", {}, el("tr", {}, ["Gestart", "Wijziging", "Status", "Uitkomst"]
              .map((h) => el("th", { scope: "col" }, h)))),
            el("tbody", {}, runs.map(runRow)))));
    } catch (error) {
      listBox.replaceChildren();
      showError(listError, `De eerdere simulaties konden niet worden geladen: ${error.message}`);
    }
  }
  loadRuns();

  function paintResult(run) {
    const data = run.result;
    const chartPick = el("select", { id: "wat-als-grafiek" },
      data.figures.map((f) => el("option", { value: f.key }, f.label)));
    const chartBox = el("figure", { class: "chart-figure" });
    const paintChart = () => {
      const figure = data.figures.find((f) => f.key === chartPick.value);
      chartBox.replaceChildren(figureChart(figure),
        el("figcaption", {}, `${figure.label}: wat er gebeurde, de simulatie zonder en met de wijziging (lijn: 95%-interval).`));
    };
    chartPick.addEventListener("change", paintChart);
    // A closure that placed more youths in some repetition did so through the order of placing:
    // said above the table, not only among the assumptions, so nobody reads it as a gain.
    const ordering = data.more_placed_with_change
      ? data.notes.find((n) => n.includes("volgorde van plaatsen")) : null;
    result.replaceChildren(...kids(
      el("h2", { tabindex: "-1" }, "Uitkomst"),
      el("p", {}, `${run.params.description}. ${formatNumber(data.referrals)} verwijzingen in ${formatNumber(data.days)} dagen, `
        + `${formatNumber(data.groups)} groepen, ${formatNumber(data.repetitions)} herhalingen.`),
      ordering ? el("p", { class: "warning", id: "wat-als-volgorde" }, ordering) : null,
      el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Tabel: uitkomst van de simulatie" },
        el("table", { class: "data stack-on-phone", id: "wat-als-tabel" },
          el("caption", {}, "Gemiddelde over de herhalingen, daaronder het 95%-interval"),
          el("thead", {}, el("tr", {}, ["Cijfer", "Wat er gebeurde", "Nu (simulatie)", "Met wijziging"]
            .map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, data.figures.map((f) => el("tr", {},
            el("th", { scope: "row" }, f.label),
            el("td", { class: "num", "data-label": "Wat er gebeurde" }, show(f.observed, f.unit)),
            el("td", { class: "num", "data-label": "Nu (simulatie)" }, withInterval(f.baseline, f.unit)),
            el("td", { class: "num", "data-label": "Met wijziging" }, withInterval(f.change, f.unit))))))),
      el("div", { class: "toolbar" }, el("div", { class: "field inline" }, el("label", { for: "wat-als-grafiek" }, "Grafiek van"), chartPick)),
      chartBox,
      el("details", { class: "card" }, el("summary", {}, "Wat de simulatie aanneemt"),
        el("ul", {}, data.notes.map((n) => el("li", {}, n))))));
    paintChart();
  }

  return () => clearTimeout(timer);
}
