// Provider (zorgaanbieder): free places of every group, in seconds.
// +/- and the number field save at once; admitting/not admitting with a reason is saved with
// "Opslaan"; "Niets veranderd" reports the same figures again so the timestamp is fresh.
// Incoming placement proposals and crisis holds appear above the cards when those APIs exist.
// Per group, "Profiel bewerken" keeps the group's profile current and "Contract en plaatsen"
// shows its contract versions and sends a request for more or fewer places.
// "Automatisch uit de bezettingsfeed" lets the feed decide a group's free places
// (contracted places minus youths present); the provider then reports only whether it admits.

import { ApiError, get, hasApi, newIdempotencyKey, request } from "../api.js";
import { ago, announce, el, formatDateTime, formatTime, loading, municipalities, overBookedBy, showError, vocabulary, kids } from "../ui.js";
import { renderIncoming } from "./incoming.js";
import { placesRequestForm, profileForm, profileSummary, termsList } from "./contracts.js";

export function render(root, { user, live }) {
  const cards = new Map(); // group id -> card controller
  const status = el("p", { class: "freshness", "aria-live": "polite" });
  const list = el("div", { class: "card-grid", id: "groepen" });
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const incoming = el("section", { id: "inkomend", class: "incoming", "aria-labelledby": "inkomend-titel", hidden: true });
  let providerId = user.providerId;
  let disposed = false;
  let vocab = null;
  let municipalityName = {};
  let incomingController = null;
  let staleHours = 24;
  let staleHoursByRegion = {};
  let registerApi = false;

  const heading = el("h1", {}, "Mijn groepen");
  const intro = el("p", { class: "lead" },
    "Meld per groep de vrije plaatsen. Met + en − of een getal wordt het direct opgeslagen.");
  const toolbar = el("div", { class: "toolbar" }, status);
  root.replaceChildren(...kids(el("section", { class: "page" }, heading, intro, pageError, incoming, toolbar, list)));

  async function load() {
    list.replaceChildren(...kids(loading("Groepen laden…")));
    try {
      vocab = await vocabulary();
      registerApi = await hasApi("/groups/{group_id}/profile");
      municipalityName = Object.fromEntries((await municipalities()).map((m) => [m.id, m.name]));
      if (user.role === "admin" && !providerId) {
        const providers = await get("/providers");
        providerId = await chooseProvider(providers);
      }
      const picture = await get(`/availability?provider_id=${providerId}`);
      if (disposed) return;
      const groups = picture.groups;
      staleHours = picture.stale_after_hours;
      staleHoursByRegion = picture.stale_after_hours_by_region || {};
      live.noteSeq(picture.seq);
      list.replaceChildren(...kids());
      cards.clear();
      if (!groups.length) list.append(el("p", {}, "Er zijn nog geen groepen voor deze aanbieder."));
      for (const group of groups) {
        const card = groupCard(group);
        cards.set(group.id, card);
        list.append(card.node);
      }
      status.textContent = `Bijgewerkt om ${formatTime(new Date())}`;
      showError(pageError, null);
    } catch (error) {
      list.replaceChildren(...kids());
      showError(pageError, `De groepen konden niet worden geladen: ${error.message}`);
    }
    if (await hasApi("/proposals") || await hasApi("/holds")) {
      incoming.hidden = false;
      incomingController = renderIncoming(incoming, { providerId, live });
    }
  }

  function chooseProvider(providers) {
    // The admin works on behalf of one provider at a time.
    return new Promise((resolve) => {
      const select = el("select", { id: "aanbieder-kiezen" },
        providers.map((p) => el("option", { value: p.id }, p.name)));
      const go = el("button", { type: "button", class: "button primary" }, "Tonen");
      go.addEventListener("click", () => resolve(Number(select.value)));
      list.replaceChildren(...kids(el("div", { class: "field inline" },
        el("label", { for: "aanbieder-kiezen" }, "Aanbieder"), select, go)));
    });
  }

  function groupCard(initial) {
    let group = initial;
    let dirty = false;
    let saving = false;
    let pendingKey = null; // kept across retries of the same edit, so a retry cannot apply twice
    let saveTimer = null;
    const id = `g${group.id}`;

    const title = el("h2", { id: `${id}-titel` }, group.name);
    const meta = el("p", { class: "meta" });
    const profileLine = el("p", { class: "meta profile-line" });
    const stale = el("p", { class: "warning stale", role: "note" });
    const free = el("input", {
      id: `${id}-vrij`, type: "number", inputmode: "numeric", min: 0, max: group.capacity, step: 1,
      class: "number", "aria-describedby": `${id}-vrij-fout ${id}-netto`,
    });
    const minus = el("button", { type: "button", class: "button step", "aria-label": `Eén vrije plaats minder bij ${group.name}` }, "−");
    const plus = el("button", { type: "button", class: "button step", "aria-label": `Eén vrije plaats meer bij ${group.name}` }, "+");
    const freeError = el("p", { id: `${id}-vrij-fout`, class: "field-error", role: "alert" });
    const net = el("p", { id: `${id}-netto`, class: "net" });
    const feedBox = el("input", { type: "checkbox", id: `${id}-feed`, "aria-describedby": `${id}-feed-uitleg` });
    const feedHint = el("p", { id: `${id}-feed-uitleg`, class: "hint" });
    const overBooked = el("p", { class: "warning over-booked", role: "note", hidden: true });
    const yes = el("input", { type: "radio", name: `${id}-plaatsing`, id: `${id}-ja`, value: "ja" });
    const no = el("input", { type: "radio", name: `${id}-plaatsing`, id: `${id}-nee`, value: "nee" });
    const reason = el("input", {
      id: `${id}-reden`, maxlength: 200, autocomplete: "off", "aria-describedby": `${id}-reden-fout`,
      placeholder: "bijvoorbeeld personeelstekort",
    });
    const reasonField = el("div", { class: "field" },
      el("label", { for: `${id}-reden` }, "Reden dat de groep niet plaatst"), reason,
      el("p", { id: `${id}-reden-fout`, class: "field-error", role: "alert" }));
    const waiting = el("input", { id: `${id}-wachtlijst`, type: "number", min: 0, inputmode: "numeric", class: "number" });
    const expected = el("input", { id: `${id}-verwacht`, type: "date" });
    const cardError = el("p", { class: "error", role: "alert", hidden: true });
    const reported = el("p", { class: "reported" });
    const save = el("button", { type: "button", class: "button primary" }, "Opslaan");
    const unchanged = el("button", { type: "button", class: "button secondary" }, "Niets veranderd");

    const node = el("article", { class: "card group-card", dataset: { groupId: group.id }, "aria-labelledby": `${id}-titel` },
      el("header", {}, title, meta, profileLine),
      stale,
      el("div", { class: "places" },
        el("label", { for: `${id}-vrij`, class: "places-label" }, "Vrije plaatsen"),
        el("div", { class: "stepper" }, minus, free, plus),
        net, overBooked, freeError,
        el("div", { class: "check feed-choice" }, feedBox,
          el("label", { for: `${id}-feed` }, "Automatisch uit de bezettingsfeed")),
        feedHint),
      el("fieldset", { class: "admitting" },
        el("legend", {}, "Plaatsing"),
        el("div", { class: "radio" }, yes, el("label", { for: `${id}-ja` }, "Plaatst jeugdigen")),
        el("div", { class: "radio" }, no, el("label", { for: `${id}-nee` }, "Plaatst tijdelijk niet")),
        reasonField),
      el("details", { class: "more" }, el("summary", {}, "Wachtlijst en verwachte datum"),
        el("div", { class: "field" }, el("label", { for: `${id}-wachtlijst` }, "Wachtlijst (aantal jeugdigen)"), waiting),
        el("div", { class: "field" }, el("label", { for: `${id}-verwacht` }, "Verwacht vrij op"), expected)),
      cardError,
      el("footer", {}, reported, el("div", { class: "actions" }, unchanged, save)));

    // The profile and the contract, folded away below the daily report.
    let profile = null;
    let placesRequest = null;
    if (registerApi) {
      profile = profileForm(group, { vocab, prefix: `${id}-profiel`, onSaved: profileSaved });
      placesRequest = placesRequestForm(group, { prefix: `${id}-aanvraag`, onSent: loadTerms });
      const terms = el("div", { class: "terms-box" });
      const contract = el("details", { class: "more extra contract" },
        el("summary", {}, "Contract en plaatsen aanvragen"),
        el("h3", {}, "Contractversies"), terms,
        el("h3", {}, "Plaatsen aanvragen"), placesRequest.node);
      contract.addEventListener("toggle", () => {
        if (contract.open) {
          loadTerms();
          placesRequest.restore();
        }
      });
      const profileBox = el("details", { class: "more extra profile" }, el("summary", {}, "Profiel bewerken"), profile.node);
      // A half-finished form comes back when its section is opened (no request per closed card).
      profileBox.addEventListener("toggle", () => {
        if (profileBox.open) profile.restore();
      });
      node.append(el("div", { class: "card-extra" }, profileBox, contract));

      async function loadTerms() {
        terms.replaceChildren(...kids(loading("Contractversies laden…")));
        try {
          const list = await get(`/groups/${group.id}/contract-terms`);
          terms.replaceChildren(...kids(termsList(list)));
        } catch (error) {
          terms.replaceChildren(...kids(el("p", { class: "error", role: "alert" },
            `De contractversies konden niet worden geladen: ${error.message}`)));
        }
      }
    }

    function profileSaved(saved) {
      if (saved.version < group.version) return;
      group = saved;
      placesRequest?.update(saved);
      // What the user is typing in the report stays; the figures on the server did not change.
      if (dirty || saving) paint();
      else fill();
    }

    function fill() {
      free.value = String(group.free_places);
      free.max = String(group.capacity);
      yes.checked = group.admitting;
      no.checked = !group.admitting;
      reason.value = group.reason || "";
      waiting.value = group.waiting_list ?? "";
      expected.value = group.expected_free_date || "";
      dirty = false;
      pendingKey = null;
      paint();
    }

    function paint() {
      const label = vocab ? vocab.careFormLabel[group.care_form] || group.care_form : group.care_form;
      title.textContent = group.name;
      meta.textContent = `${label} · ${municipalityName[group.municipality_id] || ""} · capaciteit ${group.capacity}`
        + ` · intensiteit ${group.intensity}`;
      profileLine.replaceChildren(...kids(profileSummary(group, vocab)));
      reasonField.hidden = yes.checked;
      const held = group.held_places;
      net.textContent = held
        ? `${held} ${held === 1 ? "plaats" : "plaatsen"} vastgehouden (crisis of voorstel); netto vrij: ${group.net_free_places}`
        : `Netto vrij: ${group.net_free_places} van ${group.capacity}`;
      const fromFeed = Boolean(group.places_from_feed);
      feedBox.checked = fromFeed;
      node.classList.toggle("from-feed", fromFeed);
      feedHint.textContent = fromFeed
        ? `Volgens de feed zijn ${group.feed_present} van de ${group.capacity} plaatsen bezet; de vrije plaatsen volgen vanzelf. U meldt hier alleen of de groep plaatst.`
        : "Uit: u meldt de vrije plaatsen zelf.";
      const over = overBookedBy(group);
      overBooked.hidden = !over;
      overBooked.textContent = over
        ? `Let op: overboekt. Er ${over === 1 ? "is 1 plaats" : `zijn ${over} plaatsen`} meer vastgehouden dan de feed vrij laat; er is niets open.`
        : "";
      // The server's flag is as of the last read; the clock moves on while the page is open.
      const age = group.reported_at ? Date.now() - new Date(group.reported_at).getTime() : Infinity;
      group.stale = age > (staleHoursByRegion[group.region_id] ?? staleHours) * 3600 * 1000;
      node.classList.toggle("is-stale", Boolean(group.stale));
      node.classList.toggle("not-admitting", !group.admitting);
      node.classList.toggle("dirty", dirty);
      stale.hidden = !group.stale;
      stale.textContent = group.stale
        ? `Let op: dit cijfer is verouderd (laatst gemeld ${ago(group.reported_at)}). Controleer het en klik op Opslaan of Niets veranderd.`
        : "";
      reported.textContent = `Gemeld: ${ago(group.reported_at)} (${formatDateTime(group.reported_at)})`;
      free.readOnly = fromFeed;
      minus.disabled = saving || fromFeed || Number(free.value) <= 0;
      plus.disabled = saving || fromFeed || Number(free.value) >= group.capacity;
      feedBox.disabled = saving;
      save.disabled = saving;
      unchanged.disabled = saving;
    }

    function draft({ same = false } = {}) {
      if (same) {
        return {
          free_places: group.free_places, admitting: group.admitting, reason: group.admitting ? null : group.reason,
          expected_free_date: group.expected_free_date, waiting_list: group.waiting_list,
        };
      }
      const admitting = yes.checked;
      return {
        // The feed decides the free places of a group that follows it.
        free_places: group.places_from_feed ? group.free_places : free.value === "" ? null : Number(free.value),
        admitting,
        reason: admitting ? null : reason.value.trim() || null,
        expected_free_date: expected.value || null,
        waiting_list: waiting.value === "" ? null : Number(waiting.value),
      };
    }

    function validate(body) {
      let ok = true;
      freeError.textContent = "";
      reasonField.querySelector(".field-error").textContent = "";
      free.removeAttribute("aria-invalid");
      reason.removeAttribute("aria-invalid");
      if (body.free_places === null || !Number.isInteger(body.free_places) || body.free_places < 0) {
        freeError.textContent = "Vul een heel getal in van 0 of meer.";
        free.setAttribute("aria-invalid", "true");
        ok = false;
      } else if (body.free_places > group.capacity) {
        freeError.textContent = `Er kunnen niet meer dan ${group.capacity} plaatsen vrij zijn (de capaciteit van de groep).`;
        free.setAttribute("aria-invalid", "true");
        ok = false;
      }
      if (!body.admitting && !body.reason) {
        reasonField.querySelector(".field-error").textContent = "Geef een reden op als de groep geen jeugdigen plaatst.";
        reason.setAttribute("aria-invalid", "true");
        ok = false;
      }
      return ok;
    }

    async function send({ same = false } = {}) {
      clearTimeout(saveTimer);
      const body = draft({ same });
      if (!same && !validate(body)) {
        paint();
        return;
      }
      if (!pendingKey || same) pendingKey = newIdempotencyKey();
      saving = true;
      showError(cardError, null);
      paint();
      try {
        const response = await request(`/groups/${group.id}/availability`, {
          method: "PUT", json: body,
          headers: { "If-Match": `"${group.version}"`, "Idempotency-Key": pendingKey },
        });
        group = response.data;
        saving = false;
        fill();
        node.classList.add("saved");
        setTimeout(() => node.classList.remove("saved"), 1200);
        announce(same ? `${group.name}: bevestigd, niets veranderd.` : `${group.name}: ${group.free_places} vrij opgeslagen.`);
      } catch (error) {
        saving = false;
        handleError(error);
        paint();
      }
    }

    async function handleError(error) {
      if (!(error instanceof ApiError)) {
        showError(cardError, "Opslaan is mislukt. Uw invoer staat nog in het veld; probeer het opnieuw.");
        return;
      }
      if (error.status === 412) {
        // Someone else reported in between: show their figure, keep what this user typed.
        pendingKey = null;
        try {
          const latest = await get(`/groups/${group.id}`);
          group = latest;
        } catch {
          /* keep the old state; the message below still explains */
        }
        showError(cardError, `Iemand anders heeft deze groep intussen gewijzigd (nu ${group.free_places} vrij). `
          + "Uw invoer staat nog in de velden: klik op Opslaan om die toch door te zetten.");
        return;
      }
      const onFree = ["free_places_above_capacity", "free_places_below_held"].includes(error.code)
        || error.fieldMessage("free_places");
      const onReason = error.fieldMessage("reason") || /reden/i.test(error.message);
      if (onFree) {
        freeError.textContent = error.fieldMessage("free_places") || error.message;
        free.setAttribute("aria-invalid", "true");
      } else if (onReason && !yes.checked) {
        reasonField.querySelector(".field-error").textContent = error.message;
        reason.setAttribute("aria-invalid", "true");
      } else {
        showError(cardError, error.status === 0 ? error.message : `${error.message} Uw invoer staat nog in de velden.`);
      }
      // A failed edit keeps its idempotency key only for a network failure (the server may have
      // applied it); after a refusal the next attempt is a new request.
      if (error.status !== 0) pendingKey = null;
    }

    function edited() {
      dirty = true;
      paint();
    }

    function step(delta) {
      const value = Math.max(0, Math.min(group.capacity, (Number(free.value) || 0) + delta));
      free.value = String(value);
      edited();
      // Quick clicks are combined into one report.
      clearTimeout(saveTimer);
      saveTimer = setTimeout(() => send(), 350);
    }

    feedBox.addEventListener("change", async () => {
      const wanted = feedBox.checked;
      saving = true;
      showError(cardError, null);
      paint();
      try {
        const response = await request(`/groups/${group.id}/places-source`, { method: "PUT", json: { follow_feed: wanted } });
        group = response.data;
        saving = false;
        fill();
        announce(wanted
          ? `${group.name}: de vrije plaatsen volgen nu de bezettingsfeed (${group.free_places} vrij).`
          : `${group.name}: u meldt de vrije plaatsen weer zelf.`);
      } catch (error) {
        saving = false;
        showError(cardError, error.message);
        paint();
      }
    });
    minus.addEventListener("click", () => step(-1));
    plus.addEventListener("click", () => step(1));
    free.addEventListener("input", edited);
    free.addEventListener("change", () => send());
    free.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        send();
      }
    });
    for (const radio of [yes, no]) {
      radio.addEventListener("change", () => {
        edited();
        if (no.checked) reason.focus();
      });
    }
    reason.addEventListener("input", edited);
    waiting.addEventListener("input", edited);
    expected.addEventListener("input", edited);
    save.addEventListener("click", () => send());
    unchanged.addEventListener("click", () => {
      if (dirty) {
        // "Nothing changed" means the figures on the server are still right: drop the edits.
        fill();
      }
      send({ same: true });
    });

    fill();
    return {
      node,
      update(next) {
        if (next.version < group.version) return;
        // The profile form keeps what the user is typing there, and follows otherwise.
        profile?.update(next);
        placesRequest?.update(next);
        const wasDirty = dirty || saving;
        if (wasDirty) {
          // Keep what the user is typing; the next save meets the new version and says so.
          return;
        }
        group = next;
        fill();
        node.classList.add("flash");
        setTimeout(() => node.classList.remove("flash"), 1200);
      },
      tick: paint,
    };
  }

  const unsubscribe = live.subscribe((message) => {
    if (message.type === "snapshot" && Array.isArray(message.groups)) {
      for (const g of message.groups) cards.get(g.id)?.update(g);
    } else if (message.group && cards.has(message.group.id)) {
      cards.get(message.group.id).update(message.group);
    }
    if (message.group || message.type === "snapshot") status.textContent = `Bijgewerkt om ${formatTime(new Date())}`;
  });
  // "3 minutes ago" and the stale warning move on by themselves.
  const ticker = setInterval(() => cards.forEach((c) => c.tick()), 30000);
  load();
  return () => {
    disposed = true;
    unsubscribe();
    clearInterval(ticker);
    if (incomingController) incomingController();
  };
}
