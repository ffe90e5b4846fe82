// Crisis team (crisisdienst): one screen that works at phone width. Search near the youth,
// results nearest first, hold a place with one tap, watch the countdown, confirm on arrival or
// release. The team's active holds and the free places follow the live feed.

import { ApiError, get, post, request } from "../api.js";
import { draft } from "../drafts.js";
import {
  announce, debounce, el, formatCountdown, formatKm, formatTime, label, labels, municipalities, showError, vocabulary, kids,
} from "../ui.js";

function defaultReference() {
  // A short pseudonymous code that the worker can keep or overwrite: never a name.
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  // Three random letters and digits, so that two workers in the same minute get different codes
  // (no 0/O or 1/I, which are misread on the phone).
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  const suffix = Array.from(crypto.getRandomValues(new Uint8Array(3)), (b) => alphabet[b % alphabet.length]).join("");
  return `CR-${pad(now.getDate())}${pad(now.getMonth() + 1)}-${pad(now.getHours())}${pad(now.getMinutes())}-${suffix}`;
}

function countdown(expiresAt) {
  const left = Math.max(0, new Date(expiresAt).getTime() - Date.now());
  return { left, text: formatCountdown(left) };
}

export function render(root, { live }) {
  let results = [];
  let lastQuery = null;
  let teamHolds = [];
  // hold id -> hold: the worker's own holds as the server has them (GET /holds?mine=true), so a
  // reload, a second device or a dropped connection brings the card and its countdown back.
  const mine = new Map();
  let disposed = false;
  // The half-finished search form is kept on the server until the search is done, so a reload
  // or a second device finds it again (the device location is not kept: it is asked again).
  const store = draft("crisis-zoeken");

  const age = el("input", { id: "crisis-leeftijd", type: "number", inputmode: "numeric", min: 0, max: 27, required: true, class: "number" });
  const gender = el("select", { id: "crisis-geslacht" },
    el("option", { value: "" }, "Onbekend"), el("option", { value: "jongen" }, "Jongen"),
    el("option", { value: "meisje" }, "Meisje"), el("option", { value: "anders" }, "Anders"));
  const place = el("select", { id: "crisis-gemeente" }, el("option", { value: "" }, "Kies een gemeente"));
  const postcode = el("input", { id: "crisis-postcode", inputmode: "numeric", maxlength: 7, autocomplete: "off", placeholder: "bijv. 7511" });
  const secure = el("input", { type: "checkbox", id: "crisis-machtiging" });
  const reference = el("input", { id: "crisis-code", maxlength: 40, autocomplete: "off", value: defaultReference() });
  const needsBox = el("div", { class: "checks" });
  const formError = el("p", { class: "error", role: "alert", hidden: true, id: "crisis-fout" });
  const searchButton = el("button", { type: "submit", class: "button primary big" }, "Zoeken");
  const useLocation = el("button", { type: "button", class: "button secondary" }, "Mijn locatie gebruiken");
  const errors = {};
  const fieldBox = (input, label, hint = null) => {
    const error = el("p", { id: `${input.id}-fout`, class: "field-error", "aria-live": "polite" });
    errors[input.id] = error;
    input.setAttribute("aria-describedby", [hint ? `${input.id}-hint` : null, error.id].filter(Boolean).join(" "));
    return el("div", { class: "field" }, el("label", { for: input.id }, label),
      hint ? el("p", { class: "hint", id: `${input.id}-hint` }, hint) : null, input, error);
  };
  const form = el("form", { class: "card crisis-form", novalidate: true, "aria-labelledby": "crisis-titel" },
    el("div", { class: "form-row" }, fieldBox(age, "Leeftijd"), fieldBox(gender, "Geslacht")),
    el("div", { class: "form-row" }, fieldBox(place, "Gemeente van de jeugdige"), fieldBox(postcode, "of postcode")),
    useLocation,
    el("div", { class: "check" }, secure, el("label", { for: "crisis-machtiging" }, "Gesloten plaats nodig (machtiging)")),
    el("details", { class: "more" }, el("summary", {}, "Zorgbehoeften (optioneel)"), needsBox),
    fieldBox(reference, "Crisiscode", "Een korte code, geen naam of BSN. Nodig om een plek vast te houden."),
    formError, searchButton);

  const holdsSection = el("section", { id: "mijn-vasthoudingen", "aria-labelledby": "mijn-titel", hidden: true },
    el("h2", { id: "mijn-titel" }, "Uw vastgehouden plek"));
  const resultsTitle = el("h2", { id: "resultaten-titel", tabindex: "-1" }, "Resultaten");
  const resultsList = el("ol", { class: "results", id: "crisis-resultaten", "aria-labelledby": "resultaten-titel" });
  const resultsSection = el("section", { hidden: true, "aria-labelledby": "resultaten-titel" }, resultsTitle,
    el("p", { class: "hint" }, "Dichtstbijzijnde eerst; eerst de eigen regio, dan de buurregio's."), resultsList);
  const teamList = el("ul", { class: "team-holds", id: "team-vasthoudingen" });
  const teamSection = el("section", { "aria-labelledby": "team-titel", class: "team" },
    el("h2", { id: "team-titel" }, "Vastgehouden door het team"), teamList);

  root.replaceChildren(...kids(el("section", { class: "page crisis-page" },
    el("h1", { id: "crisis-titel" }, "Crisisplek zoeken"),
    holdsSection, form, resultsSection, teamSection)));

  function clearErrors() {
    for (const [id, node] of Object.entries(errors)) {
      node.textContent = "";
      document.getElementById(id)?.removeAttribute("aria-invalid");
    }
    showError(formError, null);
  }

  function fieldError(input, message) {
    errors[input.id].textContent = message;
    input.setAttribute("aria-invalid", "true");
  }

  function buildQuery() {
    clearErrors();
    let ok = true;
    const query = { limit: 20 };
    const ageValue = age.value.trim();
    if (!/^\d{1,2}$/.test(ageValue) || Number(ageValue) > 27) {
      fieldError(age, "Vul de leeftijd in (0 tot en met 27 jaar).");
      ok = false;
    } else {
      query.age = Number(ageValue);
    }
    if (gender.value) query.gender = gender.value;
    const pc = postcode.value.trim();
    if (pc) {
      if (!/^\d{4}(\s?[A-Za-z]{2})?$/.test(pc)) {
        fieldError(postcode, "Een postcode begint met 4 cijfers, bijvoorbeeld 7511.");
        ok = false;
      } else {
        query.postcode = pc.slice(0, 4);
      }
    } else if (place.value) {
      const [lat, lon] = place.value.split(",").map(Number);
      query.lat = lat;
      query.lon = lon;
    } else if (useLocation.dataset.lat) {
      query.lat = Number(useLocation.dataset.lat);
      query.lon = Number(useLocation.dataset.lon);
    } else {
      fieldError(place, "Kies een gemeente of vul een postcode in.");
      ok = false;
    }
    if (secure.checked) query.secure_care = true;
    const needs = [...needsBox.querySelectorAll("input:checked")].map((i) => i.value);
    if (needs.length) query.needs = needs;
    if (!ok) {
      (form.querySelector("[aria-invalid='true']") || age).focus();
    }
    return ok ? query : null;
  }

  async function search(event) {
    if (event) event.preventDefault();
    const query = buildQuery();
    if (!query) return;
    searchButton.disabled = true;
    searchButton.textContent = "Zoeken…";
    try {
      const body = await post("/crisis/search", query);
      // The search is done: its half-finished form is no longer needed (nor left for the next one).
      store.discard();
      lastQuery = query;
      results = body.results;
      paintResults();
      resultsSection.hidden = false;
      resultsTitle.focus();
      announce(`${results.length} ${results.length === 1 ? "plek" : "plekken"} gevonden.`);
    } catch (error) {
      showApiError(error);
    } finally {
      searchButton.disabled = false;
      searchButton.textContent = "Zoeken";
    }
  }

  function showApiError(error) {
    const named = { age: age, postcode: postcode, lat: place, gender: gender };
    let placed = false;
    if (error instanceof ApiError) {
      for (const [field, input] of Object.entries(named)) {
        const message = error.fieldMessage(field);
        if (message) {
          fieldError(input, message);
          placed = true;
        }
      }
      if (error.code === "postcode_unknown") {
        fieldError(postcode, `${error.message} Kies dan een gemeente.`);
        placed = true;
      }
    }
    if (!placed) showError(formError, error.message);
  }

  function resultCard(r, { alternative = false } = {}) {
    const holdButton = el("button", { type: "button", class: "button primary big" }, "Vasthouden");
    const error = el("p", { class: "error", role: "alert", hidden: true });
    const alternatives = el("div", { class: "alternatives" });
    const free = r.free_places ?? r.net_free_places;
    const node = el("li", { class: `card result${free > 0 ? "" : " taken"}`, dataset: { groupId: r.group_id } },
      el("div", { class: "result-head" },
        el("h3", {}, r.group_name),
        el("span", { class: "distance" }, formatKm(r.distance_km))),
      el("p", { class: "meta" }, `${r.provider_name} · ${r.kind || ""} · ${r.tier_label || ""}`),
      el("p", { class: "free" }, el("strong", { class: "free-count" }, String(free)), ` ${free === 1 ? "plek" : "plekken"} vrij`,
        ` · ${r.age_min}–${r.age_max} jaar · ${label("genderPolicy", r.gender_policy).toLowerCase()}`),
      r.stale ? el("p", { class: "warning" }, `Let op: laatst gemeld ${Math.round(r.minutes_since_report / 60)} uur geleden; bel eerst.`) : null,
      r.needs_missing && r.needs_missing.length ? el("p", { class: "hint" }, `Mist expertise: ${labels("need", r.needs_missing).join(", ")}`) : null,
      el("div", { class: "actions" },
        holdButton,
        r.phone_24h ? el("a", { class: "button secondary big", href: `tel:${r.phone_24h.replace(/[^\d+]/g, "")}` }, `Bel ${r.phone_24h}`) : null),
      error, alternatives);
    holdButton.disabled = free <= 0;
    holdButton.setAttribute("aria-label", `${r.group_name} vasthouden`);
    holdButton.addEventListener("click", () => hold(r, holdButton, error, alternatives));
    if (alternative) node.classList.add("alternative");
    return node;
  }

  function paintResults() {
    resultsList.replaceChildren(...kids(...results.map((r) => resultCard(r))));
    if (!results.length) {
      resultsList.append(el("li", { class: "card" }, "Geen vrije crisisplek gevonden binnen de zoekafstand. Bel de dienstdoende coördinator."));
    }
  }

  async function hold(result, button, error, alternatives) {
    clearErrors();
    const code = reference.value.trim();
    if (!code) {
      fieldError(reference, "Vul een crisiscode in (geen naam) om de plek vast te houden.");
      reference.focus();
      return;
    }
    button.disabled = true;
    button.textContent = "Vasthouden…";
    showError(error, null);
    alternatives.replaceChildren(...kids());
    const body = { group_id: result.group_id, crisis_reference: code };
    if (lastQuery && lastQuery.age !== undefined) body.age = lastQuery.age;
    if (lastQuery && lastQuery.gender) body.gender = lastQuery.gender;
    try {
      const { data } = await request("/holds", { method: "POST", json: body });
      mine.set(data.id, { ...data, provider_name: result.provider_name, phone_24h: result.phone_24h });
      paintMine();
      holdsSection.querySelector("button")?.focus();
      announce(`${data.group_name} is voor u vastgehouden.`);
      refreshTeam();
    } catch (err) {
      if (err instanceof ApiError && err.fieldMessage("crisis_reference")) {
        fieldError(reference, err.fieldMessage("crisis_reference"));
        reference.focus();
      } else {
        showError(error, err.message);
      }
      if (err instanceof ApiError && err.body && Array.isArray(err.body.alternatives) && err.body.alternatives.length) {
        alternatives.append(el("h4", {}, "Beste andere plaatsen"),
          el("ol", { class: "results" }, err.body.alternatives.map((a) => resultCard(a, { alternative: true }))));
      }
    } finally {
      button.textContent = "Vasthouden";
      button.disabled = false;
    }
  }

  function paintMine() {
    const active = [...mine.values()].filter((h) => h.status === "active");
    holdsSection.hidden = active.length === 0 && ![...mine.values()].some((h) => h.justEnded);
    const items = [...mine.values()].map((h) => {
      if (h.status !== "active") {
        return el("div", { class: `card hold-card ended`, dataset: { holdId: h.id } },
          el("p", { class: h.status === "confirmed" ? "notice" : "warning" },
            `${h.group_name}: ${h.status_label || h.status}.`));
      }
      const timer = el("p", { class: "countdown", role: "timer", "aria-label": "Resterende tijd van de vasthouding" });
      const confirm = el("button", { type: "button", class: "button ok big" }, "Bevestigen: jeugdige is aangekomen");
      const release = el("button", { type: "button", class: "button danger big" }, "Vrijgeven");
      const error = el("p", { class: "error", role: "alert", hidden: true });
      const card = el("div", { class: "card hold-card", dataset: { holdId: h.id } },
        el("h3", {}, h.group_name),
        el("p", { class: "meta" }, `${h.provider_name || ""}${h.phone_24h ? ` · ${h.phone_24h}` : ""} · code ${h.crisis_reference || ""}`),
        el("p", {}, "Vastgehouden tot ", el("strong", {}, formatTime(h.expires_at)), ". Nog:"), timer,
        el("div", { class: "actions" }, confirm, release), error);
      const tick = () => {
        const { left, text } = countdown(h.expires_at);
        timer.textContent = text;
        card.classList.toggle("urgent", left < 10 * 60 * 1000);
        if (left <= 0) {
          h.status = "expired";
          h.status_label = "verlopen";
          h.justEnded = true;
          paintMine();
        }
      };
      tick();
      card.tick = tick;
      confirm.addEventListener("click", () => finish(h, "confirm", confirm, error));
      release.addEventListener("click", () => finish(h, "release", release, error));
      return card;
    });
    holdsSection.replaceChildren(...kids(el("h2", { id: "mijn-titel" }, active.length > 1 ? "Uw vastgehouden plekken" : "Uw vastgehouden plek"), ...items));
  }

  async function finish(h, action, button, error) {
    button.disabled = true;
    showError(error, null);
    try {
      const data = action === "confirm"
        ? await post(`/holds/${h.id}/confirm`, {})
        : (await request(`/holds/${h.id}`, { method: "DELETE" })).data;
      mine.set(h.id, { ...h, ...data, justEnded: true });
      announce(action === "confirm" ? `Plaatsing in ${h.group_name} bevestigd.` : `${h.group_name} is weer vrijgegeven.`);
      paintMine();
      refreshTeam();
    } catch (err) {
      showError(error, err.message);
      button.disabled = false;
    }
  }

  async function refreshMine() {
    let active;
    try {
      active = await get("/holds?status=active&mine=true");
    } catch {
      return; // the team list below says what went wrong
    }
    if (disposed) return;
    const seen = new Set(active.map((h) => h.id));
    for (const h of active) mine.set(h.id, { ...(mine.get(h.id) || {}), ...h });
    // A hold that stopped being active elsewhere (another device, the provider, expiry).
    for (const [id, h] of mine) {
      if (h.status === "active" && !seen.has(id)) mine.set(id, { ...h, status: "ended", status_label: "niet meer vastgehouden", justEnded: true });
    }
    paintMine();
  }

  async function refreshTeam() {
    refreshMine();
    try {
      teamHolds = await get("/holds?status=active");
    } catch (error) {
      teamList.replaceChildren(...kids(el("li", { class: "error" }, `De vastgehouden plekken konden niet worden geladen: ${error.message}`)));
      return;
    }
    if (disposed) return;
    teamList.replaceChildren(...kids(...teamHolds.map((h) => el("li", { class: "card team-hold", dataset: { holdId: h.id } },
      el("strong", {}, h.group_name), ` · code ${h.crisis_reference || "–"} · tot ${formatTime(h.expires_at)}`,
      mine.has(h.id) ? el("span", { class: "badge ok" }, " door u") : null))));
    if (!teamHolds.length) teamList.append(el("li", { class: "hint" }, "Er zijn nu geen plekken vastgehouden."));
  }

  function onGroupChange(group) {
    // Free places in the results follow the live feed; a place that is gone says so at once.
    const hit = results.find((r) => r.group_id === group.id);
    if (!hit) return;
    hit.free_places = group.admitting ? group.net_free_places : 0;
    const node = resultsList.querySelector(`li[data-group-id='${group.id}']`);
    if (node) node.replaceWith(resultCard(hit));
  }

  const refreshTeamSoon = debounce(refreshTeam, 150);
  const unsubscribe = live.subscribe((message) => {
    if (message.group) onGroupChange(message.group);
    if (message.hold) {
      const own = mine.get(message.hold.id);
      if (own && own.status === "active" && message.hold.status !== "active") {
        mine.set(own.id, { ...own, ...message.hold, justEnded: true });
        paintMine();
      }
      refreshTeamSoon();
    }
    if (message.type === "snapshot") {
      refreshTeam();
      if (lastQuery) search();
    }
  });

  function readForm() {
    return {
      age: age.value, gender: gender.value, place: place.value, postcode: postcode.value,
      secure: secure.checked, reference: reference.value,
      needs: [...needsBox.querySelectorAll("input:checked")].map((i) => i.value),
    };
  }
  function fillForm(saved) {
    age.value = saved.age ?? "";
    gender.value = saved.gender ?? "";
    place.value = saved.place ?? "";
    postcode.value = saved.postcode ?? "";
    secure.checked = Boolean(saved.secure);
    if (saved.reference) reference.value = saved.reference;
    for (const code of saved.needs || []) {
      const box = needsBox.querySelector(`#nood-${CSS.escape(code)}`);
      if (box) box.checked = true;
    }
  }
  // Once a search is done the form has done its work (the holds are kept by the server), so later
  // changes are not kept: no stale draft is left for the next crisis.
  const keepDraft = () => {
    if (lastQuery === null) store.save(readForm());
  };
  form.addEventListener("input", keepDraft);
  form.addEventListener("change", keepDraft);

  const ticker = setInterval(() => holdsSection.querySelectorAll(".hold-card").forEach((c) => c.tick && c.tick()), 1000);
  form.addEventListener("submit", search);
  useLocation.addEventListener("click", () => {
    if (!navigator.geolocation) {
      fieldError(place, "Dit apparaat geeft geen locatie; kies een gemeente.");
      return;
    }
    useLocation.textContent = "Locatie bepalen…";
    navigator.geolocation.getCurrentPosition((pos) => {
      useLocation.dataset.lat = pos.coords.latitude.toFixed(5);
      useLocation.dataset.lon = pos.coords.longitude.toFixed(5);
      place.value = "";
      postcode.value = "";
      useLocation.textContent = "Locatie gebruikt ✓";
    }, () => {
      useLocation.textContent = "Mijn locatie gebruiken";
      fieldError(place, "De locatie kon niet worden bepaald; kies een gemeente.");
    }, { timeout: 8000 });
  });

  (async () => {
    try {
      const [places, vocab] = await Promise.all([municipalities(), vocabulary()]);
      place.append(...places.map((m) => el("option", { value: `${m.lat},${m.lon}` }, m.name)));
      needsBox.append(...vocab.need_tags.map((t) => el("div", { class: "check" },
        el("input", { type: "checkbox", id: `nood-${t.code}`, value: t.code }),
        el("label", { for: `nood-${t.code}` }, t.label))));
      // After the choice lists exist, so that a saved municipality and needs can be ticked.
      const saved = await store.load();
      // Only when nothing was typed meanwhile: input under the user's fingers wins.
      if (saved && !disposed && !age.value) fillForm(saved);
    } catch (error) {
      showError(formError, `De keuzelijsten konden niet worden geladen: ${error.message}`);
    }
    refreshTeam();
  })();
  age.focus();
  return () => {
    disposed = true;
    unsubscribe();
    clearInterval(ticker);
    store.close();
  };
}
