// Coordinator: the region at a glance. A table of care forms × municipalities (net free places
// of admitting groups), or a map of the groups (regionmap.js: Leaflet, with municipality outlines
// computed from the postcodes, or tiles when PLEKWIJZER_TILE_SERVER_URL or js/config.js sets them). Both
// follow the live feed. A group whose active period has ended (active_to before today) is not
// shown; a group that is new in the register (import) appears as soon as the feed brings it.

import { get } from "../api.js";
import { CONFIG } from "../config.js";
import { RegionMap } from "../regionmap.js";
import { ago, el, formatTime, loading, municipalities, overBookedBy, showError, vocabulary, kids } from "../ui.js";

// The calendar day here, as "YYYY-MM-DD" (the register's dates are calendar days).
function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

function ended(group) {
  return Boolean(group.active_to) && group.active_to < today();
}

const HEADINGS = ["Groep", "Aanbieder", "Gemeente", "Zorgvorm", "Netto vrij", "Status", "Gemeld"];
// Less important columns give way first at narrow widths (styles.css), never the group or its figure.
const HEADING_CLASSES = [null, "col-p2", "col-p3", "col-p2", "num", null, "col-p3"];

export function render(root, { live }) {
  const groups = new Map();
  let vocab = null;
  let places = [];
  let view = "tabel";
  let selection = null; // {careForm, municipalityId} chosen in the table
  let changed = new Set();
  let scheduled = false;
  let disposed = false;
  let regionId = null;
  let providerNames = {}; // id -> name, for groups the feed brings without one
  let providersLoad = null; // one look-up at a time, however many new groups an import brings
  let regionMap = null; // the Leaflet map while the map view is open
  const endedAt = new Map(); // group id -> version at which it ended, so no older message brings it back

  const freshness = el("p", { class: "freshness", id: "regio-bijgewerkt", "aria-live": "polite" });
  const totals = el("div", { class: "totals", id: "regio-totalen" });
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const careFilter = el("select", { id: "filter-zorgvorm" }, el("option", { value: "" }, "Alle zorgvormen"));
  const admittingOnly = el("input", { type: "checkbox", id: "filter-plaatsend" });
  const tableButton = el("button", { type: "button", class: "button toggle", "aria-pressed": "true" }, "Tabel");
  const mapButton = el("button", { type: "button", class: "button toggle", "aria-pressed": "false" }, "Kaart");
  const overview = el("div", { class: "overview", id: "regio-overzicht" });
  const listTitle = el("h2", { id: "groepen-titel" }, "Groepen");
  const clear = el("button", { type: "button", class: "button small secondary", hidden: true }, "Toon alle groepen");
  const listBody = el("tbody");
  const table = el("table", { class: "data", id: "groepen-tabel", "aria-labelledby": "groepen-titel" },
    el("thead", {}, el("tr", {},
      HEADINGS.map((h, i) => el("th", { scope: "col", class: HEADING_CLASSES[i] }, h)))),
    listBody);

  root.replaceChildren(...kids(el("section", { class: "page wide" },
    el("div", { class: "page-head" }, el("h1", {}, "Regio in één oogopslag"), freshness),
    pageError, totals,
    el("div", { class: "toolbar" },
      el("div", { class: "field inline" }, el("label", { for: "filter-zorgvorm" }, "Zorgvorm"), careFilter),
      el("div", { class: "check" }, admittingOnly, el("label", { for: "filter-plaatsend" }, "Alleen groepen die plaatsen")),
      el("div", { class: "segmented", role: "group", "aria-label": "Weergave" }, tableButton, mapButton)),
    overview,
    el("div", { class: "page-head" }, listTitle, clear),
    el("div", { class: "table-scroll tall prioritised", tabindex: "0", "aria-labelledby": "groepen-titel", role: "region" }, table))));

  function visible() {
    return [...groups.values()].filter((g) => (!careFilter.value || g.care_form === careFilter.value)
      && (!admittingOnly.checked || g.admitting));
  }

  function label(code) {
    return vocab ? vocab.careFormLabel[code] || code : code;
  }

  function paint() {
    scheduled = false;
    if (disposed || !vocab) return; // a view chosen while loading is drawn when the region is in
    const shown = visible();
    const free = shown.filter((g) => g.admitting).reduce((n, g) => n + g.net_free_places, 0);
    totals.replaceChildren(...kids(
      stat("Groepen", shown.length), stat("Netto vrije plaatsen", free, "regio-vrij"),
      stat("Plaatsen niet", shown.filter((g) => !g.admitting).length),
      stat("Verouderde meldingen", shown.filter((g) => g.stale).length)));
    const picture = view === "tabel" ? matrix(shown) : map(shown);
    if (overview.firstChild !== picture || overview.childNodes.length !== 1) overview.replaceChildren(picture);
    list(shown);
    changed = new Set();
  }

  function schedule(groupId = null) {
    if (groupId !== null) changed.add(groupId);
    if (!scheduled) {
      scheduled = true;
      requestAnimationFrame(paint);
    }
  }

  function stat(title, value, id = null) {
    return el("div", { class: "stat" }, el("span", { class: "stat-value", id }, String(value)), el("span", { class: "stat-label" }, title));
  }

  function matrix(shown) {
    const forms = vocab.care_forms.filter((c) => !careFilter.value || c.code === careFilter.value);
    const cell = new Map();
    for (const g of shown) {
      const key = `${g.care_form}|${g.municipality_id}`;
      const entry = cell.get(key) || { free: 0, groups: 0, changed: false };
      entry.groups += 1;
      if (g.admitting) entry.free += g.net_free_places;
      if (changed.has(g.id)) entry.changed = true;
      cell.set(key, entry);
    }
    const head = el("tr", {}, el("th", { scope: "col" }, "Zorgvorm \\ gemeente"),
      places.map((m) => el("th", { scope: "col", class: "rotate" }, el("span", {}, m.name))),
      el("th", { scope: "col" }, "Totaal"));
    const rows = forms.map((form) => {
      let rowFree = 0;
      const cells = places.map((m) => {
        const entry = cell.get(`${form.code}|${m.id}`);
        if (!entry) return el("td", { class: "empty" }, el("span", { class: "visually-hidden" }, "geen groepen"), "·");
        rowFree += entry.free;
        const selected = selection && selection.careForm === form.code && selection.municipalityId === m.id;
        const level = entry.free === 0 ? 0 : entry.free < 3 ? 1 : 2;
        return el("td", { class: `level-${level}${entry.changed ? " flash" : ""}`, dataset: { cell: `${form.code}|${m.id}` } },
          el("button", {
            type: "button", class: "cell-button", "aria-pressed": selected ? "true" : "false",
            onclick: () => {
              selection = selected ? null : { careForm: form.code, municipalityId: m.id };
              paint();
            },
          // The name starts with the visible figure (speech input: "klik 3"), then says what it counts.
          }, String(entry.free), el("small", { "aria-hidden": "true" }, ` /${entry.groups}`),
          el("span", { class: "visually-hidden" },
            ` vrij in ${entry.groups} ${entry.groups === 1 ? "groep" : "groepen"}: ${form.label} in ${m.name}`)));
      });
      return el("tr", {}, el("th", { scope: "row" }, form.label), cells, el("td", { class: "total" }, String(rowFree)));
    });
    return el("div", { class: "table-scroll" },
      el("table", { class: "matrix", id: "regio-matrix" },
        el("caption", {}, "Netto vrije plaatsen van groepen die plaatsen, per zorgvorm en gemeente (vrij / aantal groepen). Kies een cel om de groepen te zien."),
        el("thead", {}, head), el("tbody", {}, rows)));
  }

  // The map lives as long as the map view is open: live changes move its markers, they do not
  // draw it anew (an open group or the keyboard focus stays where it is).
  function map(shown) {
    if (!regionMap) {
      regionMap = new RegionMap({ regionId, tileServerUrl: CONFIG.tileServerUrl, label, details: groupDetails });
    }
    regionMap.show(shown, changed);
    return regionMap.figure;
  }

  // What the table shows of a group, cell by cell; the map's details show the same.
  function groupCells(g) {
    return [
      g.name,
      g.provider_name || "",
      g.municipality_name || "",
      label(g.care_form),
      [String(g.net_free_places),
        g.held_places ? el("small", {}, ` (${g.held_places} vastgehouden)`) : null,
        g.places_from_feed ? el("small", { class: "feed-mark", title: "De vrije plaatsen volgen de bezettingsfeed" }, " · feed") : null,
        overBookedBy(g) ? el("span", { class: "warning-text over-booked" }, ` overboekt met ${overBookedBy(g)}`) : null],
      g.admitting ? "plaatst" : `plaatst niet: ${g.reason || ""}`,
      `${ago(g.reported_at)}${g.stale ? " (verouderd)" : ""}`,
    ];
  }

  function groupDetails(g) {
    const [name, ...rest] = groupCells(g);
    return [el("h3", {}, name), el("dl", { class: "details-list" },
      HEADINGS.slice(1).flatMap((heading, i) => [el("dt", {}, heading), el("dd", {}, rest[i])]))];
  }

  function list(shown) {
    let rows = shown;
    if (selection) {
      rows = rows.filter((g) => g.care_form === selection.careForm && g.municipality_id === selection.municipalityId);
      const place = places.find((m) => m.id === selection.municipalityId);
      listTitle.textContent = `Groepen: ${label(selection.careForm)} in ${place ? place.name : ""}`;
      clear.hidden = false;
    } else {
      listTitle.textContent = `Groepen (${rows.length})`;
      clear.hidden = true;
    }
    rows = [...rows].sort((a, b) => (b.admitting - a.admitting) || (b.net_free_places - a.net_free_places)
      || a.name.localeCompare(b.name));
    listBody.replaceChildren(...kids(...rows.map((g) => {
      const [name, provider, place, form, free, status, reported] = groupCells(g);
      return el("tr", { dataset: { groupId: g.id }, class: changed.has(g.id) ? "flash" : null },
        el("th", { scope: "row" }, name),
        el("td", { class: "col-p2" }, provider),
        el("td", { class: "col-p3" }, place),
        el("td", { class: "col-p2" }, form),
        el("td", { class: "num free-places" }, free),
        el("td", {}, status),
        el("td", { class: `col-p3${g.stale ? " stale-text" : ""}` }, reported));
    })));
  }

  function setView(next) {
    view = next;
    if (view !== "kaart" && regionMap) {
      regionMap.dispose();
      regionMap = null;
    }
    tableButton.setAttribute("aria-pressed", String(view === "tabel"));
    mapButton.setAttribute("aria-pressed", String(view === "kaart"));
    paint();
  }

  async function load() {
    overview.replaceChildren(...kids(loading("Regio laden…")));
    try {
      // The coordinator's own region (the demo also has crisis places in neighbouring regions).
      const me = await get("/auth/me");
      const scope = me.region_id ? `?region_id=${me.region_id}` : "";
      const [v, m, picture, ui] = await Promise.all([
        vocabulary(), municipalities(), get(`/availability${scope}`), get("/ui-settings")]);
      regionId = me.region_id || null;
      // The server's setting (PLEKWIJZER_TILE_SERVER_URL) wins over the default in config.js.
      if (ui.tile_server_url) CONFIG.tileServerUrl = ui.tile_server_url;
      if (disposed) return;
      vocab = v;
      places = regionId ? m.filter((x) => x.region_id === regionId) : m;
      if (careFilter.options.length === 1) {
        careFilter.append(...vocab.care_forms.map((c) => el("option", { value: c.code }, c.label)));
      }
      groups.clear();
      for (const g of picture.groups) if (!ended(g)) groups.set(g.id, g);
      live.noteSeq(picture.seq);
      freshness.textContent = `Bijgewerkt om ${formatTime(new Date())}`;
      showError(pageError, null);
      paint();
    } catch (error) {
      overview.replaceChildren(...kids());
      showError(pageError, `De regio kon niet worden geladen: ${error.message}`);
    }
  }

  careFilter.addEventListener("change", () => { selection = null; paint(); });
  admittingOnly.addEventListener("change", paint);
  tableButton.addEventListener("click", () => setView("tabel"));
  mapButton.addEventListener("click", () => setView("kaart"));
  clear.addEventListener("click", () => { selection = null; paint(); });

  // The feed's group has no provider or municipality name (the list has them): keep the ones
  // known, and look up those of a provider that is new in the register.
  async function named(group, current) {
    const out = { ...group };
    out.provider_name = group.provider_name || current?.provider_name || null;
    out.municipality_name = group.municipality_name || current?.municipality_name
      || places.find((m) => m.id === group.municipality_id)?.name || null;
    if (!out.provider_name) {
      if (!(group.provider_id in providerNames)) {
        providersLoad = providersLoad || get("/providers")
          .then((list) => { providerNames = Object.fromEntries(list.map((p) => [p.id, p.name])); })
          .catch(() => {})
          .finally(() => { providersLoad = null; });
        await providersLoad;
      }
      out.provider_name = providerNames[group.provider_id] || null;
    }
    return out;
  }

  async function upsert(group) {
    const current = groups.get(group.id);
    if (current && current.version > group.version) return;
    if (endedAt.has(group.id) && endedAt.get(group.id) >= group.version) return;
    if (ended(group)) {
      endedAt.set(group.id, group.version);
      if (current) {
        groups.delete(group.id);
        schedule();
      }
      return;
    }
    const complete = current && current.provider_name && group.provider_name === null
      ? { ...group, provider_name: current.provider_name, municipality_name: group.municipality_name || current.municipality_name }
      : await named(group, current);
    if (disposed) return;
    const latest = groups.get(group.id);
    if (latest && latest.version > group.version) return; // a newer one came in while looking up
    groups.set(group.id, complete);
    schedule(group.id);
  }

  const unsubscribe = live.subscribe((message) => {
    if (!vocab) return;
    if (message.type === "snapshot" && Array.isArray(message.groups)) {
      groups.clear();
      for (const g of message.groups) if ((!regionId || g.region_id === regionId) && !ended(g)) groups.set(g.id, g);
      schedule();
    } else if (message.group && typeof message.group.id === "number"
      && (!regionId || message.group.region_id === regionId)) {
      upsert(message.group);
    } else {
      return;
    }
    freshness.textContent = `Bijgewerkt om ${formatTime(new Date())}`;
  });
  load();
  return () => {
    disposed = true;
    unsubscribe();
    if (regionMap) regionMap.dispose();
  };
}
