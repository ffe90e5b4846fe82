// Meldingen: the person's own choices (channel per kind of notification, quiet hours, a daily
// digest); for a provider its contacts (24-hour crisis contact, intake) and the webhooks of its
// own systems, with a test button and the delivery log; for an administrator the notifications
// that could not be delivered, to send again.

import { ApiError, get, post, request } from "../api.js";
import { announce, el, formatDateTime, kids, showError } from "../ui.js";

const STATUS = { pending: "Wacht", sending: "Bezig", delivered: "Afgeleverd", dead: "Mislukt" };

export function render(root, { user }) {
  const page = el("section", { class: "page notifications-page" },
    el("div", { class: "page-head" }, el("h1", {}, "Meldingen")));
  root.replaceChildren(...kids(page));
  const preferences = el("section", { class: "card", "aria-labelledby": "voorkeuren-titel" });
  page.append(preferences);
  renderPreferences(preferences);
  if (user.role === "provider" && user.providerId) {
    const contacts = el("section", { class: "card", "aria-labelledby": "contacten-titel" });
    const hooks = el("section", { class: "card", "aria-labelledby": "webhooks-titel" });
    page.append(contacts, hooks);
    renderContacts(contacts, user.providerId);
    renderWebhooks(hooks, user.providerId);
  }
  if (user.role === "admin") {
    const dead = el("section", { class: "card", "aria-labelledby": "onbezorgd-titel" });
    page.append(dead);
    renderDeadLetters(dead);
  }
  return null;
}

function message(err) {
  return err instanceof ApiError ? err.message : "Dat is niet gelukt. Probeer het opnieuw.";
}

async function renderPreferences(box) {
  box.replaceChildren(el("h2", { id: "voorkeuren-titel" }, "Mijn meldingen"), el("p", {}, "Laden…"));
  let pref;
  try {
    pref = await get("/notifications/preferences");
  } catch (err) {
    box.append(el("p", { class: "error" }, message(err)));
    return;
  }
  const email = el("input", { id: "melding-email", type: "email", autocomplete: "email", value: pref.email || "" });
  const rows = Object.entries(pref.triggers).map(([code, label]) => {
    const chosen = pref.channels[code] || ["app"];
    const app = el("input", { type: "checkbox", id: `kanaal-${code}-app`, checked: chosen.includes("app") });
    const mail = el("input", { type: "checkbox", id: `kanaal-${code}-email`, checked: chosen.includes("email") });
    return { code, app, mail, row: el("tr", {},
      el("th", { scope: "row" }, label),
      el("td", {}, app, el("label", { for: app.id, class: "visually-hidden" }, `${label}: in de app`)),
      el("td", {}, mail, el("label", { for: mail.id, class: "visually-hidden" }, `${label}: per e-mail`))) };
  });
  const quietStart = el("input", { id: "rustig-van", type: "time", value: pref.quiet_start || "" });
  const quietEnd = el("input", { id: "rustig-tot", type: "time", value: pref.quiet_end || "" });
  const digest = el("input", { id: "dagoverzicht", type: "checkbox", checked: pref.digest });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const form = el("form", { class: "notify-form", novalidate: true },
    el("div", { class: "field" }, el("label", { for: email.id }, "E-mailadres voor meldingen"), email),
    el("div", { class: "table-scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Melding"), el("th", { scope: "col" }, "In de app"),
        el("th", { scope: "col" }, "Per e-mail"))),
      el("tbody", {}, rows.map((r) => r.row)))),
    el("fieldset", { class: "quiet" }, el("legend", {}, "Rustige uren (geen e-mail; een crisisplaatsing komt altijd door)"),
      el("label", { for: quietStart.id }, "Van"), quietStart, el("label", { for: quietEnd.id }, "tot"), quietEnd),
    el("div", { class: "check" }, digest, el("label", { for: digest.id },
      " Eén dagoverzicht per e-mail (7.00 uur) in plaats van losse berichten")),
    error,
    el("button", { type: "submit", class: "button primary" }, "Opslaan"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const channels = {};
    for (const r of rows) {
      channels[r.code] = [r.app.checked ? "app" : null, r.mail.checked ? "email" : null].filter(Boolean);
    }
    try {
      await request("/notifications/preferences", { method: "PUT", json: {
        email: email.value.trim() || null, channels, digest: digest.checked,
        quiet_start: quietStart.value || null, quiet_end: quietEnd.value || null,
      } });
      error.hidden = true;
      announce("Uw meldingsvoorkeuren zijn opgeslagen.");
    } catch (err) {
      showError(error, message(err));
    }
  });
  box.replaceChildren(el("h2", { id: "voorkeuren-titel" }, "Mijn meldingen"), form);
}

async function renderContacts(box, providerId) {
  const list = el("ul", { class: "plain-list" });
  const name = el("input", { id: "contact-naam", autocomplete: "off" });
  const email = el("input", { id: "contact-email", type: "email" });
  const crisis = el("input", { id: "contact-crisis", type: "checkbox", checked: true });
  const proposals = el("input", { id: "contact-voorstellen", type: "checkbox" });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  async function load() {
    const contacts = await get(`/providers/${providerId}/contacts`);
    list.replaceChildren(...kids(contacts.length ? null : el("li", { class: "hint" }, "Nog geen contactpersonen."),
      ...contacts.map((c) => el("li", {}, `${c.name} <${c.email}>`,
        c.crisis ? el("span", { class: "badge bad" }, "24-uurs crisiscontact") : null,
        c.proposals ? el("span", { class: "badge" }, "voorstellen") : null,
        el("button", { type: "button", class: "button small secondary", onclick: async () => {
          await request(`/provider-contacts/${c.id}`, { method: "DELETE" });
          load();
        } }, "Verwijderen")))));
  }
  const form = el("form", { class: "inline-form", novalidate: true },
    el("div", { class: "field" }, el("label", { for: name.id }, "Naam"), name),
    el("div", { class: "field" }, el("label", { for: email.id }, "E-mailadres"), email),
    el("div", { class: "check" }, crisis, el("label", { for: crisis.id }, " Crisisplaatsingen (24 uur)")),
    el("div", { class: "check" }, proposals, el("label", { for: proposals.id }, " Plaatsingsvoorstellen")),
    error, el("button", { type: "submit", class: "button" }, "Toevoegen"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      await post(`/providers/${providerId}/contacts`, {
        name: name.value.trim(), email: email.value.trim(), crisis: crisis.checked, proposals: proposals.checked,
      });
      name.value = "";
      email.value = "";
      error.hidden = true;
      load();
    } catch (err) {
      showError(error, message(err));
    }
  });
  box.replaceChildren(el("h2", { id: "contacten-titel" }, "Contactpersonen van uw organisatie"),
    el("p", { class: "hint" }, "Zij krijgen een e-mail bij een crisisplaatsing op uw groepen en/of bij een nieuw voorstel."),
    list, form);
  load().catch((err) => showError(error, message(err)));
}

async function renderWebhooks(box, providerId) {
  const list = el("div", { class: "table-scroll" });
  const url = el("input", { id: "webhook-url", type: "url", placeholder: "https://" });
  const error = el("p", { class: "error", role: "alert", hidden: true });
  const secret = el("div", { "aria-live": "polite" });
  const log = el("div", { "aria-live": "polite" });
  async function showLog(endpoint) {
    const rows = await get(`/webhooks/${endpoint.id}/deliveries`);
    log.replaceChildren(el("h3", {}, `Afleverlog ${endpoint.url}`), el("div", { class: "table-scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, ...["Bericht", "Sleutel", "Status", "Pogingen", "Laatste fout", "Tijd"]
        .map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, el("td", {}, r.subject), el("td", {}, el("code", {}, r.key || "")),
        el("td", {}, STATUS[r.status] || r.status), el("td", {}, String(r.attempts)), el("td", {}, r.last_error || ""),
        el("td", {}, formatDateTime(r.delivered_at || r.due_at))))))));
  }
  async function load() {
    const endpoints = (await get(`/providers/${providerId}/webhooks`)).filter((e) => e.active);
    list.replaceChildren(el("table", {},
      el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Adres"), el("th", { scope: "col" }, "Acties"))),
      el("tbody", {}, endpoints.length ? endpoints.map((e) => el("tr", {}, el("td", {}, e.url), el("td", { class: "actions" },
        el("button", { type: "button", class: "button small", onclick: async () => {
          await post(`/webhooks/${e.id}/test`);
          announce("Testbericht verstuurd; het afleverlog toont of het aankwam.");
          setTimeout(() => showLog(e), 1500);
        } }, "Test"),
        el("button", { type: "button", class: "button small secondary", onclick: () => showLog(e) }, "Afleverlog"),
        el("button", { type: "button", class: "button small secondary", onclick: async () => {
          await request(`/webhooks/${e.id}`, { method: "DELETE" });
          load();
        } }, "Verwijderen"))))
          : el("tr", {}, el("td", { colspan: "2", class: "hint" }, "Nog geen webhooks.")))));
  }
  const form = el("form", { class: "inline-form", novalidate: true },
    el("div", { class: "field" }, el("label", { for: url.id }, "Adres van uw systeem"), url),
    error, el("button", { type: "submit", class: "button" }, "Webhook toevoegen"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const made = await post(`/providers/${providerId}/webhooks`, { url: url.value.trim() });
      url.value = "";
      error.hidden = true;
      secret.replaceChildren(el("div", { class: "notice" },
        el("p", {}, "Het geheim om de handtekening te controleren (Standard Webhooks). Het wordt maar één keer getoond:"),
        el("code", { class: "secret" }, made.secret)));
      load();
    } catch (err) {
      showError(error, message(err));
    }
  });
  box.replaceChildren(el("h2", { id: "webhooks-titel" }, "Webhooks naar uw eigen systemen"),
    el("p", { class: "hint" }, "Uw systeem krijgt crisisplaatsingen, voorstellen en herinneringen als ondertekend "
      + "JSON-bericht; de kop webhook-id is per bericht uniek en blijft gelijk bij een nieuwe poging."),
    list, form, secret, log);
  load().catch((err) => showError(error, message(err)));
}

async function renderDeadLetters(box) {
  const body = el("div", { "aria-live": "polite" });
  async function load() {
    const rows = await get("/notifications/dead-letters");
    body.replaceChildren(rows.length ? el("div", { class: "table-scroll" }, el("table", {},
      el("thead", {}, el("tr", {}, ...["Bericht", "Naar", "Pogingen", "Laatste fout", ""]
        .map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((r) => el("tr", {}, el("td", {}, r.subject),
        el("td", {}, r.email || (r.endpoint_id ? `webhook ${r.endpoint_id}` : "")),
        el("td", {}, String(r.attempts)), el("td", {}, r.last_error || ""),
        el("td", {}, el("button", { type: "button", class: "button small", onclick: async () => {
          await post(`/notifications/${r.id}/retry`);
          announce("De melding wordt opnieuw verstuurd.");
          load();
        } }, "Opnieuw versturen")))))))
      : el("p", { class: "hint" }, "Alle meldingen zijn afgeleverd."));
  }
  box.replaceChildren(el("h2", { id: "onbezorgd-titel" }, "Onbezorgde meldingen"),
    el("p", { class: "hint" }, "E-mails en webhooks die na alle pogingen niet aankwamen."), body);
  load().catch((err) => body.replaceChildren(el("p", { class: "error" }, message(err))));
}
