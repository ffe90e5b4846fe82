// A provider's incoming placement proposals and crisis holds: accept (with the expected arrival
// date) or decline with a reason; and the accepted placements: the youth arrived ("Aangekomen",
// with the stay reference of the provider's own system if it has one), did not come or will not
// come. Follows the live feed, so a new proposal or hold appears without reloading.
// A proposal card says what the provider needs to decide (age, gender, need profile, intensity,
// urgency) and whom to ask (the coordinator and the coordination point's contact); answered
// proposals stay listed below as history, with the answer and when.
// Every list is asked for one provider (?provider_id=): the administrator acting for a provider
// sees that provider's cards only, and the server holds to it.

import { get, newIdempotencyKey, post } from "../api.js";
import {
  announce, debounce, el, formatClock, formatDate, formatDateTime, kids, label, showError, urgencyLabel,
} from "../ui.js";

// How many answered proposals the history shows (newest first).
const HISTORY_SIZE = 20;

// "Meisje van 14 jaar", or "Jongere van 14 jaar" when the gender is not known.
function youth(gender, age) {
  const who = gender ? label("gender", gender) : "Jongere";
  return age === null || age === undefined ? who : `${who} van ${age} jaar`;
}

// The facts of a proposal as a description list (term, value).
function facts(rows) {
  return el("dl", { class: "facts" }, rows.filter(([, value]) => value !== null && value !== undefined && value !== "")
    .flatMap(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function profileFacts(p) {
  const profile = p.profile || {};
  return [
    ["Jongere", youth(profile.gender, profile.age)],
    ["Hulpvragen", (profile.need_labels || []).join(", ") || "geen opgegeven"],
    ["Benodigde intensiteit", profile.required_intensity],
    ["Risicoprofiel", profile.risk_profile ? label("riskProfile", profile.risk_profile) : null],
    ["Urgentie", urgencyLabel(profile.urgency)],
    ["Woongemeente", profile.home_municipality],
    ["Machtiging", profile.secure_authorisation ? "Machtiging gesloten jeugdhulp" : null],
    ["Broers en zussen", profile.siblings_in_proposal
      ? `Nog ${profile.siblings_in_proposal} voorstel${profile.siblings_in_proposal === 1 ? "" : "len"} voor broers of zussen`
      : null],
  ];
}

export function renderIncoming(section, { live, providerId = null }) {
  let declineReasons = {};
  let rejectReasons = [];
  let disposed = false;
  const list = el("div", { class: "card-grid" });
  const history = el("ol", { class: "proposal-history", id: "beantwoorde-voorstellen" });
  const historyBox = el("section", { class: "history", "aria-labelledby": "beantwoord-titel", hidden: true },
    el("h3", { id: "beantwoord-titel" }, "Beantwoorde voorstellen"), history);
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const forProvider = providerId ? `provider_id=${providerId}` : "";
  section.replaceChildren(...kids(el("h2", { id: "inkomend-titel" }, "Inkomende voorstellen en vastgehouden plekken"),
    error, list, historyBox));

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

  function proposalCard(p) {
    const picker = reasonPicker(`afwijzen-${p.id}`, Object.entries(declineReasons));
    const arrivalId = `aankomst-${p.id}`;
    const arrivalDate = el("input", { id: arrivalId, type: "date", value: localToday(), min: localToday(), required: true });
    const accept = el("button", { type: "button", class: "button ok" }, "Accepteren");
    const decline = el("button", { type: "button", class: "button danger" }, "Afwijzen");
    const cardError = el("p", { class: "error", role: "alert", hidden: true });
    const contact = [p.proposed_by ? `Voorgesteld door ${p.proposed_by} op ${formatDateTime(p.created_at)}` : null,
      p.coordinator_contact ? `Vragen: ${p.coordinator_contact}` : null].filter(Boolean);
    const card = el("article", { class: "card proposal-card", dataset: { proposalId: p.id } },
      el("h3", {}, `Voorstel voor ${p.group_name}`),
      facts(profileFacts(p)),
      contact.length ? el("p", { class: "meta contact" }, contact.join(". ") + ".") : null,
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
        announce(`Voorstel voor ${p.group_name} geaccepteerd; aankomst verwacht op ${formatDate(arrivalDate.value)}.`);
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
      el("p", {}, `Door de crisisdienst, tot ${formatClock(h.expires_at)}`
        + `${h.age ? `; ${youth(h.gender, h.age).toLowerCase()}` : ""}.`),
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
      el("p", {}, `Verwacht op ${formatDate(pl.expected_arrival)}, risicoprofiel ${label("riskProfile", pl.risk_profile)}. `
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

  // An answered proposal: what it was, the answer and when (and who answered).
  function historyItem(p) {
    const answer = p.status === "declined"
      ? `${p.status_label}: ${p.decline_label || "zonder reden"}${p.decline_text ? ` (${p.decline_text})` : ""}`
      : p.status === "accepted" && p.expected_arrival
        ? `${p.status_label}, aankomst verwacht op ${formatDate(p.expected_arrival)}`
        : p.status_label;
    const when = p.answered_at ? ` op ${formatDateTime(p.answered_at)}` : "";
    const by = p.answered_by ? ` door ${p.answered_by}` : "";
    const profile = p.profile || {};
    return el("li", { class: `answered answered-${p.status}`, dataset: { answeredProposalId: p.id } },
      el("strong", {}, p.group_name), " · ",
      `${youth(profile.gender, profile.age)}, ${(profile.need_labels || []).join(", ") || "geen hulpvragen opgegeven"}`,
      el("br"), el("span", { class: "answer" }, `${answer}${when}${by}.`));
  }

  async function load() {
    try {
      if (!Object.keys(declineReasons).length) {
        const vocab = await get("/referrals/vocabulary").catch(() => ({ decline_reasons: {} }));
        declineReasons = vocab.decline_reasons || {};
        rejectReasons = await get("/crisis/reject-reasons").catch(() => []);
      }
      const scoped = (path, query) => `${path}?${[query, forProvider].filter(Boolean).join("&")}`;
      const [proposals, holds, expected] = await Promise.all([
        get(scoped("/proposals", "")).catch(() => []), get(scoped("/holds", "status=active")).catch(() => []),
        get(scoped("/placements", "status=accepted")).catch(() => []),
      ]);
      if (disposed) return;
      const open = proposals.filter((p) => p.status === "open");
      const answered = proposals.filter((p) => p.status !== "open").slice(0, HISTORY_SIZE);
      const cards = [...holds.map(holdCard), ...open.map(proposalCard), ...expected.map(placementCard)];
      list.replaceChildren(...kids(...cards));
      if (!cards.length) list.append(el("p", { class: "hint" }, "Er staan geen voorstellen of vastgehouden plekken open."));
      history.replaceChildren(...answered.map(historyItem));
      historyBox.hidden = !answered.length;
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
