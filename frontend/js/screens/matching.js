// Coordinator: a batch run over the whole waiting list with progress and its result, sending the
// assignments as placement proposals, and every proposal with its status (live).

import { get, post } from "../api.js";
import { announce, debounce, el, formatDateTime, formatNumber, showError, kids } from "../ui.js";

export function render(root, { live }) {
  const limit = el("select", { id: "run-tijd" }, [5, 10, 30, 60].map((s) => el("option", { value: s, selected: s === 10 }, `${s} seconden`)));
  const send = el("input", { type: "checkbox", id: "run-versturen" });
  const start = el("button", { type: "button", class: "button primary" }, "Batchrun starten");
  const progress = el("div", { id: "run-voortgang", hidden: true, role: "status", "aria-live": "polite" });
  const runError = el("p", { class: "error", role: "alert", hidden: true });
  const result = el("section", { id: "run-resultaat", "aria-labelledby": "resultaat-titel", hidden: true });
  const proposalsBody = el("tbody");
  const proposalsError = el("p", { class: "error", role: "alert", hidden: true });
  let references = {};
  let disposed = false;

  root.replaceChildren(...kids(el("section", { class: "page wide" },
    el("h1", {}, "Matching"),
    el("section", { class: "card", "aria-labelledby": "run-titel" },
      el("h2", { id: "run-titel" }, "Batchrun over de wachtlijst"),
      el("p", { class: "hint" }, "De solver verdeelt alle wachtende jongeren tegelijk over de vrije plekken, met de hoogste totale score."),
      el("div", { class: "toolbar" },
        el("div", { class: "field inline" }, el("label", { for: "run-tijd" }, "Rekentijd hoogstens"), limit),
        el("div", { class: "check" }, send, el("label", { for: "run-versturen" }, "Voorstellen meteen versturen")),
        start),
      progress, runError),
    result,
    el("section", { "aria-labelledby": "voorstellen-titel" },
      el("div", { class: "page-head" }, el("h2", { id: "voorstellen-titel" }, "Plaatsingsvoorstellen")),
      proposalsError,
      el("div", { class: "table-scroll tall", role: "region", tabindex: "0", "aria-labelledby": "voorstellen-titel" },
        el("table", { class: "data", id: "voorstellen-tabel" },
          el("thead", {}, el("tr", {}, ["Jongere", "Groep", "Score", "Status", "Verloopt", "Reden afwijzing"].map((h) => el("th", { scope: "col" }, h)))),
          proposalsBody))))));

  async function loadReferences() {
    try {
      const rows = await get("/referrals");
      references = Object.fromEntries(rows.map((r) => [r.id, r.reference]));
    } catch {
      references = {};
    }
  }

  async function loadProposals() {
    try {
      const rows = await get("/proposals");
      if (disposed) return;
      proposalsBody.replaceChildren(...kids(...rows.map((p) => el("tr", { dataset: { proposalId: p.id } },
        el("th", { scope: "row" }, p.reference || references[p.referral_id] || `#${p.referral_id ?? "?"}`),
        el("td", {}, p.group_name),
        el("td", { class: "num" }, formatNumber(p.score, 2)),
        el("td", {}, el("span", { class: `badge ${p.status === "accepted" ? "ok" : p.status === "open" ? "warn" : p.status === "declined" ? "bad" : ""}` }, p.status_label)),
        el("td", {}, p.status === "open" ? formatDateTime(p.expires_at) : "–"),
        el("td", {}, p.decline_label ? `${p.decline_label}${p.decline_text ? `: ${p.decline_text}` : ""}` : "")))));
      if (!rows.length) proposalsBody.append(el("tr", {}, el("td", { colspan: 6 }, "Nog geen voorstellen.")));
      showError(proposalsError, null);
    } catch (error) {
      showError(proposalsError, `De voorstellen konden niet worden geladen: ${error.message}`);
    }
  }

  function paintRun(run) {
    result.hidden = false;
    const placed = run.assignments ? run.assignments.length : 0;
    const total = run.referral_ids ? run.referral_ids.length : placed + (run.unplaced || []).length;
    const sendButton = el("button", { type: "button", class: "button primary" }, "Voorstellen versturen");
    const sendError = el("p", { class: "error", role: "alert", hidden: true });
    sendButton.hidden = Boolean(run.proposals_sent_at) || !placed;
    sendButton.addEventListener("click", async () => {
      sendButton.disabled = true;
      try {
        const updated = await post(`/matching/runs/${run.id}/proposals`, {});
        paintRun(updated);
        announce("Voorstellen verstuurd.");
        loadProposals();
      } catch (error) {
        showError(sendError, error.message);
        sendButton.disabled = false;
      }
    });
    result.replaceChildren(...kids(
      el("h2", { id: "resultaat-titel" }, `Resultaat van batchrun ${run.id}`),
      el("div", { class: "totals" },
        stat("Geplaatst", `${placed} van ${total}`),
        stat("Totale score", formatNumber(run.objective, 2)),
        stat("Oplossing", run.optimal ? "optimaal" : run.solver_status || run.status),
        stat("Rekentijd", `${formatNumber(run.solve_seconds, 2)} s`),
        run.validation && run.validation.mean_distance_km !== undefined
          ? stat("Gem. afstand", `${formatNumber(run.validation.mean_distance_km, 1)} km`) : null),
      run.error ? el("p", { class: "error" }, run.error) : null,
      run.proposals_sent_at ? el("p", { class: "notice" }, `Voorstellen verstuurd op ${formatDateTime(run.proposals_sent_at)}.`) : null,
      el("div", { class: "actions" }, sendButton), sendError,
      el("div", { class: "two-col options-layout" },
        el("div", {}, el("h3", {}, "Toewijzingen"),
          el("div", { class: "table-scroll tall", role: "region", tabindex: "0", "aria-label": "Toewijzingen" },
            el("table", { class: "data", id: "toewijzingen" },
              el("thead", {}, el("tr", {}, ["Jongere", "Groep", "Score"].map((h) => el("th", { scope: "col" }, h)))),
              el("tbody", {}, (run.assignments || []).map((a) => el("tr", {},
                el("th", { scope: "row" }, el("a", { href: `#/wachtlijst/${a.referral_id}` }, references[a.referral_id] || `#${a.referral_id}`)),
                el("td", {}, a.group_name), el("td", { class: "num" }, formatNumber(a.score, 2)))))))),
        el("div", {}, el("h3", {}, "Niet geplaatst, en waarom"),
          el("ul", { class: "unplaced", id: "niet-geplaatst" }, (run.unplaced || []).map((u) => el("li", {},
            el("a", { href: `#/wachtlijst/${u.referral_id}` }, references[u.referral_id] || `#${u.referral_id}`),
            el("ul", {}, u.reasons.map((r) => el("li", {}, r))))))))));
  }

  function stat(label, value) {
    return el("div", { class: "stat" }, el("span", { class: "stat-value" }, value), el("span", { class: "stat-label" }, label));
  }

  start.addEventListener("click", async () => {
    start.disabled = true;
    showError(runError, null);
    const seconds = Number(limit.value);
    const bar = el("progress", { class: "progress", max: seconds, value: 0, "aria-label": "Voortgang van de batchrun" });
    const text = el("p", {}, "De batchrun loopt…");
    progress.replaceChildren(...kids(bar, text));
    progress.hidden = false;
    const began = Date.now();
    // The run answers when it is done; meanwhile the bar shows the time used of the maximum.
    const timer = setInterval(() => {
      const used = (Date.now() - began) / 1000;
      bar.value = Math.min(seconds, used);
      text.textContent = `De batchrun loopt… ${formatNumber(used, 1)} van hoogstens ${seconds} seconden.`;
    }, 200);
    try {
      const run = await post("/matching/runs", { time_limit_s: seconds, send_proposals: send.checked });
      // Stop the ticking first, or a tick during the awaits below overwrites "Klaar in".
      clearInterval(timer);
      bar.value = seconds;
      text.textContent = `Klaar in ${formatNumber((Date.now() - began) / 1000, 1)} seconden.`;
      await loadReferences();
      paintRun(run);
      announce(`Batchrun klaar: ${run.assignments ? run.assignments.length : 0} jongeren geplaatst.`);
      loadProposals();
    } catch (error) {
      showError(runError, `De batchrun is mislukt: ${error.message}`);
      progress.hidden = true;
    } finally {
      clearInterval(timer);
      start.disabled = false;
    }
  });

  const reloadSoon = debounce(loadProposals, 300);
  const unsubscribe = live.subscribe((message) => {
    if (typeof message.type === "string" && message.type.startsWith("proposal.")) reloadSoon();
  });
  (async () => {
    await loadReferences();
    loadProposals();
    try {
      const runs = await get("/matching/runs?limit=1");
      if (runs.length && !disposed && result.hidden) paintRun(runs[0]);
    } catch {
      /* the latest run is a convenience; the button still works */
    }
  })();
  return () => {
    disposed = true;
    reloadSoon.cancel();
    unsubscribe();
  };
}
