// Starts ReDoc on /redoc with the API document of this server (see swagger-init.js for why
// the token of the web app's session in this tab is sent, and why this is a separate file).
(function () {
  "use strict";
  var status = document.getElementById("docs-status");
  function token() {
    try {
      var session = JSON.parse(window.sessionStorage.getItem("plekwijzer.sessie") || "null");
      return (session && (session.token || session.access_token)) || null;
    } catch {
      return null;
    }
  }
  var current = token();
  var headers = current ? { Authorization: "Bearer " + current } : {};
  fetch("/openapi.json", { headers: headers, credentials: "omit" })
    .then(function (response) {
      if (response.status === 401 || response.status === 403) {
        status.textContent = "De API-documentatie is alleen voor een ingelogde beheerder. Log in de web-app (/app/) "
          + "in als beheerder en open daarna /redoc in hetzelfde tabblad.";
        return null;
      }
      if (!response.ok) {
        status.textContent = "De API-documentatie kon niet worden geladen (" + response.status + ").";
        return null;
      }
      return response.json();
    })
    .then(function (spec) {
      if (!spec) return;
      status.hidden = true;
      window.Redoc.init(spec, { hideDownloadButton: false }, document.getElementById("redoc"));
    })
    .catch(function () {
      status.textContent = "De API-documentatie kon niet worden geladen.";
    });
})();
