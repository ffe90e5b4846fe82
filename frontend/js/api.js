// Talking to the plekwijzer API: the session tokens, JSON requests and errors in Dutch.
// The access token lives 15 minutes; it is renewed silently with the refresh token a minute
// before it runs out (and once more when the server says it has expired), so nobody is logged
// out while working, and a session the server has ended logs out cleanly.

const SESSION_KEY = "plekwijzer.sessie";
const API = "/api/v1";

export class ApiError extends Error {
  // status 0 means the server could not be reached at all.
  constructor(status, message, { code = null, errors = [], body = null } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    this.errors = errors; // [{field, message}] from validation errors
    this.body = body;
  }

  // The message for one input field, if the API named it.
  fieldMessage(field) {
    const hit = this.errors.find((e) => e.field === field || (e.field || "").endsWith(`.${field}`));
    return hit ? hit.message : null;
  }
}

export const session = {
  get() {
    try {
      return JSON.parse(sessionStorage.getItem(SESSION_KEY) || "null");
    } catch {
      return null;
    }
  },
  set(value) {
    sessionStorage.setItem(SESSION_KEY, JSON.stringify(value));
  },
  clear() {
    sessionStorage.removeItem(SESSION_KEY);
  },
};

let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

export function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`;
}

const STATUS_TEXT = {
  400: "Het verzoek is niet goed.",
  401: "U bent niet (meer) ingelogd. Log opnieuw in.",
  403: "U heeft geen rechten voor deze handeling.",
  404: "Niet gevonden.",
  409: "Dit kan niet meer: de situatie is intussen veranderd.",
  412: "Iemand anders heeft dit intussen gewijzigd. Laad opnieuw en probeer het nog eens.",
  413: "Het verzoek is te groot.",
  422: "De invoer is niet geldig.",
  429: "Te veel pogingen; wacht even en probeer het opnieuw.",
  500: "Er ging iets mis op de server. Probeer het later opnieuw.",
  503: "De server is tijdelijk niet beschikbaar. Probeer het zo opnieuw.",
};

async function parseError(response) {
  let body;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  let message = body && typeof body.detail === "string" ? body.detail : null;
  if (!message && body && Array.isArray(body.detail)) {
    message = body.detail.map((d) => d.msg).join("; ");
  }
  message = message || STATUS_TEXT[response.status] || `Onverwachte fout (${response.status}).`;
  return new ApiError(response.status, message, {
    code: body && body.code, errors: (body && body.errors) || [], body,
  });
}

let refreshTimer = null;
let refreshing = null;

function storeTokens(data, extra = {}) {
  session.set({
    ...(session.get() || {}),
    ...extra,
    token: data.access_token,
    refreshToken: data.refresh_token || null,
    expiresAt: Date.now() + data.expires_in * 1000,
    role: data.role,
    providerId: data.provider_id,
    managesProvider: Boolean(data.manages_provider),
    mfa: Boolean(data.mfa_enabled),
  });
  scheduleRefresh();
}

// Renew a minute before the access token runs out; after a network error try again shortly.
export function scheduleRefresh() {
  clearTimeout(refreshTimer);
  const current = session.get();
  if (!current || !current.refreshToken || !current.expiresAt) return;
  const wait = Math.max(5000, current.expiresAt - Date.now() - 60000);
  refreshTimer = setTimeout(() => {
    refreshNow().catch((error) => {
      if (error.status === 0) refreshTimer = setTimeout(scheduleRefresh, 15000);
    });
  }, wait);
}

// One renewal at a time: presenting the same refresh token twice looks like a stolen token to
// the server, which then ends the session.
export function refreshNow() {
  if (!refreshing) {
    refreshing = (async () => {
      const current = session.get();
      if (!current || !current.refreshToken) throw new ApiError(401, STATUS_TEXT[401]);
      let response;
      try {
        response = await fetch(`${API}/auth/refresh`, {
          method: "POST",
          headers: { Accept: "application/json", "Content-Type": "application/json" },
          body: JSON.stringify({ refresh_token: current.refreshToken }),
        });
      } catch {
        throw new ApiError(0, "Geen verbinding met de server.");
      }
      if (!response.ok) {
        const error = await parseError(response);
        if (response.status === 401) onUnauthorized(error);
        throw error;
      }
      storeTokens(await response.json());
    })().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

// End the session on the server too (its tokens and live connection stop at once). Offline it
// simply runs out.
export async function logoutSession() {
  clearTimeout(refreshTimer);
  const current = session.get();
  if (!current || !current.token) return;
  try {
    await fetch(`${API}/auth/logout`, { method: "POST", headers: { Authorization: `Bearer ${current.token}` } });
  } catch {
    // nothing to do: the session ends by itself
  }
}

// A one-time ticket for the live feed's websocket (a token never goes into a URL).
export async function liveTicket() {
  return (await request("/live/ticket", { method: "POST" })).data.ticket;
}

// request("/groups", {method, json, form, headers, blob}) -> {data, status, headers}
export async function request(path, options = {}) {
  const { method = "GET", json, form, headers = {}, blob = false, auth = true, retried = false } = options;
  const init = { method, headers: { Accept: "application/json", ...headers } };
  const current = session.get();
  if (auth && current) init.headers.Authorization = `Bearer ${current.token}`;
  if (json !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(json);
  } else if (form !== undefined) {
    init.body = new URLSearchParams(form);
  }
  let response;
  try {
    response = await fetch(path.startsWith("/") && !path.startsWith(API) ? API + path : path, init);
  } catch {
    throw new ApiError(0, "Geen verbinding met de server. Uw invoer is bewaard; probeer het zo opnieuw.");
  }
  if (!response.ok) {
    const error = await parseError(response);
    if (response.status === 401 && auth && !retried && error.code === "token_expired" && current
        && current.refreshToken) {
      // Expired while the tab slept: renew once and send the request again.
      await refreshNow();
      return request(path, { ...options, retried: true });
    }
    if (response.status === 401 && auth) onUnauthorized(error);
    throw error;
  }
  let data = null;
  if (blob) {
    data = await response.blob();
  } else if (response.status !== 204) {
    const type = response.headers.get("Content-Type") || "";
    data = type.includes("json") ? await response.json() : await response.text();
  }
  return { data, status: response.status, headers: response.headers };
}

export async function get(path) {
  return (await request(path)).data;
}

export async function post(path, json, headers = {}) {
  return (await request(path, { method: "POST", json, headers })).data;
}

// The one place a session is kept after logging in (password, or the second step).
function startSession(data, username) {
  session.clear();
  storeTokens(data, { username });
  return session.get();
}

// Step one. Returns the session, or {mfa: {...}} when the role needs a second factor:
// mfa.mfa_required is "verify" (enter a code) or "enrol" (set up the app first).
export async function login(username, password) {
  const { data } = await request("/auth/token", {
    method: "POST", form: { username, password }, auth: false,
  });
  if (!data.access_token) return { mfa: data };
  return startSession(data, username);
}

// Step two: a code from the authenticator app, or a recovery code. After enrolment the
// answer also holds the recovery codes, shown once: {session, recoveryCodes}.
export async function loginSecondStep(username, mfaToken, code) {
  const { data } = await request("/auth/mfa", {
    method: "POST", json: { mfa_token: mfaToken, code }, auth: false,
  });
  return { session: startSession(data, username), recoveryCodes: data.recovery_codes || [] };
}

// Does the server have this API path at all? Screens of domains that are not installed stay out.
// The API paths this server has (/api/v1/api-paths, for any logged-in person; the API document
// itself is only for an administrator outside development).
let openapi = null;
export async function hasApi(prefix) {
  if (!openapi) {
    try {
      const data = await get("/api-paths");
      openapi = { paths: Object.fromEntries((data.paths || []).map((p) => [p, {}])) };
    } catch {
      openapi = { paths: {} };
    }
  }
  return Object.keys(openapi.paths || {}).some((p) => p.startsWith(API + prefix));
}

export function apiPaths() {
  return openapi ? Object.keys(openapi.paths || {}) : [];
}
