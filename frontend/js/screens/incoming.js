// A provider's incoming placement proposals and crisis holds: accept (with the expected arrival
// date) or decline with a reason; and the accepted placements: the youth arrived ("Aangekomen",
// with the stay reference of the provider's own system if it has one), did not come or will not
// come. Follows the live feed, so a new proposal or hold appears without reloading.

import { get, newIdempotencyKey, post } from "../api.js";
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

  // Today in the provider's own calendar (the date field speaks local dates).
  function localToday() {
    const now = new Date();
    return new Date(now.getTime() - now.getTimezoneOffset() * 60000).toISOString().slice(0, 10);
  }
  function formatDay(iso) {
    const [y, m, d] = String(iso).split("-");
    return `${Number(d)}-${Number(m)}-${y}`;
  }

  function proposalCard(p) {
    const picker = reasonPicker(`afwijzen-${p.id}`, Object.entries(declineReasons));
    const arrivalId = `aankomst-${p.id}`;
    const arrivalDate = el("input", { id: arrivalId, type: "date", value: localToday(), min: localToday(), required: true });
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
      el("div", { class: "field" }, el("label", { for: arrivalId }, "Verwachte aankomst"), arrivalDate),
      el("div", { class: "actions" }, accept), cardError);
    accept.addEventListener("click", async () => {
      if (!arrivalDate.value) {
        showError(cardError, "Kies de datum waarop de jongere wordt verwacht.");
        arrivalDate.focus();
        return;
      }
      accept.disabled = true;
      try {
        await post(`/proposals/${p.id}/accept`, { expected_arrival: arrivalDate.value });
        announce(`Voorstel voor ${p.group_name} geaccepteerd; aankomst verwacht op ${formatDay(arrivalDate.value)}.`);
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

  // An accepted placement: the youth is expected. One Idempotency-Key per card, so that a retry
  // after a lost answer records the arrival once.
  function placementCard(pl) {
    const key = newIdempotencyKey();
    const refId = `verblijf-${pl.id}`;
    const reasonId = `reden-${pl.id}`;
    const stayRef = el("input", { id: refId, maxlength: 64, placeholder: pl.stay_reference, autocomplete: "off" });
    const reason = el("input", { id: reasonId, maxlength: 500, placeholder: "Bijvoorbeeld: niet op de intake verschenen" });
    const arrived = el("button", { type: "button", class: "button ok" }, "Aangekomen");
    const noShow = el("button", { type: "button", class: "button danger" }, "Niet verschenen");
    const cancel = el("button", { type: "button", class: "button" }, "Gaat niet door");
    const cardError = el("p", { class: "error", role: "alert", hidden: true });
    const card = el("article", { class: "card placement-card", dataset: { placementId: pl.id } },
      el("h3", {}, `Aankomst verwacht: ${pl.group_name}`),
      el("p", {}, `Verwacht op ${formatDay(pl.expected_arrival)}, profiel ${pl.risk_profile}. `
        + `Verblijfsreferentie voor uw eigen systeem: ${pl.stay_reference}.`),
      el("div", { class: "field" },
        el("label", { for: refId }, "Eigen verblijfsreferentie (optioneel)"), stayRef),
      el("div", { class: "actions" }, arrived),
      el("details", {}, el("summary", {}, "Komt niet of gaat niet door"),
        el("div", { class: "field" }, el("label", { for: reasonId }, "Reden (verplicht)"), reason),
        el("div", { class: "actions" }, noShow, cancel)),
      cardError);
    arrived.addEventListener("click", async () => {
      arrived.disabled = true;
      try {
        const body = stayRef.value.trim() ? { stay_reference: stayRef.value.trim() } : {};
        const done = await post(`/placements/${pl.id}/arrival`, body, { "Idempotency-Key": key });
        announce(`Aankomst in ${pl.group_name} vastgelegd (verblijf ${done.stay_reference}).`);
        load();
      } catch (err) {
        showError(cardError, err.message);
        arrived.disabled = false;
      }
    });
    for (const [button, kind, label] of [[noShow, "no_show", "Niet verschenen"], [cancel, "cancelled", "Gaat niet door"]]) {
      button.addEventListener("click", async () => {
        if (reason.value.trim().length < 3) {
          showError(cardError, "Geef een reden (minstens 3 tekens).");
          reason.focus();
          return;
        }
        button.disabled = true;
        try {
          await post(`/placements/${pl.id}/no-show`, { kind, reason: reason.value.trim() }, { "Idempotency-Key": `${key}-${kind}` });
          announce(`${label}: de plek in ${pl.group_name} is weer vrij en de jongere staat weer op de wachtlijst.`);
          load();
        } catch (err) {
          showError(cardError, err.message);
          button.disabled = false;
        }
      });
    }
    return card;
  }

  async function load() {
    try {
      if (!Object.keys(declineReasons).length) {
        const vocab = await get("/referrals/vocabulary").catch(() => ({ decline_reasons: {} }));
        declineReasons = vocab.decline_reasons || {};
        rejectReasons = await get("/crisis/reject-reasons").catch(() => []);
      }
      const [proposals, holds, expected] = await Promise.all([
        get("/proposals?status=open").catch(() => []), get("/holds?status=active").catch(() => []),
        get("/placements?status=accepted").catch(() => []),
      ]);
      if (disposed) return;
      const cards = [...holds.map(holdCard), ...proposals.map(proposalCard), ...expected.map(placementCard)];
      list.replaceChildren(...kids(...cards));
      if (!cards.length) list.append(el("p", { class: "hint" }, "Er staan geen voorstellen of vastgehouden plekken open."));
      showError(error, null);
    } catch (err) {
      showError(error, err.message);
    }
  }

  const reloadSoon = debounce(load, 300);
  const unsubscribe = live.subscribe((message) => {
    if (typeof message.type === "string" && (message.type.startsWith("proposal.") || message.type.startsWith("hold.")
      || message.type.startsWith("placement."))) reloadSoon();
  });
  load();
  return () => {
    disposed = true;
    reloadSoon.cancel();
    unsubscribe();
  };
}
