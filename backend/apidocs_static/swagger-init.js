// Starts Swagger UI on /docs with the API document of this server. Outside development the
// document is only for a logged-in administrator: this page reads the web app's session of
// this browser tab (log in at /app/ first, then open /docs in the same tab) and sends its
// token, also with every "Try it out" request. A separate file because the page's
// Content-Security-Policy allows no inline script.
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

  function withToken(request) {
    var current = token();
    if (current && !request.headers.Authorization) request.headers.Authorization = "Bearer " + current;
    return request;
  }

  var headers = token() ? { Authorization: "Bearer " + token() } : {};
  fetch("/openapi.json", { headers: headers, credentials: "omit" })
    .then(function (response) {
      if (response.status === 401 || response.status === 403) {
        status.textContent = "De API-documentatie is alleen voor een ingelogde beheerder. Log in de web-app (/app/) "
          + "in als beheerder en open daarna /docs in hetzelfde tabblad.";
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
      window.SwaggerUIBundle({
        spec: spec,
        dom_id: "#swagger-ui",
        deepLinking: true,
        validatorUrl: null,
        requestInterceptor: withToken,
      });
    })
    .catch(function () {
      status.textContent = "De API-documentatie kon niet worden geladen.";
    });
})();
