// Gebruikers en API-sleutels: an administrator manages the people of its region (or everyone),
// a provider administrator its own provider's planners and API keys. New people get a one-time
// code to set their own password; codes and keys are shown once. Deactivating, a new role, a
// password reset and revoking a key end the person's (or key's) sessions at once.

import { ApiError, get, request } from "../api.js";
import { keepForm } from "../drafts.js";
import { LABELS, announce, el, formatDateTime, kids, loading, showError } from "../ui.js";

const ROLE_LABEL = LABELS.role;

export function render(root, { user }) {
  const isAdmin = user.role === "admin";
  const pageError = el("p", { class: "error", role: "alert", hidden: true });
  const result = el("div", { id: "beheer-resultaat", "aria-live": "polite" });
  const usersBox = el("div", { class: "table-scroll" }, loading("Gebruikers laden…"));
  const keysBox = el("div", { class: "table-scroll" }, loading("Sleutels laden…"));
  let providers = [];
  let disposed = false;

  const intro = isAdmin
    ? "Maak gebruikers aan, wijzig hun rol, zet ze op non-actief of geef een code voor een nieuw wachtwoord."
    : "Beheer de planners en API-sleutels van uw eigen organisatie.";

  function providerName(id) {
    const hit = providers.find((p) => p.id === id);
    return hit ? hit.name : id ? `aanbieder ${id}` : "";
  }

  function shown(title, label, secret, note) {
    result.replaceChildren(...kids(el("div", { class: "notice" },
      el("p", {}, el("strong", {}, title)),
      el("p", {}, `${label}: `, el("code", { class: "secret", "data-testid": "eenmalig" }, secret)),
      el("p", {}, note))));
    announce(title);
  }

  async function act(promise, message) {
    try {
      const response = await promise;
      if (message) announce(message);
      showError(pageError, null);
      await load();
      return response;
    } catch (error) {
      showError(pageError, error instanceof ApiError ? error.message : "Dat is niet gelukt.");
      return null;
    }
  }

  // -- new person --------------------------------------------------------------------------
  const username = el("input", { id: "nieuw-gebruikersnaam", autocomplete: "off", required: true });
  const role = el("select", { id: "nieuw-rol" }, isAdmin
    ? ["coordinator", "crisis", "viewer", "provider", "admin"].map((r) => el("option", { value: r }, ROLE_LABEL[r]))
    : [el("option", { value: "provider" }, "zorgaanbieder (planner)")]);
  const provider = el("select", { id: "nieuw-aanbieder" });
  const region = el("input", { id: "nieuw-regio", placeholder: "bijv. JZ14", autocomplete: "off" });
  const manages = el("input", { id: "nieuw-aanbiederbeheer", type: "checkbox" });
  const providerField = el("div", { class: "field", hidden: true },
    el("label", { for: "nieuw-aanbieder" }, "Aanbieder"), provider);
  const managesField = el("div", { class: "check", hidden: true }, manages,
    el("label", { for: "nieuw-aanbiederbeheer" }, "Aanbiederbeheerder (beheert planners en sleutels)"));
  const userError = el("p", { id: "nieuw-fout", class: "error", role: "alert", hidden: true });
  function syncRole() {
    const isProvider = role.value === "provider";
    providerField.hidden = !(isAdmin && isProvider);
    managesField.hidden = !(isAdmin && isProvider);
  }
  role.addEventListener("change", syncRole);
  const userForm = el("form", { class: "card", novalidate: true, "aria-labelledby": "nieuw-titel" },
    el("h2", { id: "nieuw-titel" }, isAdmin ? "Nieuwe gebruiker" : "Nieuwe planner"),
    el("div", { class: "form-row" },
      el("div", { class: "field" }, el("label", { for: "nieuw-gebruikersnaam" }, "Gebruikersnaam"), username),
      el("div", { class: "field" }, el("label", { for: "nieuw-rol" }, "Rol"), role),
      isAdmin ? el("div", { class: "field" }, el("label", { for: "nieuw-regio" }, "Regio (leeg: uw eigen regio)"), region)
        : null,
      providerField),
    managesField, userError,
    el("button", { type: "submit", class: "button primary" }, "Gebruiker aanmaken"));
  userForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!username.value.trim()) {
      showError(userError, "Vul een gebruikersnaam in.");
      username.focus();
      return;
    }
    const body = { username: username.value.trim(), role: role.value };
    if (isAdmin && region.value.trim()) body.region = region.value.trim();
    if (isAdmin && role.value === "provider") {
      body.provider = Number(provider.value);
      body.manages_provider = manages.checked;
    }
    try {
      const { data } = await request("/users", { method: "POST", json: body });
      showError(userError, null);
      username.value = "";
      newUserDraft.discard();
      shown(`Gebruiker ${data.username} is aangemaakt.`, "Eenmalige code voor het wachtwoord", data.reset.code,
        `Geef deze code door aan ${data.username}; die stelt er via "Wachtwoord instellen" op het inlogscherm `
        + `zelf een wachtwoord mee in. Geldig tot ${formatDateTime(data.reset.expires_at)}; wordt maar één keer getoond.`);
      await load();
    } catch (error) {
      showError(userError, error instanceof ApiError ? error.message : "Aanmaken is niet gelukt.");
    }
  });

  // -- new key -----------------------------------------------------------------------------
  const keyName = el("input", { id: "sleutel-naam", autocomplete: "off", placeholder: "bijv. roostersysteem" });
  const keyProvider = el("select", { id: "sleutel-aanbieder" });
  const keyExpiry = el("input", { id: "sleutel-vervalt", type: "date" });
  const keyError = el("p", { id: "sleutel-fout", class: "error", role: "alert", hidden: true });
  const keyForm = el("form", { class: "card", novalidate: true, "aria-labelledby": "sleutel-titel" },
    el("h2", { id: "sleutel-titel" }, "Nieuwe API-sleutel"),
    el("div", { class: "form-row" },
      el("div", { class: "field" }, el("label", { for: "sleutel-naam" }, "Naam"), keyName),
      isAdmin ? el("div", { class: "field" }, el("label", { for: "sleutel-aanbieder" }, "Aanbieder"), keyProvider) : null,
      el("div", { class: "field" }, el("label", { for: "sleutel-vervalt" }, "Vervalt op (optioneel)"), keyExpiry)),
    keyError,
    el("button", { type: "submit", class: "button primary" }, "Sleutel aanmaken"));
  keyForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!keyName.value.trim()) {
      showError(keyError, "Geef de sleutel een naam, bijvoorbeeld het systeem dat hem gebruikt.");
      keyName.focus();
      return;
    }
    const body = { name: keyName.value.trim() };
    if (isAdmin) body.provider = Number(keyProvider.value);
    if (keyExpiry.value) body.expires_at = `${keyExpiry.value}T23:59:59+01:00`;
    try {
      const { data } = await request("/api-keys", { method: "POST", json: body });
      showError(keyError, null);
      keyName.value = "";
      keyExpiry.value = "";
      newKeyDraft.discard();
      shown(`API-sleutel "${data.name}" is aangemaakt.`, "Sleutel", data.key,
        "Kopieer de sleutel nu naar het systeem dat hem gebruikt: hij wordt maar één keer getoond.");
      await load();
    } catch (error) {
      showError(keyError, error instanceof ApiError ? error.message : "Aanmaken is niet gelukt.");
    }
  });

  // -- lists -------------------------------------------------------------------------------
  function userRow(person) {
    const self = person.username === user.username;
    const actions = el("div", { class: "actions" });
    if (!self) {
      if (isAdmin && person.role !== "provider") {
        const select = el("select", { "aria-label": `Nieuwe rol van ${person.username}` },
          ["coordinator", "crisis", "viewer", "admin"].map((r) => el("option", { value: r, selected: r === person.role },
            ROLE_LABEL[r])));
        const change = el("button", { type: "button", class: "button small secondary" }, "Rol wijzigen");
        change.addEventListener("click", () => act(
          request(`/users/${person.id}`, { method: "PATCH", json: { role: select.value } }),
          `Rol van ${person.username} gewijzigd.`));
        actions.append(select, change);
      }
      const toggle = el("button", { type: "button", class: `button small ${person.active ? "danger" : "secondary"}` },
        person.active ? "Deactiveren" : "Heractiveren");
      toggle.addEventListener("click", () => act(
        request(`/users/${person.id}/${person.active ? "deactivate" : "reactivate"}`, { method: "POST" }),
        `${person.username} is ${person.active ? "gedeactiveerd" : "weer actief"}.`));
      actions.append(toggle);
      if (person.active) {
        const reset = el("button", { type: "button", class: "button small secondary" }, "Wachtwoordcode");
        reset.addEventListener("click", async () => {
          const response = await act(request(`/users/${person.id}/password-reset`, { method: "POST" }), null);
          if (response) {
            shown(`Nieuwe wachtwoordcode voor ${person.username}.`, "Eenmalige code", response.data.code,
              `Het oude wachtwoord werkt niet meer. Geldig tot ${formatDateTime(response.data.expires_at)}; `
              + "wordt maar één keer getoond.");
          }
        });
        actions.append(reset);
      }
    }
    const where = person.provider_id ? providerName(person.provider_id) : person.region_code || "alle regio's";
    const roleText = ROLE_LABEL[person.role] + (person.manages_provider ? " (beheerder)" : "");
    return el("tr", { "data-gebruiker": person.username },
      el("th", { scope: "row" }, person.username), el("td", { "data-label": "Rol" }, roleText),
      el("td", { "data-label": "Regio of aanbieder" }, where),
      el("td", { "data-label": "Status" }, person.active ? "actief" : "gedeactiveerd"), el("td", {}, actions));
  }

  function keyRow(key) {
    const actions = el("div", { class: "actions" });
    if (!key.revoked) {
      const revoke = el("button", { type: "button", class: "button small danger" }, "Intrekken");
      let armed = false;
      revoke.addEventListener("click", () => {
        // Irreversible: the first click asks, the second revokes.
        if (!armed) {
          armed = true;
          revoke.textContent = "Zeker intrekken?";
          return;
        }
        act(request(`/api-keys/${key.id}/revoke`, { method: "POST" }), `Sleutel "${key.name}" is ingetrokken.`);
      });
      actions.append(revoke);
    }
    const expired = key.expires_at && new Date(key.expires_at) <= new Date();
    const status = key.revoked ? "ingetrokken" : expired ? "verlopen" : "actief";
    return el("tr", { "data-sleutel": key.name },
      el("th", { scope: "row" }, key.name || key.prefix),
      el("td", { "data-label": "Aanbieder" }, providerName(key.provider_id)),
      el("td", { "data-label": "Vervalt" }, key.expires_at ? formatDateTime(key.expires_at) : "nooit"),
      el("td", { "data-label": "Laatst gebruikt" }, formatDateTime(key.last_used_at)),
      el("td", { "data-label": "Status" }, status), el("td", {}, actions));
  }

  function table(headers, rows, empty) {
    if (!rows.length) return el("p", {}, empty);
    return el("table", {}, el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows));
  }

  async function load() {
    try {
      if (!providers.length) providers = await get("/providers");
      const [people, keys] = await Promise.all([get("/users"), get("/api-keys")]);
      if (disposed) return;
      const options = providers.map((p) => el("option", { value: p.id }, p.name));
      if (!provider.options.length) provider.replaceChildren(...options);
      if (!keyProvider.options.length) keyProvider.replaceChildren(...options.map((o) => o.cloneNode(true)));
      usersBox.replaceChildren(table(["Gebruiker", "Rol", "Regio of aanbieder", "Status", "Acties"],
        people.map(userRow), "Nog geen gebruikers."));
      keysBox.replaceChildren(table(["Naam", "Aanbieder", "Vervalt", "Laatst gebruikt", "Status", "Acties"],
        keys.map(keyRow), "Nog geen API-sleutels."));
    } catch (error) {
      showError(pageError, `Laden is niet gelukt: ${error.message}`);
    }
  }

  root.replaceChildren(el("section", { class: "page accounts" },
    el("h1", {}, "Gebruikers en API-sleutels"), el("p", { class: "lead" }, intro), pageError, result,
    userForm, el("h2", {}, "Gebruikers"), usersBox, keyForm, el("h2", {}, "API-sleutels"), keysBox));
  syncRole();
  // Half-finished forms survive a reload (no password is ever in them: the person sets it with
  // a one-time code). Restored once the provider lists are filled, so a choice can be selected.
  const newUserDraft = keepForm("gebruiker-nieuw", userForm);
  const newKeyDraft = keepForm("sleutel-nieuw", keyForm);
  load().then(() => {
    if (disposed) return;
    newUserDraft.restore();
    newKeyDraft.restore();
  });
  return () => {
    disposed = true;
    newUserDraft.close();
    newKeyDraft.close();
  };
}
