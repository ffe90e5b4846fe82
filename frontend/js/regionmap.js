// The region map: Leaflet (vendored from npm into vendor/, loaded on first use), with the groups
// as clustered markers and, behind them, either the tiles of the configured tile server
// (PLEKWIJZER_TILE_SERVER_URL) or the municipality outlines the server computes from the postcode
// centroids, so that the region is recognisable without internet.
//
// Every marker and cluster is a button: Tab reaches it, Enter (or a tap or click) opens a cluster
// (zooms in) or a group's details, the same as its row in the table below the map.

import { get } from "./api.js";
import { el } from "./ui.js";

let leafletLoad = null;

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = el("script", { src });
    script.addEventListener("load", resolve);
    script.addEventListener("error", () => reject(new Error(`${src} kon niet worden geladen`)));
    document.head.append(script);
  });
}

// The two scripts are plain browser scripts (the cluster plugin extends the global L), loaded
// in order and once; their style sheets are linked in index.html, before styles.css.
function loadLeaflet() {
  leafletLoad = leafletLoad || (async () => {
    if (!window.L) await loadScript("vendor/leaflet/leaflet.js");
    if (!window.L.MarkerClusterGroup) await loadScript("vendor/leaflet.markercluster/leaflet.markercluster.js");
    return window.L;
  })();
  leafletLoad.catch(() => { leafletLoad = null; });
  return leafletLoad;
}

function stateOf(group) {
  if (!group.admitting) return { code: "closed", text: "plaatst niet" };
  return group.net_free_places > 0 ? { code: "free", text: "vrije plaats" } : { code: "full", text: "vol" };
}

// The marker's face: its net free places in a coloured disc, and for screen readers a full name.
function face(group, label, changed) {
  const state = stateOf(group);
  return {
    className: `group-marker ${state.code}${group.stale ? " stale" : ""}${changed ? " flash" : ""}`,
    html: el("span", {},
      el("span", { "aria-hidden": "true" }, String(group.admitting ? group.net_free_places : "×")),
      el("span", { class: "visually-hidden" },
        `${group.name}, ${group.provider_name || ""}, ${label(group.care_form)}: ${group.net_free_places} vrij, ${state.text}`
        + `${group.stale ? ", verouderd cijfer" : ""}`)),
    iconSize: [34, 34],
    iconAnchor: [17, 17],
    popupAnchor: [0, -14],
  };
}

export class RegionMap {
  constructor({ regionId, tileServerUrl, label, details }) {
    this.regionId = regionId;
    this.tileServerUrl = tileServerUrl;
    this.label = label; // care form code -> label
    this.details = details; // group -> element with what the table row shows
    this.markers = new Map(); // group id -> {marker, group}
    this.status = el("p", { class: "map-status", role: "status" });
    this.container = el("div", {
      class: "region-leaflet", id: "regio-kaart", role: "region",
      "aria-label": "Kaart van de groepen; elke stip is een knop met de gegevens van de groep",
    });
    this.figure = el("figure", { class: "map-figure" }, this.container,
      el("figcaption", {}, tileServerUrl
        ? "Kaart met achtergrond van de ingestelde kaartserver. Tab naar een groep en druk op Enter voor de gegevens."
        : "Gemeentegrenzen benaderd uit de postcodes. Tab naar een groep of cluster en druk op Enter voor de gegevens."),
      el("ul", { class: "legend" },
        el("li", {}, el("span", { class: "swatch free" }), "vrije plaats (aantal)"),
        el("li", {}, el("span", { class: "swatch full" }), "vol"),
        el("li", {}, el("span", { class: "swatch closed" }), "plaatst niet"),
        el("li", {}, el("span", { class: "swatch stale" }), "verouderd cijfer"),
        el("li", {}, el("span", { class: "swatch cluster" }), "cluster van groepen: Enter of klik zoomt in")),
      this.status);
    this.ready = this.start();
  }

  async start() {
    const L = await loadLeaflet();
    if (this.disposed) return;
    this.L = L;
    this.map = L.map(this.container, { zoomSnap: 0.25, minZoom: 7, maxZoom: 16 });
    // Municipality names under the markers (Leaflet puts tooltips above them by default).
    this.map.createPane("names").style.zIndex = 450;
    this.map.attributionControl.setPrefix("Leaflet");
    if (this.tileServerUrl) {
      let origin = this.tileServerUrl;
      try {
        origin = new URL(this.tileServerUrl.replace(/[{}]/g, "")).host;
      } catch {
        // keep the configured text
      }
      L.tileLayer(this.tileServerUrl, { attribution: `Achtergrond: ${origin}`, maxZoom: 16 }).addTo(this.map);
    }
    this.cluster = L.markerClusterGroup({
      showCoverageOnHover: false,
      maxClusterRadius: 40,
      iconCreateFunction: (cluster) => {
        const groups = cluster.getAllChildMarkers().map((m) => m.options.group);
        const free = groups.filter((g) => g.admitting).reduce((n, g) => n + Math.max(g.net_free_places, 0), 0);
        return L.divIcon({
          className: "group-cluster",
          html: el("span", {}, el("span", { "aria-hidden": "true" }, String(groups.length)),
            el("span", { class: "visually-hidden" }, `Cluster van ${groups.length} groepen, ${free} vrije plaatsen; inzoomen`)),
          iconSize: [40, 40],
        });
      },
    });
    this.map.addLayer(this.cluster);
    try {
      const query = this.regionId ? `?region_id=${this.regionId}` : "";
      const outlines = await get(`/municipalities/outlines${query}`);
      if (this.disposed) return;
      this.outlines = L.geoJSON(outlines, {
        interactive: false,
        style: () => ({
          className: "municipality-outline", color: "#4a5565", weight: 1.5,
          fillColor: this.tileServerUrl ? "#ffffff" : "#e4ece2", fillOpacity: this.tileServerUrl ? 0.1 : 1,
        }),
        onEachFeature: (feature, layer) => {
          layer.bindTooltip(feature.properties.name, {
            permanent: true, direction: "center", className: "place-label", interactive: false, pane: "names",
          });
        },
      }).addTo(this.map);
      this.outlines.bringToBack();
    } catch (error) {
      this.status.textContent = `De gemeentegrenzen konden niet worden geladen: ${error.message}`;
    }
    this.fit();
  }

  fit() {
    if (!this.map) return;
    const bounds = this.outlines && this.outlines.getBounds().isValid()
      ? this.outlines.getBounds() : this.cluster.getBounds();
    if (bounds.isValid()) this.map.fitBounds(bounds, { padding: [10, 10] });
    else this.map.setView([52.3, 6.7], 10);
    this.fitted = true;
  }

  // Brings the markers in line with the groups shown (filters, live changes).
  async show(groups, changed = new Set()) {
    await this.ready;
    if (this.disposed || !this.map) return;
    const L = this.L;
    const wanted = new Map(groups.filter((g) => g.lat !== null && g.lon !== null).map((g) => [g.id, g]));
    const gone = [];
    for (const [id, entry] of this.markers) {
      if (!wanted.has(id)) {
        gone.push(entry.marker);
        this.markers.delete(id);
      }
    }
    if (gone.length) this.cluster.removeLayers(gone);
    const added = [];
    const refreshed = [];
    for (const group of wanted.values()) {
      const entry = this.markers.get(group.id);
      if (entry && entry.group === group) continue;
      if (entry) {
        entry.group = group;
        entry.marker.options.group = group;
        entry.marker.setLatLng([group.lat, group.lon]);
        entry.marker.setIcon(L.divIcon(face(group, this.label, changed.has(group.id))));
        entry.marker.setPopupContent(this.popup(group));
        refreshed.push(entry.marker);
        continue;
      }
      const marker = L.marker([group.lat, group.lon], {
        icon: L.divIcon(face(group, this.label, false)), keyboard: true, riseOnHover: true, group,
      });
      marker.bindPopup(() => this.popup(this.markers.get(group.id).group), { maxWidth: 300, minWidth: 220 });
      // The details open by keyboard too: move the focus into them, and back to the marker after.
      marker.on("popupopen", (event) => {
        const content = event.popup.getElement()?.querySelector(".group-details");
        if (content) content.focus();
      });
      marker.on("popupclose", (event) => {
        const icon = marker.getElement();
        const focus = document.activeElement;
        const inside = focus === document.body || Boolean(event.popup.getElement()?.contains(focus));
        if (icon && inside) icon.focus();
      });
      this.markers.set(group.id, { marker, group });
      added.push(marker);
    }
    if (added.length) this.cluster.addLayers(added);
    if (refreshed.length) this.cluster.refreshClusters(refreshed);
    if (!this.fitted) this.fit();
  }

  popup(group) {
    return el("div", {
      class: "group-details", tabindex: "-1", dataset: { groupId: group.id },
      onkeydown: (event) => {
        if (event.key === "Escape") this.markers.get(group.id)?.marker.closePopup();
      },
    }, this.details(group));
  }

  dispose() {
    this.disposed = true;
    if (this.map) this.map.remove();
  }
}
