// Coordinator: a batch run over the whole waiting list with progress and its result, reviewed
// line by line (drop, pin, forbid, solve again) before sending the chosen assignments as
// placement proposals, and every proposal with its status (live).

import { get, post } from "../api.js";
import { draft } from "../drafts.js";
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

  // The result under review: lines dropped (not sent), youth-group pairs pinned or forbidden
  // for the next solve. Kept as a draft on the server, so a reload or another device finds the
  // review again.
  let review = { dropped: [], pins: [], forbids: [] };
  let store = null;

  async function showRun(run) {
    if (store) store.close();
    store = draft(`batchrun-beoordeling:${run.id}`);
    const saved = run.proposals_sent_at ? null : await store.load();
    review = {
      dropped: saved?.dropped || [],
      pins: saved?.pins || (run.review?.pins || []),
      forbids: saved?.forbids || (run.review?.forbids || []),
    };
    if (!disposed) paintRun(run);
  }

  function changeReview(run, change) {
    change();
    store.save(review);
    paintRun(run);
  }

  const samePair = (a, b) => a.referral_id === b.referral_id && a.group_id === b.group_id;
  const name = (a) => a.reference || references[a.referral_id] || `#${a.referral_id}`;

  function paintRun(run) {
    result.hidden = false;
    const assignments = run.assignments || [];
    const placed = assignments.length;
    const total = run.referral_ids ? run.referral_ids.length : placed + (run.unplaced || []).length;
    const sent = Boolean(run.proposals_sent_at);
    const forbidden = (a) => review.forbids.some((f) => samePair(f, a));
    const toSend = assignments.filter((a) => !review.dropped.includes(a.referral_id) && !forbidden(a));
    const sendButton = el("button", { type: "button", class: "button primary", id: "run-versturen-knop" },
      toSend.length === placed ? "Voorstellen versturen" : `${toSend.length} van ${placed} voorstellen versturen`);
    const resolveButton = el("button", { type: "button", class: "button secondary", id: "run-opnieuw" }, "Opnieuw rekenen");
    const sendError = el("p", { class: "error", role: "alert", hidden: true });
    const changed = review.dropped.length || review.forbids.length
      || JSON.stringify(review.pins) !== JSON.stringify(run.review?.pins || []);
    sendButton.hidden = sent || !placed;
    sendButton.disabled = !toSend.length;
    resolveButton.hidden = sent || !changed;
    sendButton.addEventListener("click", async () => {
      sendButton.disabled = true;
      try {
        const updated = await post(`/matching/runs/${run.id}/proposals`, { referral_ids: toSend.map((a) => a.referral_id) });
        await store.discard();
        review = { dropped: [], pins: [], forbids: [] };
        paintRun(updated);
        announce(`${updated.proposals.sent.length} voorstellen verstuurd.`);
        loadProposals();
      } catch (error) {
        showError(sendError, error.message);
        sendButton.disabled = false;
      }
    });
    resolveButton.addEventListener("click", async () => {
      resolveButton.disabled = true;
      const keep = (p) => !review.dropped.includes(p.referral_id);
      try {
        const next = await post("/matching/runs", {
          referral_ids: run.referral_ids.filter((id) => !review.dropped.includes(id)),
          pins: review.pins.filter(keep), forbids: review.forbids.filter(keep), time_limit_s: run.time_limit_s,
        });
        await store.discard();
        await showRun(next);
        announce(`Opnieuw gerekend: batchrun ${next.id}.`);
      } catch (error) {
        showError(sendError, error.message);
        resolveButton.disabled = false;
      }
    });

    const line = (a) => {
      const dropped = review.dropped.includes(a.referral_id);
      const pinned = review.pins.some((p) => samePair(p, a));
      const isForbidden = forbidden(a);
      const siblings = a.sibling_set ? assignments.filter((b) => b.sibling_set === a.sibling_set).map((b) => b.referral_id) : [a.referral_id];
      const actions = sent ? [] : [
        el("button", { type: "button", class: "button small secondary", "aria-label": `${dropped ? "Terugzetten" : "Weglaten"}: ${name(a)}` },
          dropped ? "Terugzetten" : "Weglaten"),
        el("button", { type: "button", class: "button small secondary", "aria-pressed": String(pinned), "aria-label": `${name(a)} vastzetten in ${a.group_name}` },
          pinned ? "Losmaken" : "Vastzetten"),
        el("button", { type: "button", class: "button small danger", disabled: isForbidden, "aria-label": `${name(a)} niet in ${a.group_name}` }, "Uitsluiten"),
      ];
      if (actions.length) {
        actions[0].addEventListener("click", () => changeReview(run, () => {
          // Siblings go together: dropping one drops the set.
          review.dropped = dropped ? review.dropped.filter((id) => !siblings.includes(id)) : [...new Set([...review.dropped, ...siblings])];
        }));
        actions[1].addEventListener("click", () => changeReview(run, () => {
          review.pins = pinned ? review.pins.filter((p) => !samePair(p, a))
            : [...review.pins.filter((p) => p.referral_id !== a.referral_id), { referral_id: a.referral_id, group_id: a.group_id }];
        }));
        actions[2].addEventListener("click", () => changeReview(run, () => {
          review.pins = review.pins.filter((p) => !samePair(p, a));
          review.forbids = [...review.forbids, { referral_id: a.referral_id, group_id: a.group_id }];
        }));
      }
      const freshness = a.stale === undefined ? "–" : a.stale
        ? el("span", { class: "badge bad" }, `Verouderd (${formatNumber(Math.round(a.report_age_hours ?? 0))} uur)`)
        : el("span", { class: "badge ok" }, "Actueel");
      return el("tr", { class: `${dropped ? "dropped" : ""}${isForbidden ? " forbidden" : ""}`.trim() || null, dataset: { referralId: a.referral_id } },
        el("th", { scope: "row" }, el("a", { href: `#/wachtlijst/${a.referral_id}` }, name(a)),
          pinned ? el("span", { class: "badge ok" }, " vast") : null),
        el("td", {}, a.group_name), el("td", {}, a.provider_name || "–"), el("td", {}, a.municipality || "–"),
        el("td", { class: "num" }, a.distance_km === undefined ? "–" : `${formatNumber(a.distance_km, 1)} km`),
        el("td", { class: "num" }, formatNumber(a.score, 2)),
        el("td", {}, freshness, a.stale ? el("span", { class: "visually-hidden" }, " bel de aanbieder eerst") : null),
        el("td", { class: "row-actions" }, isForbidden ? el("span", { class: "hint" }, "Uitgesloten: reken opnieuw. ") : null,
          dropped ? el("span", { class: "hint" }, "Wordt niet verstuurd. ") : null, actions));
    };

    const reviewList = [
      ...review.pins.map((p) => ({ pair: p, kind: "pins", text: "vast in" })),
      ...review.forbids.map((p) => ({ pair: p, kind: "forbids", text: "niet in" })),
    ];
    const groupName = (pair) => (assignments.find((a) => a.group_id === pair.group_id) || {}).group_name || `groep ${pair.group_id}`;
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
      sent ? el("p", { class: "notice", id: "run-verstuurd" }, `Voorstellen verstuurd op ${formatDateTime(run.proposals_sent_at)}: `
        + `${run.proposals?.sent?.length ?? 0} verstuurd`
        + `${run.proposals?.dropped?.length ? `, ${run.proposals.dropped.length} weggelaten` : ""}`
        + `${run.proposals?.skipped?.length ? `, ${run.proposals.skipped.length} niet meer mogelijk` : ""}.`) : null,
      !sent && placed ? el("p", { class: "hint" }, "Controleer elke regel: laat een regel weg, zet een jongere vast in een groep of sluit een groep uit, en reken opnieuw. Daarna verstuurt u alleen de regels die blijven.") : null,
      reviewList.length && !sent ? el("ul", { class: "review-list", id: "run-beoordeling" }, reviewList.map(({ pair, kind, text }) => {
        const undo = el("button", { type: "button", class: "button small secondary" }, "Ongedaan maken");
        undo.addEventListener("click", () => changeReview(run, () => {
          review[kind] = review[kind].filter((p) => !samePair(p, pair));
        }));
        return el("li", {}, `${name(pair)} ${text} ${groupName(pair)} `, undo);
      })) : null,
      el("div", { class: "actions" }, sendButton, resolveButton), sendError,
      el("h3", {}, "Toewijzingen"),
      el("div", { class: "table-scroll tall", role: "region", tabindex: "0", "aria-label": "Toewijzingen" },
        el("table", { class: "data", id: "toewijzingen" },
          el("thead", {}, el("tr", {}, ["Jongere", "Groep", "Aanbieder", "Gemeente", "Afstand", "Score", "Cijfers", ""].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, assignments.map(line)))),
      el("h3", {}, "Niet geplaatst, en waarom"),
      el("ul", { class: "unplaced", id: "niet-geplaatst" }, (run.unplaced || []).map((u) => el("li", {},
        el("a", { href: `#/wachtlijst/${u.referral_id}` }, references[u.referral_id] || `#${u.referral_id}`),
        el("ul", {}, u.reasons.map((r) => el("li", {}, r))))))));
  }

  // A run still being solved (started before a reload, or on another device): show its
  // progress and pick up the result when it is there.
  async function follow(run) {
    progress.hidden = false;
    progress.replaceChildren(el("p", {}, `Batchrun ${run.id} loopt sinds ${formatDateTime(run.created_at)}…`));
    let current = run;
    while (!disposed && current.status === "running") {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      try {
        current = await get(`/matching/runs/${run.id}`);
      } catch {
        // a dropped connection: try again on the next tick
      }
    }
    if (disposed) return;
    progress.replaceChildren(el("p", {}, current.status === "done" ? `Batchrun ${run.id} is klaar.` : `Batchrun ${run.id} is mislukt.`));
    if (current.status === "done") await showRun(current);
    else showError(runError, current.error || "De batchrun is mislukt.");
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
      await showRun(run);
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
      if (runs.length && !disposed && result.hidden) {
        if (runs[0].status === "running") follow(runs[0]);
        else if (runs[0].status === "done") showRun(await get(`/matching/runs/${runs[0].id}`));
      }
    } catch {
      /* the latest run is a convenience; the button still works */
    }
  })();
  return () => {
    disposed = true;
    reloadSoon.cancel();
    unsubscribe();
    if (store) store.close();
  };
}
