// Login: the same accounts as the API. Nothing typed is lost when logging in fails. For a role
// with a second factor the password is followed by a code from an authenticator app; the first
// time, the app is set up here (QR code, or the key typed in) and recovery codes are shown once.

import { ApiError, login, loginSecondStep } from "../api.js";
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
      const result = await login(username.value.trim(), password.value);
      if (result.mfa) {
        renderSecondStep(root, { username: username.value.trim(), challenge: result.mfa, onLogin });
        return;
      }
      await onLogin(result);
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

// The code step: enter a code, or (enrolment) scan the QR code first.
function renderSecondStep(root, { username, challenge, onLogin }) {
  const enrolling = challenge.mfa_required === "enrol";
  const code = el("input", {
    id: "mfa-code", name: "code", autocomplete: "one-time-code", inputmode: enrolling ? "numeric" : "text",
    required: true, "aria-describedby": "mfa-code-hint mfa-fout", spellcheck: "false",
  });
  const error = el("p", { id: "mfa-fout", class: "error", role: "alert", hidden: true });
  const label = enrolling ? "Activeren" : "Bevestigen";
  const submit = el("button", { type: "submit", class: "button primary" }, label);
  const restart = el("button", { type: "button", class: "button secondary" }, "Opnieuw inloggen");
  restart.addEventListener("click", () => renderLogin(root, { message: null, onLogin }));
  const setup = enrolling ? enrolmentPart(challenge.enrolment) : [];
  const form = el("form", { class: "login-form mfa-form", novalidate: true },
    el("h1", {}, enrolling ? "Tweestapsverificatie instellen" : "Tweestapsverificatie"),
    el("p", { class: "lead" }, enrolling
      ? "Uw rol werkt met gegevens van jeugdigen en vraagt daarom om een tweede stap bij het inloggen: "
        + "een code uit een authenticator-app op uw telefoon (bijvoorbeeld Microsoft Authenticator, "
        + "Google Authenticator of FreeOTP)."
      : "Vul de code van zes cijfers in die uw authenticator-app nu toont."),
    ...setup,
    el("div", { class: "field" },
      el("label", { for: "mfa-code" }, "Code uit uw authenticator-app"),
      el("p", { id: "mfa-code-hint", class: "hint" }, enrolling
        ? "Zes cijfers; de code verandert elke 30 seconden."
        : "Geen telefoon bij de hand? Vul dan een van uw herstelcodes in (elke code werkt één keer)."),
      code),
    error, submit, restart);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!code.value.trim()) {
      showError(error, "Vul de code uit uw authenticator-app in.");
      code.focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = "Bezig met controleren…";
    try {
      const { session, recoveryCodes } = await loginSecondStep(username, challenge.mfa_token, code.value.trim());
      if (recoveryCodes.length) {
        renderRecoveryCodes(root, { codes: recoveryCodes, onDone: () => onLogin(session) });
        return;
      }
      await onLogin(session);
    } catch (err) {
      const text = err instanceof ApiError ? err.message : "Controleren is mislukt. Probeer het opnieuw.";
      showError(error, text);
      code.focus();
      code.select();
    } finally {
      submit.disabled = false;
      submit.textContent = label;
    }
  });
  root.replaceChildren(...kids(el("section", { class: "login-page" }, form)));
  code.focus();
}

export function enrolmentPart(enrolment) {
  // The QR code is an SVG made by the server from the secret: nothing is fetched from elsewhere.
  return [
    el("ol", { class: "mfa-steps" },
      el("li", {}, "Open de authenticator-app en kies ‘account toevoegen’."),
      el("li", {}, "Scan deze QR-code, of typ de sleutel eronder over."),
      el("li", {}, "Vul de code in die de app daarna toont.")),
    el("img", {
      class: "mfa-qr", src: enrolment.qr_svg, width: 200, height: 200,
      alt: "QR-code om plekwijzer aan uw authenticator-app toe te voegen",
    }),
    el("p", { class: "hint" }, "Sleutel om over te typen: ",
      el("code", { id: "mfa-secret", class: "mfa-secret" }, enrolment.secret.replace(/(.{4})(?=.)/g, "$1 "))),
  ];
}

function renderRecoveryCodes(root, { codes, onDone }) {
  const done = el("button", { type: "button", class: "button primary" }, "Ik heb de codes bewaard, verder");
  done.addEventListener("click", () => onDone());
  const box = el("section", { class: "login-form mfa-form", "aria-labelledby": "herstel-kop" },
    el("h1", { id: "herstel-kop" }, "Tweestapsverificatie staat aan"),
    el("p", { class: "notice", role: "status" }, "Gelukt: vanaf nu logt u in met uw wachtwoord en een code uit de app."),
    el("p", {}, "Bewaar deze herstelcodes op een veilige plek (niet op uw telefoon). Heeft u uw telefoon niet bij de "
      + "hand, dan vult u een herstelcode in plaats van de code in. Elke code werkt één keer, en u ziet ze nu "
      + "voor het laatst."),
    el("ol", { id: "herstelcodes", class: "recovery-codes" }, ...codes.map((c) => el("li", {}, el("code", {}, c)))),
    done);
  root.replaceChildren(...kids(el("div", { class: "login-page" }, box)));
  done.focus();
}
