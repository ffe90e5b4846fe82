// The shell: login state, the menu per role, the hash router and the live feed.

import { hasApi, liveTicket, logoutSession, scheduleRefresh, session, setUnauthorizedHandler } from "./api.js";
import { LiveFeed } from "./live.js";
import { startNotifications, stopNotifications } from "./notifications.js";
import { LABELS, el, resetCaches, kids } from "./ui.js";

// Every screen: hash, menu label, roles that may open it, the module, and the API prefix it
// needs (a screen whose API is not installed on this server stays out of the menu).
const SCREENS = [
  { path: "aanbieder", label: "Mijn groepen", roles: ["provider", "admin"], module: "./screens/provider.js" },
  { path: "bezetting", label: "Bezetting", roles: ["provider", "admin", "coordinator"], module: "./screens/occupancy.js", api: "/occupancy/groups" },
  { path: "regio", label: "Regio", roles: ["coordinator", "admin", "viewer", "crisis"], module: "./screens/region.js" },
  { path: "wachtlijst", label: "Wachtlijst", roles: ["coordinator", "admin"], module: "./screens/referrals.js", api: "/referrals" },
  { path: "matching", label: "Matching", roles: ["coordinator", "admin"], module: "./screens/matching.js", api: "/matching" },
  { path: "crisis", label: "Crisisplek", roles: ["crisis", "coordinator", "admin"], module: "./screens/crisis.js", api: "/crisis" },
  { path: "rapportages", label: "Rapportages", roles: ["viewer", "coordinator", "admin"], module: "./screens/reports.js", api: "/occupancy" },
  { path: "planning", label: "Crisiscapaciteit", roles: ["viewer", "coordinator", "admin"], module: "./screens/planning.js", api: "/planning" },
  { path: "wat-als", label: "Wat-als", roles: ["viewer", "admin"], module: "./screens/whatif.js", api: "/whatif" },
  { path: "datakwaliteit", label: "Datakwaliteit", roles: ["viewer", "coordinator", "admin"], module: "./screens/quality.js", api: "/data-quality" },
  { path: "stuurinformatie", label: "Stuurinformatie", roles: ["viewer", "coordinator", "admin", "provider"], module: "./screens/indicators.js", api: "/indicators" },
  { path: "instellingen", label: "Instellingen", roles: ["admin", "coordinator", "viewer"], module: "./screens/settings.js", api: "/regions/{code}/settings" },
  { path: "contractregister", label: "Contractregister", roles: ["admin", "coordinator", "viewer"], module: "./screens/register.js", api: "/register" },
  { path: "auditlog", label: "Auditlog", roles: ["admin"], module: "./screens/audit.js", api: "/audit" },
  { path: "beheer", label: "Gebruikers", roles: ["admin", "provider"], module: "./screens/accounts.js", api: "/users",
    when: (user) => user.role === "admin" || user.managesProvider },
  // Opened from the notification centre in the top bar ("Instellingen"), not from the menu.
  { path: "meldingen", label: "Meldingen", roles: ["admin", "coordinator", "crisis", "viewer", "provider"],
    module: "./screens/notifications.js", api: "/notifications", menu: false },
  { path: "authenticator", label: "Authenticator-app", roles: ["admin", "coordinator", "crisis", "viewer", "provider"],
    module: "./screens/mfa.js", api: "/auth/mfa/re-enrol", when: (user) => user.mfa },
];

const START = {
  provider: "aanbieder", coordinator: "regio", crisis: "crisis", viewer: "rapportages", admin: "regio",
};

const ROLE_LABEL = LABELS.role;

const state = { live: null, cleanup: null, available: [] };
const main = document.getElementById("main");

export function liveFeed() {
  return state.live;
}

function routeOf(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean);
  return { path: parts[0] || "", params: parts.slice(1).map(decodeURIComponent) };
}

export function navigate(path) {
  if (location.hash === `#/${path}`) render();
  else location.hash = `#/${path}`;
}

async function availableScreens(role) {
  const result = [];
  const user = session.get() || {};
  for (const screen of SCREENS) {
    if (!screen.roles.includes(role)) continue;
    if (screen.when && !screen.when(user)) continue;
    if (screen.api && !(await hasApi(screen.api))) continue;
    result.push(screen);
  }
  return result;
}

function startPage(role) {
  const wanted = START[role];
  if (state.available.some((s) => s.path === wanted)) return wanted;
  return state.available[0] ? state.available[0].path : "regio";
}

function renderShell(current) {
  const topbar = document.getElementById("topbar");
  const nav = document.getElementById("nav");
  const who = document.getElementById("who");
  const user = session.get();
  topbar.hidden = !user;
  nav.replaceChildren(...kids());
  if (!user) return;
  const list = el("ul");
  for (const screen of state.available) {
    if (screen.menu === false) continue;
    const active = screen.path === current;
    list.append(el("li", {}, el("a", {
      href: `#/${screen.path}`, "aria-current": active ? "page" : null,
    }, screen.label)));
  }
  nav.append(list);
  who.textContent = `${user.username} (${ROLE_LABEL[user.role] || user.role})`;
}

function setLiveStatus(stateName, text, detail) {
  const node = document.getElementById("live-status");
  node.dataset.state = stateName;
  node.replaceChildren(...kids(el("span", { class: "dot", "aria-hidden": "true" }), text,
    detail ? el("span", { class: "detail" }, ` · ${detail}`) : null));
}

function startLive() {
  const user = session.get();
  if (!user || state.live) return;
  state.live = new LiveFeed({
    ticket: liveTicket,
    onStatus: setLiveStatus,
    onAuthFailed: () => logout("Uw sessie is verlopen; log opnieuw in."),
  });
  window.plekwijzerLive = state.live; // for the browser tests: drop the connection on purpose
  state.live.start();
  if (state.available.some((s) => s.path === "meldingen")) startNotifications(state.live);
}

function logout(message = null) {
  // Ends the session on the server (not awaited: it reads the token before it is cleared).
  if (!message) logoutSession();
  if (state.live) state.live.stop();
  state.live = null;
  stopNotifications();
  session.clear();
  resetCaches();
  sessionStorage.setItem("plekwijzer.melding", message || "");
  navigate("login");
}

async function render() {
  const { path, params } = routeOf(location.hash);
  if (state.cleanup) {
    try {
      state.cleanup();
    } catch (error) {
      console.error(error);
    }
    state.cleanup = null;
  }
  const user = session.get();
  if (!user && path === "wachtwoord") {
    renderShell(null);
    const { renderPassword } = await import("./screens/password.js");
    state.cleanup = renderPassword(main, {
      onDone: (text) => {
        sessionStorage.setItem("plekwijzer.melding", text);
        navigate("login");
      },
    });
    document.title = "Wachtwoord instellen – plekwijzer";
    return;
  }
  if (!user || path === "login") {
    if (user && path === "login") {
      navigate(startPage(user.role));
      return;
    }
    renderShell(null);
    const { renderLogin } = await import("./screens/login.js");
    const message = sessionStorage.getItem("plekwijzer.melding");
    sessionStorage.removeItem("plekwijzer.melding");
    state.cleanup = renderLogin(main, { message, onLogin: afterLogin });
    document.title = "Inloggen – plekwijzer";
    return;
  }
  if (!state.available.length) state.available = await availableScreens(user.role);
  const screen = state.available.find((s) => s.path === path);
  if (!screen) {
    navigate(startPage(user.role));
    return;
  }
  renderShell(screen.path);
  startLive();
  document.title = `${screen.label} – plekwijzer`;
  main.replaceChildren(...kids());
  const module = await import(screen.module);
  state.cleanup = module.render(main, { user, live: state.live, params, navigate }) || null;
  main.focus({ preventScroll: true });
}

async function afterLogin(user) {
  state.available = await availableScreens(user.role);
  navigate(startPage(user.role));
}

setUnauthorizedHandler(() => logout("Uw sessie is verlopen; log opnieuw in."));
scheduleRefresh(); // a reloaded tab renews its session as before
document.getElementById("logout").addEventListener("click", () => logout());
// On a phone the menu folds away behind one button, so that the top bar stays one row high.
function openMenu(open) {
  document.getElementById("topbar").classList.toggle("menu-open", open);
  document.getElementById("menu-toggle").setAttribute("aria-expanded", String(open));
}
document.getElementById("menu-toggle").addEventListener("click", () => {
  openMenu(!document.getElementById("topbar").classList.contains("menu-open"));
});
document.getElementById("topbar").addEventListener("keydown", (event) => {
  if (event.key === "Escape" && document.getElementById("topbar").classList.contains("menu-open")) {
    openMenu(false);
    document.getElementById("menu-toggle").focus();
  }
});
window.addEventListener("hashchange", () => openMenu(false));
window.addEventListener("hashchange", render);
render();
