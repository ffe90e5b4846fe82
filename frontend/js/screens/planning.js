// Contract manager (viewer), coordinator and administrator of the region: how many crisis places
// keep the chance that a youth finds no free place below a target, per crisis group, per
// provider and for the region, and what each choice costs in availability funding. The target
// starts at the region setting; changing it here is a what-if (the setting stays as it is).

import { request } from "../api.js";
import { el, formatEuro, formatNumber, kids, loading, showError, svg, announce, debounce } from "../ui.js";

const KIND_LABEL = { region: "Regio", provider: "Aanbieder", group: "Groep" };

function percent(value, digits = 1) {
  if (value === null || value === undefined) return "–";
  return `${formatNumber(value * 100, digits)}%`;
}

function days(value) {
  return value === null || value === undefined ? "–" : `${formatNumber(value, 1)} dagen`;
}

function range(pair, format) {
  return pair ? `${format(pair[0])} – ${format(pair[1])}` : "–";
}

function poolKey(pool) {
  return `${pool.kind}:${pool.id}`;
}

function poolName(pool) {
  if (pool.kind === "group") return `${pool.name} (${pool.provider_name || "aanbieder onbekend"})`;
  return pool.name;
}

// Loss probability per number of places as bars, the target as a dashed line, the advice and
// today's places marked. role=img with a summary; the table below carries every figure.
function lossChart(pool, target) {
  const rows = pool.table;
  const width = 760;
  const height = 260;
  const left = 56;
  const bottom = 36;
  const top = 14;
  const plotW = width - left - 16;
  const plotH = height - top - bottom;
  const maxY = Math.max(target * 1.5, ...rows.slice(1).map((r) => r.loss_probability), 0.01);
  const barW = plotW / rows.length;
  const y = (p) => top + plotH - (Math.min(p, maxY) / maxY) * plotH;
  const ticks = [0, maxY / 2, maxY];
  const label = `Staafdiagram: kans op geen vrije plaats bij 0 tot ${rows.length - 1} plaatsen. `
    + `Advies ${pool.recommended_places} plaatsen (${percent(pool.recommended_loss_probability)}), doel ${percent(target)}, `
    + `nu ${pool.current_places} plaatsen (${percent(pool.current_loss_probability)}). De tabel eronder geeft dezelfde cijfers.`;
  return svg("svg", { viewBox: `0 0 ${width} ${height}`, class: "planner-chart", role: "img", "aria-label": label },
    ticks.map((t) => svg("g", {},
      svg("line", { x1: left, x2: width - 16, y1: y(t), y2: y(t), class: "grid-line" }),
      svg("text", { x: left - 6, y: y(t) + 4, "text-anchor": "end", class: "chart-label" }, percent(t, 0)))),
    rows.map((r, i) => {
      const cls = r.places === pool.recommended_places ? "bar-advice" : r.loss_probability <= target ? "bar-ok" : "bar-loss";
      const x = left + i * barW;
      return svg("g", {},
        svg("rect", { x: x + 1, y: y(r.loss_probability), width: Math.max(1, barW - 2), height: top + plotH - y(r.loss_probability), class: cls }),
        (rows.length <= 30 || i % 2 === 0)
          ? svg("text", { x: x + barW / 2, y: height - bottom + 14, "text-anchor": "middle", class: "chart-label" }, String(r.places))
          : null,
        r.places === pool.current_places
          ? svg("text", { x: x + barW / 2, y: height - bottom + 28, "text-anchor": "middle", class: "chart-label strong" }, "nu")
          : null);
    }),
    svg("line", { x1: left, x2: width - 16, y1: y(target), y2: y(target), class: "target-line" }),
    svg("text", { x: width - 18, y: y(target) - 4, "text-anchor": "end", class: "chart-label strong" }, `doel ${percent(target)}`),
    svg("text", { x: left, y: height - 2, class: "chart-label" }, "aantal plaatsen"));
}

export function render(root) {
  const poolSelect = el("select", { id: "planner-pool" });
  const targetInput = el("input", {
    id: "planner-doel", type: "number", min: "0.1", max: "50", step: "0.5", inputmode: "decimal",
    "aria-describedby": "planner-doel-hint",
  });
  const resetTarget = el("button", { type: "button", class: "button small secondary", id: "planner-doel-regio" }, "Regio-instelling");
  const targetHint = el("p", { class: "hint", id: "planner-doel-hint" });
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const period = el("p", { class: "freshness" });
  const summary = el("div", { class: "totals", id: "planner-advies", "aria-live": "polite" });
  const estimates = el("div", { id: "planner-schatting" });
  const chart = el("figure", { class: "chart-figure" });
  const tableBox = el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Tabel: kans op geen plek per aantal plaatsen" });
  const overview = el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Overzicht van de crisisgroepen" });
  const notes = el("div", { id: "planner-kanttekeningen" });
  const assumptions = el("details", { class: "card" });
  let answer = null;
  let selected = null;
  let loads = 0;

  root.replaceChildren(...kids(el("section", { class: "page wide" },
    el("div", { class: "page-head" }, el("h1", {}, "Crisiscapaciteit plannen"), period),
    el("p", { class: "lead" }, "Hoeveel crisisplaatsen houden de kans dat een jongere geen vrije plek vindt onder het doel? "
      + "Berekend met de formule van Erlang uit de opnamen en verblijfsduren in de bezettingsfeed, met de "
      + "beschikbaarheidsvergoeding die elke keuze per jaar kost."),
    el("div", { class: "toolbar" },
      el("div", { class: "field inline" }, el("label", { for: "planner-pool" }, "Voor"), poolSelect),
      el("div", { class: "field inline" }, el("label", { for: "planner-doel" }, "Doel: kans op geen plek (%)"), targetInput, resetTarget)),
    targetHint, pageError, summary, notes, chart, tableBox, estimates,
    el("h2", {}, "Overzicht"), overview, assumptions)));

  async function load(target) {
    const ticket = ++loads;
    summary.replaceChildren(...kids(loading("Berekenen…")));
    try {
      const query = target === null ? "" : `?target=${encodeURIComponent(target)}`;
      const data = (await request(`/planning/crisis-capacity${query}`)).data;
      if (ticket !== loads) return;
      answer = data;
      showError(pageError, null);
      period.textContent = `${data.region_name}: opnamen van ${data.period_start} t/m ${data.period_end} (${formatNumber(data.days)} dagen)`;
      if (document.activeElement !== targetInput) targetInput.value = formatInput(data.target * 100);
      targetHint.textContent = data.target_is_region_setting
        ? `Dit is het doel van de regio (${percent(data.region_target)}).`
        : `Wat-als: het doel van de regio is ${percent(data.region_target)}; deze keuze wordt niet opgeslagen.`;
      resetTarget.hidden = data.target_is_region_setting;
      fillPools();
      paint();
      announce(`Advies ${selectedPool()?.recommended_places ?? "–"} plaatsen bij een doel van ${percent(data.target)}.`);
    } catch (error) {
      if (ticket !== loads) return;
      summary.replaceChildren();
      showError(pageError, `De planner kon niet rekenen: ${error.message}`);
    }
  }

  function formatInput(value) {
    return String(Math.round(value * 100) / 100);
  }

  function fillPools() {
    const current = selected || (answer.pools[0] && poolKey(answer.pools[0]));
    poolSelect.replaceChildren(...answer.pools.map((p) => el("option", { value: poolKey(p), selected: poolKey(p) === current },
      `${KIND_LABEL[p.kind]}: ${poolName(p)}`)));
    selected = current;
  }

  function selectedPool() {
    return answer && answer.pools.find((p) => poolKey(p) === selected);
  }

  function stat(label, value, id) {
    return el("div", { class: "stat", id }, el("span", { class: "stat-value" }, value), el("span", { class: "stat-label" }, label));
  }

  function paint() {
    const pool = selectedPool();
    paintOverview();
    assumptions.replaceChildren(el("summary", {}, "Wat het model aanneemt en wanneer het niet klopt"),
      el("ul", {}, answer.assumptions.map((a) => el("li", {}, a))));
    if (!pool) {
      summary.replaceChildren(el("p", {}, "Deze regio heeft geen crisisgroepen."));
      for (const node of [notes, chart, tableBox, estimates]) node.replaceChildren();
      return;
    }
    notes.replaceChildren(...kids(pool.notes.length
      ? el("div", { class: "warning" }, el("strong", {}, "Let op bij deze cijfers"), el("ul", {}, pool.notes.map((n) => el("li", {}, n))))
      : null));
    if (pool.recommended_places === null) {
      summary.replaceChildren(el("p", {}, "Geen advies: er zijn te weinig gegevens in deze periode."));
      for (const node of [chart, tableBox]) node.replaceChildren();
      paintEstimates(pool);
      return;
    }
    summary.replaceChildren(
      stat("Advies: plaatsen", formatNumber(pool.recommended_places), "planner-advies-plaatsen"),
      stat("Bandbreedte (95%)", `${pool.recommended_interval[0]} – ${pool.recommended_interval[1]}`),
      stat("Kans op geen plek bij advies", percent(pool.recommended_loss_probability)),
      stat("Beschikbaarheid per jaar bij advies", formatEuro(pool.recommended_funding_per_year), "planner-kosten"),
      stat(`Nu ${pool.current_places} plaatsen: kans op geen plek`, percent(pool.current_loss_probability)),
      stat("Nu: beschikbaarheid per jaar", formatEuro(pool.current_funding_per_year)));
    chart.replaceChildren(lossChart(pool, answer.target),
      el("figcaption", {}, `Kans op geen vrije plaats per aantal plaatsen voor ${poolName(pool)}; `
        + "groen haalt het doel, de donkere staaf is het advies."));
    tableBox.replaceChildren(el("table", { class: "data", id: "planner-tabel" },
      el("caption", {}, `Per aantal plaatsen: ${poolName(pool)}`),
      el("thead", {}, el("tr", {}, ["Plaatsen", "Kans op geen plek", "Verwacht bezet", "Verwacht leeg", "Beschikbaarheid per jaar"]
        .map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, pool.table.map((r) => el("tr", {
        class: r.places === pool.recommended_places ? "advice-row" : null,
        "aria-current": r.places === pool.recommended_places ? "true" : null,
      },
      el("th", { scope: "row" }, String(r.places), r.places === pool.recommended_places ? " (advies)" : "",
        r.places === pool.current_places ? " (nu)" : ""),
      el("td", { class: "num" }, percent(r.loss_probability, 2)),
      el("td", { class: "num" }, formatNumber(r.expected_occupied, 1)),
      el("td", { class: "num" }, formatNumber(r.expected_empty, 1)),
      el("td", { class: "num" }, formatEuro(r.availability_funding_per_year)))))));
    paintEstimates(pool);
  }

  function paintEstimates(pool) {
    const sim = pool.simulation;
    estimates.replaceChildren(...kids(el("h2", {}, "Waar het advies op rust"),
      el("dl", { class: "facts" },
        el("dt", {}, "Opnamen in de periode"), el("dd", {}, formatNumber(pool.arrivals)),
        el("dt", {}, "Opnamen per jaar (95%-interval)"),
        el("dd", {}, `${formatNumber(pool.arrivals_per_year, 1)} (${range(pool.arrival_rate_interval, (v) => formatNumber(v * 365, 1))})`),
        el("dt", {}, "Gemiddelde verblijfsduur (95%-interval)"),
        el("dd", {}, `${days(pool.mean_stay_days)} (${range(pool.mean_stay_interval, (v) => formatNumber(v, 1))})`),
        el("dt", {}, "Mediaan en 90e percentiel"), el("dd", {}, `${days(pool.median_stay_days)}; ${days(pool.p90_stay_days)}`),
        el("dt", {}, "Afgeronde en lopende verblijven"), el("dd", {}, `${formatNumber(pool.stays_completed)} en ${formatNumber(pool.stays_open)}`),
        el("dt", {}, "Aangeboden belasting (gemiddeld bezette plaatsen zonder tekort)"),
        el("dd", {}, pool.offered_load === null ? "–"
          : `${formatNumber(pool.offered_load, 2)} (${range(pool.offered_load_interval, (v) => formatNumber(v, 2))})`),
        el("dt", {}, "Beschikbaarheidsvergoeding per lege plaats per jaar"), el("dd", {}, formatEuro(pool.funding_per_place_per_year))),
      sim ? el("p", { id: "planner-simulatie", class: sim.agrees ? "notice" : "warning" },
        `Controle met een simulatie van de werkelijke aankomsten (${sim.replications} herhalingen, `
        + `${formatNumber(sim.counted_arrivals)} getelde opnamen elk): bij ${sim.places} plaatsen vond `
        + `${percent(sim.loss_mean, 2)} geen plek (95%-interval ${range(sim.loss_interval, (v) => percent(v, 2))}); `
        + `de formule geeft ${percent(sim.formula, 2)}. `
        + (sim.agrees ? "Ze stemmen overeen." : "Ze wijken af: zie de kanttekeningen.")) : null));
  }

  function paintOverview() {
    overview.replaceChildren(el("table", { class: "data", id: "planner-overzicht" },
      el("caption", {}, `Advies bij een doel van ${percent(answer.target)}`),
      el("thead", {}, el("tr", {}, ["", "Naam", "Nu plaatsen", "Advies", "Bandbreedte", "Opnamen per jaar", "Beschikbaarheid per jaar bij advies", ""]
        .map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, answer.pools.map((p) => el("tr", { "aria-current": poolKey(p) === selected ? "true" : null },
        el("td", {}, KIND_LABEL[p.kind]),
        el("th", { scope: "row" }, poolName(p)),
        el("td", { class: "num" }, String(p.current_places)),
        el("td", { class: "num" }, p.recommended_places === null ? "–" : String(p.recommended_places)),
        el("td", { class: "num" }, p.recommended_interval ? `${p.recommended_interval[0]} – ${p.recommended_interval[1]}` : "–"),
        el("td", { class: "num" }, formatNumber(p.arrivals_per_year, 1)),
        el("td", { class: "num" }, formatEuro(p.recommended_funding_per_year)),
        el("td", {}, el("button", {
          type: "button", class: "button small secondary",
          onclick: () => { selected = poolKey(p); poolSelect.value = selected; paint(); chart.scrollIntoView({ block: "nearest" }); },
        }, "Toon", el("span", { class: "visually-hidden" }, ` ${poolName(p)}`))))))));
  }

  const changed = debounce(() => {
    const value = Number(String(targetInput.value).replace(",", "."));
    if (!Number.isFinite(value) || value <= 0 || value >= 100) {
      showError(pageError, "Vul een doel in tussen 0 en 100 procent, bijvoorbeeld 5.");
      return;
    }
    load(value / 100);
  }, 300);
  targetInput.addEventListener("input", changed);
  resetTarget.addEventListener("click", () => load(null));
  poolSelect.addEventListener("change", () => { selected = poolSelect.value; paint(); });
  load(null);
  return () => changed.cancel();
}
