// Moving to a new authenticator app while logged in (a new phone, another app). First the person
// shows they hold the current second factor: a code from the current app, or the password when
// that phone is gone. Then the new app is set up from a new QR code; the current app keeps
// working until a code of the new one has been confirmed, so nobody is locked out halfway.

import { ApiError, request } from "../api.js";
import { announce, el, kids, showError } from "../ui.js";
import { enrolmentPart } from "./login.js";

export function render(root) {
  const page = el("section", { class: "page" });
  root.replaceChildren(...kids(page));
  renderProof(page);
  return null;
}

function renderProof(page) {
  const code = el("input", {
    id: "huidige-code", name: "code", autocomplete: "one-time-code", inputmode: "numeric", spellcheck: "false",
    "aria-describedby": "huidige-code-hint",
  });
  const password = el("input", {
    id: "huidig-wachtwoord", name: "password", type: "password", autocomplete: "current-password",
  });
  const error = el("p", { id: "authenticator-fout", class: "error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", class: "button primary" }, "Nieuwe app instellen");
  const form = el("form", { class: "card mfa-form", novalidate: true, "aria-describedby": "authenticator-fout" },
    el("p", {}, "Gaat u over op een nieuwe telefoon of een andere authenticator-app? Bevestig eerst dat u het "
      + "bent met de code die uw huidige app nu toont. Heeft u die telefoon niet meer, vul dan uw wachtwoord in."),
    el("div", { class: "field" },
      el("label", { for: "huidige-code" }, "Code uit uw huidige app"),
      el("p", { id: "huidige-code-hint", class: "hint" }, "Zes cijfers; de code verandert elke 30 seconden."),
      code),
    el("div", { class: "field" }, el("label", { for: "huidig-wachtwoord" }, "Of uw wachtwoord"), password),
    error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = {};
    if (code.value.trim()) body.code = code.value.trim();
    else if (password.value) body.password = password.value;
    else {
      showError(error, "Vul de code uit uw huidige app in, of uw wachtwoord.");
      code.focus();
      return;
    }
    submit.disabled = true;
    try {
      const { data } = await request("/auth/mfa/re-enrol", { method: "POST", json: body });
      renderNewApp(page, data);
    } catch (err) {
      showError(error, err instanceof ApiError ? err.message : "Dat is niet gelukt. Probeer het opnieuw.");
      code.focus();
    } finally {
      submit.disabled = false;
    }
  });
  page.replaceChildren(...kids(el("div", { class: "page-head" }, el("h1", {}, "Authenticator-app")), form));
  code.focus();
}

function renderNewApp(page, challenge) {
  const code = el("input", {
    id: "nieuwe-code", name: "code", autocomplete: "one-time-code", inputmode: "numeric", spellcheck: "false",
    required: true,
  });
  const error = el("p", { id: "nieuwe-app-fout", class: "error", role: "alert", hidden: true });
  const submit = el("button", { type: "submit", class: "button primary" }, "Nieuwe app activeren");
  const form = el("form", { class: "card mfa-form", novalidate: true, "aria-describedby": "nieuwe-app-fout" },
    el("h2", {}, "Nieuwe app instellen"),
    ...enrolmentPart(challenge.enrolment),
    el("p", { class: "hint" }, "Uw huidige app blijft werken tot u hieronder de code van de nieuwe app invult."),
    el("div", { class: "field" }, el("label", { for: "nieuwe-code" }, "Code uit de nieuwe app"), code),
    error, submit);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!code.value.trim()) {
      showError(error, "Vul de code in die de nieuwe app toont.");
      code.focus();
      return;
    }
    submit.disabled = true;
    try {
      await request("/auth/mfa/re-enrol/confirm", {
        method: "POST", json: { mfa_token: challenge.mfa_token, code: code.value.trim() },
      });
      const done = "Gelukt: vanaf nu logt u in met de code uit de nieuwe app. De oude app werkt niet meer.";
      page.replaceChildren(...kids(el("div", { class: "page-head" }, el("h1", {}, "Authenticator-app")),
        el("p", { id: "authenticator-klaar", class: "notice", role: "status" }, done)));
      announce(done);
    } catch (err) {
      showError(error, err instanceof ApiError ? err.message : "Controleren is mislukt. Probeer het opnieuw.");
      code.focus();
      code.select();
    } finally {
      submit.disabled = false;
    }
  });
  page.replaceChildren(...kids(el("div", { class: "page-head" }, el("h1", {}, "Authenticator-app")), form));
  code.focus();
}
