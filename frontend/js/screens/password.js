// Setting a password with the one-time code an administrator handed out (a new account, or
// after a reset). No login needed: the code is the proof.

import { ApiError, request } from "../api.js";
import { el, kids, showError } from "../ui.js";

export function renderPassword(root, { onDone }) {
  const code = el("input", { id: "code", autocomplete: "one-time-code", required: true });
  const password = el("input", { id: "nieuw-wachtwoord", type: "password", autocomplete: "new-password", required: true });
  const again = el("input", { id: "herhaal-wachtwoord", type: "password", autocomplete: "new-password", required: true });
  const error = el("p", { id: "wachtwoord-fout", class: "error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", class: "button primary" }, "Wachtwoord instellen");
  const form = el("form", { class: "login-form", novalidate: true },
    el("h1", {}, "Wachtwoord instellen"),
    el("p", { class: "lead" }, "Vul de code in die u van uw beheerder kreeg en kies een wachtwoord."),
    el("div", { class: "field" }, el("label", { for: "code" }, "Code"), code),
    el("div", { class: "field" }, el("label", { for: "nieuw-wachtwoord" }, "Nieuw wachtwoord"), password),
    el("div", { class: "field" }, el("label", { for: "herhaal-wachtwoord" }, "Herhaal het wachtwoord"), again),
    error, submit, el("p", {}, el("a", { href: "#/login" }, "Terug naar inloggen")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!code.value.trim() || !password.value) {
      showError(error, "Vul de code en een wachtwoord in.");
      return;
    }
    if (password.value !== again.value) {
      showError(error, "De twee wachtwoorden zijn niet gelijk.");
      again.focus();
      return;
    }
    submit.disabled = true;
    try {
      await request("/auth/password", { method: "POST", json: { code: code.value.trim(), password: password.value },
        auth: false });
      onDone("Uw wachtwoord is ingesteld. Log nu in.");
    } catch (err) {
      showError(error, err instanceof ApiError ? err.message : "Dat is niet gelukt. Probeer het opnieuw.");
    } finally {
      submit.disabled = false;
    }
  });
  root.replaceChildren(...kids(el("section", { class: "login-page" }, form)));
  code.focus();
  return null;
}
