// A provider's incoming placement proposals and crisis holds: accept or decline with a reason.
// Follows the live feed, so a new proposal or hold appears without reloading.

import { get, post } from "../api.js";
import { announce, debounce, el, formatDateTime, formatTime, showError, kids } from "../ui.js";

export function renderIncoming(section, { live }) {
  let declineReasons = {};
  let rejectReasons = [];
  let disposed = false;
  const list = el("div", { class: "card-grid" });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  section.replaceChildren(...kids(el("h2", { id: "inkomend-titel" }, "Inkomende voorstellen en vastgehouden plekken"), error, list));

  function reasonPicker(id, options) {
    const select = el("select", { id }, el("option", { value: "" }, "Kies een reden"),
      options.map(([code, label]) => el("option", { value: code }, label)));
    const text = el("input", { id: `${id}-tekst`, maxlength: 300, placeholder: "Toelichting" });
    return { select, text, node: el("div", { class: "decline" },
      el("div", { class: "field" }, el("label", { for: id }, "Reden"), select),
      el("div", { class: "field" }, el("label", { for: `${id}-tekst` }, "Toelichting (verplicht bij 'anders')"), text)) };
  }

  function proposalCard(p) {
    const picker = reasonPicker(`afwijzen-${p.id}`, Object.entries(declineReasons));
    const accept = el("button", { type: "button", class: "button ok" }, "Accepteren");
    const decline = el("button", { type: "button", class: "button danger" }, "Afwijzen");
    const cardError = el("p", { class: "error", role: "alert", hidden: true });
    const profile = p.profile || {};
    const card = el("article", { class: "card proposal-card", dataset: { proposalId: p.id } },
      el("h3", {}, `Voorstel voor ${p.group_name}`),
      el("p", {}, `Jongere van ${profile.age ?? "?"} jaar, intensiteit ${profile.required_intensity ?? "?"}, profiel ${profile.risk_profile ?? "?"}`
        + `${profile.need_labels && profile.need_labels.length ? `, ${profile.need_labels.join(", ")}` : ""}`
        + `${profile.home_municipality ? `, uit ${profile.home_municipality}` : ""}.`),
      el("p", { class: "hint" }, `Antwoord graag vóór ${formatDateTime(p.expires_at)}.`),
      el("details", {}, el("summary", {}, "Afwijzen met reden"), picker.node, decline),
      el("div", { class: "actions" }, accept), cardError);
    accept.addEventListener("click", async () => {
      accept.disabled = true;
      try {
        await post(`/proposals/${p.id}/accept`, {});
        announce(`Voorstel voor ${p.group_name} geaccepteerd.`);
        load();
      } catch (err) {
        showError(cardError, err.message);
        accept.disabled = false;
      }
    });
    decline.addEventListener("click", async () => {
      if (!picker.select.value) {
        showError(cardError, "Kies een reden om af te wijzen.");
        picker.select.focus();
        return;
      }
      decline.disabled = true;
      try {
        await post(`/proposals/${p.id}/decline`, { reason: picker.select.value, text: picker.text.value.trim() || null });
        announce("Voorstel afgewezen.");
        load();
      } catch (err) {
        showError(cardError, err.message);
        decline.disabled = false;
      }
    });
    return card;
  }

  function holdCard(h) {
    const picker = reasonPicker(`weigeren-${h.id}`, rejectReasons.map((r) => [r.code, r.label]));
    const reject = el("button", { type: "button", class: "button danger" }, "Weigeren");
    const confirm = el("button", { type: "button", class: "button ok" }, "Opgenomen: bevestigen");
    const cardError = el("p", { class: "error", role: "alert", hidden: true });
    const card = el("article", { class: "card hold-card", dataset: { holdId: h.id } },
      el("h3", {}, `Crisisplek vastgehouden: ${h.group_name}`),
      el("p", {}, `Door de crisisdienst, tot ${formatTime(h.expires_at)}${h.age ? `; jongere van ${h.age} jaar` : ""}.`),
      el("details", {}, el("summary", {}, "Weigeren met reden"), picker.node, reject),
      el("div", { class: "actions" }, confirm), cardError);
    confirm.addEventListener("click", async () => {
      // The youth has arrived: the hold becomes the placement.
      confirm.disabled = true;
      try {
        await post(`/holds/${h.id}/confirm`, {});
        announce(`Opname in ${h.group_name} bevestigd.`);
        load();
      } catch (err) {
        showError(cardError, err.message);
        confirm.disabled = false;
      }
    });
    reject.addEventListener("click", async () => {
      if (!picker.select.value) {
        showError(cardError, "Kies een reden om te weigeren.");
        picker.select.focus();
        return;
      }
      reject.disabled = true;
      try {
        await post(`/holds/${h.id}/reject`, { reason_code: picker.select.value, reason: picker.text.value.trim() || null });
        announce(`Vasthouding op ${h.group_name} geweigerd; de plaats is weer vrij.`);
        load();
      } catch (err) {
        showError(cardError, err.message);
        reject.disabled = false;
      }
    });
    return card;
  }

  async function load() {
    try {
      if (!Object.keys(declineReasons).length) {
        const vocab = await get("/referrals/vocabulary").catch(() => ({ decline_reasons: {} }));
        declineReasons = vocab.decline_reasons || {};
        rejectReasons = await get("/crisis/reject-reasons").catch(() => []);
      }
      const [proposals, holds] = await Promise.all([
        get("/proposals?status=open").catch(() => []), get("/holds?status=active").catch(() => []),
      ]);
      if (disposed) return;
      const cards = [...holds.map(holdCard), ...proposals.map(proposalCard)];
      list.replaceChildren(...kids(...cards));
      if (!cards.length) list.append(el("p", { class: "hint" }, "Er staan geen voorstellen of vastgehouden plekken open."));
      showError(error, null);
    } catch (err) {
      showError(error, err.message);
    }
  }

  const reloadSoon = debounce(load, 300);
  const unsubscribe = live.subscribe((message) => {
    if (typeof message.type === "string" && (message.type.startsWith("proposal.") || message.type.startsWith("hold."))) reloadSoon();
  });
  load();
  return () => {
    disposed = true;
    reloadSoon.cancel();
    unsubscribe();
  };
}
