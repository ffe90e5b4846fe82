// Occupancy (bezetting) per group: the youths present now by stay reference (never a name),
// admitting and discharging, correcting an event (it is withdrawn, never edited), and the group's
// history. Above it the groups whose reported free places differ from the feed, each settled in
// one action: "Neem de feed over" (report what the feed leaves free) or "Volg voortaan de feed"
// (the free places follow the feed from now on). A provider works on its own groups; a
// coordinator sees every group of the region, read-only. Follows the live feed.

import { ApiError, get, newIdempotencyKey, post } from "../api.js";
import { LABELS, announce, debounce, el, formatDateTime, kids, loading, overBookedBy, showError } from "../ui.js";

const KIND_LABEL = LABELS.occupancyKind;
const SOURCE_LABEL = LABELS.occupancySource;

// "YYYY-MM-DDTHH:MM" of now in the browser's time: a datetime-local value, which the server reads
// as Dutch local time (the moments care staff write down).
function nowLocal() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:${pad(now.getMinutes())}`;
}

function eventId() {
  return `web-${newIdempotencyKey()}`;
}

export function render(root, { user, live }) {
  const canWrite = user.role === "provider" || user.role === "admin";
  const groups = new Map(); // id -> public group
  let regions = {}; // id -> code
  let selected = null;
  let disposed = false;
  // Discharges being entered (stay reference -> moment typed): a live reload of the table
  // keeps them open with what was typed.
  const discharging = new Map();

  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const discrepancyBox = el("section", { class: "card discrepancies", id: "verschillen", "aria-labelledby": "verschillen-titel" });
  const picker = el("select", { id: "bezetting-groep" });
  const summary = el("div", { class: "occupancy-summary", id: "bezetting-samenvatting", "aria-live": "polite" });
  const presentBox = el("div", { id: "aanwezig" });
  const historyBox = el("div", { id: "geschiedenis" });
  const formBox = el("div", { id: "opnemen" });
  const actionError = el("p", { class: "error", role: "alert", hidden: true, id: "bezetting-fout" });

  root.replaceChildren(...kids(el("section", { class: "page wide occupancy" },
    el("h1", {}, "Bezetting"),
    el("p", { class: "lead" }, canWrite
      ? "Per groep wie er nu is (op verblijfsreferentie, zonder namen). Neem op, ontsla of corrigeer een gebeurtenis; de vrije plaatsen van groepen die de feed volgen lopen vanzelf mee."
      : "Per groep van de regio wie er nu is (op verblijfsreferentie, zonder namen) en de geschiedenis. Alleen lezen."),
    pageError,
    discrepancyBox,
    el("div", { class: "toolbar" },
      el("div", { class: "field inline" }, el("label", { for: "bezetting-groep" }, "Groep"), picker)),
    summary,
    actionError,
    el("div", { class: "occupancy-grid" },
      el("section", { class: "card", "aria-labelledby": "aanwezig-titel" },
        el("h2", { id: "aanwezig-titel" }, "Nu aanwezig"), presentBox),
      canWrite ? el("section", { class: "card", "aria-labelledby": "opnemen-titel" },
        el("h2", { id: "opnemen-titel" }, "Opnemen"), formBox) : null),
    el("section", { class: "card", "aria-labelledby": "geschiedenis-titel" },
      el("h2", { id: "geschiedenis-titel" }, "Geschiedenis"), historyBox))));

  function refused(result) {
    // A batch answers per event: a refusal carries the Dutch reason.
    const item = result.results && result.results[0];
    return item && item.status === "refused" ? item.reason : null;
  }

  async function send(events, doneText) {
    showError(actionError, null);
    try {
      const result = await post("/occupancy/events", { events }, { "Idempotency-Key": newIdempotencyKey() });
      const reason = refused(result);
      if (reason) {
        showError(actionError, reason);
        return false;
      }
      announce(doneText);
      await loadGroup();
      return true;
    } catch (error) {
      showError(actionError, error instanceof ApiError ? error.message : "Opslaan is mislukt; probeer het opnieuw.");
      return false;
    }
  }

  // --- discrepancies -------------------------------------------------------------------------

  async function loadDiscrepancies() {
    let list;
    try {
      list = await get("/occupancy/discrepancies");
    } catch (error) {
      discrepancyBox.replaceChildren(...kids(el("p", { class: "error", role: "alert" },
        `De verschillen met de feed konden niet worden geladen: ${error.message}`)));
      return;
    }
    if (disposed) return;
    const title = el("h2", { id: "verschillen-titel" }, `Verschillen met de feed (${list.length})`);
    if (!list.length) {
      discrepancyBox.replaceChildren(title, el("p", {}, "Geen verschillen: de gemelde vrije plaatsen kloppen met de feed."));
      return;
    }
    // A provider settles its own few; a region's long list stays folded until asked for.
    const wasOpen = discrepancyBox.querySelector("details")?.open;
    const folded = el("details", { open: wasOpen ?? (canWrite || list.length <= 8) },
      el("summary", {}, title));
    const rows = list.map((d) => {
      const actions = canWrite ? el("td", { class: "actions" }, el("div", { class: "row-actions" },
        el("button", {
          type: "button", class: "button small primary",
          "aria-label": `Neem de feed over voor ${d.group_name}: ${Math.max(d.held_places, d.feed_free_places)} vrij`,
          onclick: () => resolve(d, "take_feed"),
        }, "Neem de feed over"),
        el("button", {
          type: "button", class: "button small secondary",
          "aria-label": `${d.group_name}: volg voortaan de feed`,
          onclick: () => resolve(d, "follow_feed"),
        }, "Volg voortaan de feed"))) : null;
      return el("tr", { dataset: { groupId: d.group_id } },
        el("th", { scope: "row" }, d.group_name),
        el("td", { class: "num", "data-label": "Gemeld vrij" }, String(d.reported_free_places)),
        el("td", { class: "num", "data-label": "Feed vrij" }, String(d.feed_free_places)),
        el("td", { class: "num", "data-label": "Verschil" }, `${d.difference > 0 ? "+" : ""}${d.difference}`),
        el("td", { "data-label": "Bron" }, d.source === "census" ? "telling" : "feed"),
        actions);
    });
    folded.append(
      el("p", { class: "hint" }, "Gemeld vrij wijkt af van wat de feed vrijlaat (plaatsen min aanwezigen)."),
      el("div", { class: "table-scroll" }, el("table", { class: "data stack-on-phone", id: "verschillen-tabel" },
        el("thead", {}, el("tr", {}, ["Groep", "Gemeld vrij", "Feed vrij", "Verschil", "Bron", canWrite ? "Oplossen" : null]
          .filter(Boolean).map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, rows))));
    discrepancyBox.replaceChildren(folded);
  }

  async function resolve(d, action) {
    showError(actionError, null);
    try {
      const group = await post(`/occupancy/discrepancies/${d.group_id}/resolve`, { action });
      groups.set(group.id, group);
      announce(action === "take_feed"
        ? `${d.group_name}: ${group.free_places} vrij gemeld, zoals de feed.`
        : `${d.group_name}: de vrije plaatsen volgen nu de feed.`);
      await loadDiscrepancies();
      if (selected === group.id) paintSummary();
    } catch (error) {
      showError(actionError, error.message);
    }
  }

  // --- one group -----------------------------------------------------------------------------

  function paintSummary() {
    const g = groups.get(selected);
    if (!g) {
      summary.replaceChildren();
      return;
    }
    const over = overBookedBy(g);
    summary.replaceChildren(...kids(
      el("p", {}, `${g.capacity} plaatsen · ${g.free_places} vrij`
        + (g.held_places ? ` (${g.held_places} vastgehouden, ${g.net_free_places} open)` : "")
        + (g.places_from_feed ? " · de vrije plaatsen volgen de bezettingsfeed" : " · vrije plaatsen handmatig gemeld")),
      over ? el("p", { class: "warning over-booked", role: "note" },
        `Let op: overboekt. Er ${over === 1 ? "is 1 plaats" : `zijn ${over} plaatsen`} meer vastgehouden dan de feed vrijlaat.`) : null));
  }

  function dischargeCell(stay, g) {
    const cell = el("div", { class: "row-actions" });
    const ref = stay.stay_reference;
    const start = el("button", {
      type: "button", class: "button small secondary",
      "aria-label": `Ontslaan: verblijf ${ref}`,
    }, "Ontslaan");
    function openForm(value, focus) {
      const id = `ontslag-${ref}`;
      const moment = el("input", { type: "datetime-local", id, value });
      const confirm = el("button", { type: "button", class: "button small primary" }, "Ontslag opslaan");
      const cancel = el("button", { type: "button", class: "button small secondary" }, "Annuleren");
      discharging.set(ref, value);
      moment.addEventListener("input", () => discharging.set(ref, moment.value));
      confirm.addEventListener("click", async () => {
        confirm.disabled = true;
        discharging.delete(ref);
        const ok = await send([{
          event_id: eventId(), kind: "discharge", group_id: g.id, at: moment.value, stay_reference: ref,
        }], `Verblijf ${ref} ontslagen.`);
        if (!ok) {
          discharging.set(ref, moment.value);
          confirm.disabled = false;
        }
      });
      cancel.addEventListener("click", () => {
        discharging.delete(ref);
        cell.replaceChildren(start);
      });
      cell.replaceChildren(el("label", { for: id, class: "visually-hidden" }, "Tijdstip van ontslag"), moment, confirm, cancel);
      if (focus) moment.focus();
    }
    start.addEventListener("click", () => openForm(nowLocal(), true));
    if (discharging.has(ref)) openForm(discharging.get(ref), false);
    else cell.append(start);
    return el("td", { class: "actions" }, cell);
  }

  function paintPresent(stays) {
    const g = groups.get(selected);
    if (!stays.length) {
      presentBox.replaceChildren(el("p", {}, "Er is volgens de feed niemand aanwezig."));
      return;
    }
    presentBox.replaceChildren(
      el("p", { class: "hint" }, `${stays.length} van ${g.capacity} plaatsen bezet.`),
      el("div", { class: "table-scroll", tabindex: "0", role: "region", "aria-label": "Nu aanwezig" }, el("table", { class: "data", id: "aanwezig-tabel" },
        el("thead", {}, el("tr", {}, ["Verblijf", "Opgenomen", "Regio", canWrite ? "" : null]
          .filter((h) => h !== null).map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, stays.map((s) => el("tr", { dataset: { stay: s.stay_reference } },
          el("th", { scope: "row" }, s.stay_reference),
          el("td", {}, formatDateTime(s.admitted_at)),
          el("td", {}, s.origin_region_code),
          canWrite ? dischargeCell(s, g) : null))))));
  }

  function paintHistory(events) {
    if (!events.length) {
      historyBox.replaceChildren(el("p", {}, "Nog geen gebeurtenissen voor deze groep."));
      return;
    }
    const cancelled = new Set(events.filter((e) => e.kind === "cancel").map((e) => e.cancels_event_id));
    const newestFirst = [...events].reverse();
    historyBox.replaceChildren(el("div", { class: "table-scroll tall", tabindex: "0", role: "region", "aria-label": "Geschiedenis" },
      el("table", { class: "data", id: "geschiedenis-tabel" },
      el("thead", {}, el("tr", {}, ["Moment", "Gebeurtenis", "Verblijf", "Bron", canWrite ? "Correctie" : null]
        .filter(Boolean).map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, newestFirst.map((e) => {
        const gone = cancelled.has(e.event_id);
        let action = null;
        if (canWrite) {
          action = el("td", { class: "actions" });
          if (e.kind !== "cancel" && !gone) {
            action.append(el("button", {
              type: "button", class: "button small secondary",
              "aria-label": `${KIND_LABEL[e.kind]} van ${e.stay_reference} intrekken`,
              onclick: () => send([{
                event_id: eventId(), kind: "cancel", group_id: e.group_id, at: nowLocal(), cancels_event_id: e.event_id,
              }], `${KIND_LABEL[e.kind]} van ${e.stay_reference} ingetrokken.`),
            }, "Intrekken"));
          }
        }
        return el("tr", { class: gone ? "cancelled" : null, dataset: { eventId: e.event_id } },
          el("td", {}, formatDateTime(e.at)),
          el("td", {}, KIND_LABEL[e.kind] || e.kind, gone ? el("small", {}, " (ingetrokken)") : null),
          el("td", {}, e.stay_reference || ""),
          el("td", {}, SOURCE_LABEL[e.source] || e.source),
          action);
      })))));
  }

  function paintForm() {
    if (!canWrite) return;
    const g = groups.get(selected);
    const ref = el("input", { id: "opname-verblijf", maxlength: 64, autocomplete: "off", required: true, placeholder: "bijvoorbeeld V-2026-014" });
    const moment = el("input", { id: "opname-moment", type: "datetime-local", value: nowLocal(), max: nowLocal(), required: true });
    const origin = el("input", {
      id: "opname-regio", maxlength: 4, value: regions[g.region_id] || "", required: true,
      autocomplete: "off", pattern: "[Jj][Zz][0-9]{2}", placeholder: "JZ14",
    });
    const submit = el("button", { type: "submit", class: "button primary" }, "Opname opslaan");
    const form = el("form", { id: "opname-formulier", novalidate: true },
      el("div", { class: "field" }, el("label", { for: "opname-verblijf" }, "Verblijfsreferentie"),
        el("p", { class: "hint", id: "opname-verblijf-uitleg" }, "Uw eigen code voor dit verblijf; geen naam of BSN."), ref),
      el("div", { class: "field" }, el("label", { for: "opname-moment" }, "Moment van opname"), moment),
      el("div", { class: "field" }, el("label", { for: "opname-regio" }, "Jeugdregio van herkomst"), origin),
      submit);
    ref.setAttribute("aria-describedby", "opname-verblijf-uitleg");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const reference = ref.value.trim();
      if (!reference) {
        showError(actionError, "Vul de verblijfsreferentie in.");
        ref.focus();
        return;
      }
      if (!moment.value) {
        showError(actionError, "Vul het moment van opname in.");
        moment.focus();
        return;
      }
      submit.disabled = true;
      const ok = await send([{
        event_id: eventId(), kind: "admission", group_id: g.id, at: moment.value,
        stay_reference: reference, origin_region_code: origin.value.trim().toUpperCase(),
      }], `Verblijf ${reference} opgenomen in ${g.name}.`);
      submit.disabled = false;
      if (ok) {
        ref.value = "";
        moment.value = nowLocal();
      }
    });
    formBox.replaceChildren(form);
  }

  async function loadGroup() {
    if (selected === null) return;
    const id = selected;
    try {
      const [group, stays, events] = await Promise.all([
        get(`/groups/${id}`), get(`/occupancy/groups/${id}/stays`), get(`/occupancy/groups/${id}/events`)]);
      if (disposed || id !== selected) return;
      groups.set(id, group);
      paintSummary();
      paintPresent(stays);
      paintHistory(events);
      showError(pageError, null);
    } catch (error) {
      showError(pageError, `De bezetting kon niet worden geladen: ${error.message}`);
    }
  }

  function choose(id) {
    selected = id;
    discharging.clear();
    presentBox.replaceChildren(loading("Aanwezigen laden…"));
    historyBox.replaceChildren(loading("Geschiedenis laden…"));
    showError(actionError, null);
    paintForm();
    paintSummary();
    loadGroup();
  }

  async function load() {
    try {
      const me = await get("/auth/me");
      const scope = user.role === "provider" ? `?provider_id=${user.providerId}` : me.region_id ? `?region_id=${me.region_id}` : "";
      const [picture, regionList] = await Promise.all([get(`/availability${scope}`), get("/regions")]);
      if (disposed) return;
      regions = Object.fromEntries(regionList.map((r) => [r.id, r.code]));
      live.noteSeq(picture.seq);
      groups.clear();
      const sorted = [...picture.groups].sort((a, b) => a.name.localeCompare(b.name));
      for (const g of sorted) groups.set(g.id, g);
      picker.replaceChildren(...sorted.map((g) => el("option", { value: g.id }, g.name)));
      if (!sorted.length) {
        presentBox.replaceChildren(el("p", {}, "Er zijn geen groepen om te tonen."));
      } else {
        choose(sorted[0].id);
      }
    } catch (error) {
      showError(pageError, `De groepen konden niet worden geladen: ${error.message}`);
    }
    loadDiscrepancies();
  }

  picker.addEventListener("change", () => choose(Number(picker.value)));
  const reload = debounce(() => loadGroup(), 200);
  const reloadDiscrepancies = debounce(() => loadDiscrepancies(), 500);
  const unsubscribe = live.subscribe((message) => {
    const groupId = message.group ? message.group.id : message.group_id;
    if (message.group && groups.has(message.group.id)) {
      const current = groups.get(message.group.id);
      if (!current || current.version <= message.group.version) groups.set(message.group.id, message.group);
    }
    if (groupId === selected) {
      paintSummary();
      if (String(message.type || "").startsWith("occupancy.")) reload();
    }
    if (groupId !== undefined && groups.has(groupId)) reloadDiscrepancies();
  });
  load();
  return () => {
    disposed = true;
    unsubscribe();
    reload.cancel();
    reloadDiscrepancies.cancel();
  };
}
