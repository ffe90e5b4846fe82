// Login: the same accounts as the API. Nothing typed is lost when logging in fails.

import { ApiError, login } from "../api.js";
import { el, showError, kids } from "../ui.js";

export function renderLogin(root, { message, onLogin }) {
  const username = el("input", { id: "gebruikersnaam", name: "username", autocomplete: "username", required: true });
  const password = el("input", {
    id: "wachtwoord", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const error = el("p", { id: "inlog-fout", class: "error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", class: "button primary" }, "Inloggen");
  const form = el("form", { class: "login-form", novalidate: true, "aria-describedby": "inlog-fout" },
    el("h1", {}, "Inloggen bij plekwijzer"),
    el("p", { class: "lead" }, "Live beschikbaarheid en matching van plekken in de residentiële jeugdhulp."),
    el("div", { class: "field" }, el("label", { for: "gebruikersnaam" }, "Gebruikersnaam"), username),
    el("div", { class: "field" }, el("label", { for: "wachtwoord" }, "Wachtwoord"), password),
    error, submit,
    el("p", {}, el("a", { href: "#/wachtwoord" }, "Code van uw beheerder? Wachtwoord instellen")));
  if (message) showError(error, message);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!username.value.trim() || !password.value) {
      showError(error, "Vul uw gebruikersnaam en wachtwoord in.");
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Bezig met inloggen…";
    try {
      const user = await login(username.value.trim(), password.value);
      await onLogin(user);
    } catch (err) {
      const text = err instanceof ApiError ? err.message : "Inloggen is mislukt. Probeer het opnieuw.";
      showError(error, text);
      password.focus();
      password.select();
    } finally {
      submit.disabled = false;
      submit.textContent = "Inloggen";
    }
  });
  root.replaceChildren(...kids(el("section", { class: "login-page" }, form)));
  username.focus();
  return null;
}
