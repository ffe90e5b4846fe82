// The notification centre in the top bar: a bell with the unread count and a panel with the
// newest notifications. It loads them once after login and then follows the live feed, which
// carries a person's own notifications ("notification.new") to that person only.

import { get, post } from "./api.js";
import { announce, el, formatDateTime, kids } from "./ui.js";

const state = { items: [], unread: 0, unsubscribe: null, open: false };

function bell() {
  return document.getElementById("bell");
}

function panel() {
  return document.getElementById("inbox");
}

function showCount() {
  const count = document.getElementById("bell-count");
  count.textContent = state.unread > 99 ? "99+" : String(state.unread);
  count.hidden = state.unread === 0;
  bell().setAttribute("aria-label", state.unread === 1 ? "Meldingen, 1 ongelezen"
    : `Meldingen, ${state.unread} ongelezen`);
}

function item(notification) {
  const unread = !notification.read_at;
  const node = el("li", { class: `inbox-item${unread ? " unread" : ""}${notification.urgent ? " urgent" : ""}` },
    el("p", { class: "inbox-subject" }, notification.urgent ? el("span", { class: "badge bad" }, "Urgent") : null,
      " ", notification.subject),
    el("p", { class: "inbox-body" }, notification.body),
    el("p", { class: "hint" }, formatDateTime(notification.created_at)));
  if (unread) {
    node.append(el("button", {
      type: "button", class: "button small secondary",
      onclick: async () => {
        await post(`/notifications/${notification.id}/read`);
        notification.read_at = new Date().toISOString();
        state.unread = Math.max(0, state.unread - 1);
        render();
      },
    }, "Gelezen"));
  }
  return node;
}

function render() {
  showCount();
  if (!state.open) return;
  const list = state.items.length
    ? el("ul", { class: "inbox-list" }, state.items.map(item))
    : el("p", { class: "hint" }, "Geen meldingen.");
  panel().replaceChildren(...kids(
    el("div", { class: "inbox-head" },
      el("h2", { id: "inbox-title" }, "Meldingen"),
      state.unread ? el("button", {
        type: "button", class: "button small secondary",
        onclick: async () => {
          await post("/notifications/read-all");
          for (const n of state.items) n.read_at = n.read_at || new Date().toISOString();
          state.unread = 0;
          render();
        },
      }, "Alles gelezen") : null,
      el("a", { href: "#/meldingen", class: "inbox-settings", onclick: () => toggle(false) }, "Instellingen")),
    list));
}

function toggle(open = !state.open) {
  state.open = open;
  panel().hidden = !open;
  bell().setAttribute("aria-expanded", String(open));
  render();
}

export async function startNotifications(live) {
  stopNotifications();
  const button = bell();
  button.hidden = false;
  button.onclick = () => toggle();
  try {
    const data = await get("/notifications");
    state.items = data.notifications;
    state.unread = data.unread;
  } catch {
    state.items = [];
    state.unread = 0;
  }
  render();
  if (live) {
    state.unsubscribe = live.subscribe((message) => {
      if (message.type !== "notification.new" || !message.notification) return;
      if (state.items.some((n) => n.id === message.notification.id)) return;
      state.items.unshift({ ...message.notification, read_at: null });
      state.items = state.items.slice(0, 50);
      state.unread += 1;
      announce(`Nieuwe melding: ${message.notification.subject}`);
      render();
    });
  }
}

export function stopNotifications() {
  if (state.unsubscribe) state.unsubscribe();
  state.unsubscribe = null;
  state.items = [];
  state.unread = 0;
  const button = bell();
  if (button) button.hidden = true;
  if (panel()) toggle(false);
}
