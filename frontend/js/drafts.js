// Half-finished forms are kept on the server, per person and form (/api/v1/drafts): they come
// back after a reload, on a second device and after a dropped connection. One helper for every
// form: load once, save a moment after the last change, discard when the form is sent.

import { get, request, session } from "./api.js";

const SAVE_AFTER_MS = 600;

export function draft(formKey) {
  const path = `/drafts/${encodeURIComponent(formKey)}`;
  let timer = null;
  let pending = null;

  async function flush() {
    clearTimeout(timer);
    timer = null;
    if (pending === null) return;
    const data = pending;
    pending = null;
    try {
      await request(path, { method: "PUT", json: { data } });
    } catch {
      // Offline or refused: the form itself still holds the input; the next change tries again.
      if (pending === null) pending = data;
    }
  }

  // A reload or a closed tab during the short wait still reaches the server.
  function flushOnLeave() {
    if (pending === null) return;
    const current = session.get();
    if (!current || !current.token) return;
    fetch(`/api/v1${path}`, {
      method: "PUT", keepalive: true,
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${current.token}` },
      body: JSON.stringify({ data: pending }),
    }).catch(() => {});
    pending = null;
  }
  window.addEventListener("pagehide", flushOnLeave);

  return {
    // The saved data, or null when there is none (or it could not be read).
    async load() {
      try {
        return (await get(path)).data;
      } catch {
        return null;
      }
    },
    save(data) {
      pending = data;
      clearTimeout(timer);
      timer = setTimeout(flush, SAVE_AFTER_MS);
    },
    flush,
    async discard() {
      clearTimeout(timer);
      pending = null;
      try {
        await request(path, { method: "DELETE" });
      } catch {
        // it expires by itself after a week
      }
    },
    // The screen closes: keep what is still waiting, stop listening.
    close() {
      flushOnLeave();
      clearTimeout(timer);
      window.removeEventListener("pagehide", flushOnLeave);
    },
  };
}

// Keep a whole form as a draft: every field with an id (checkboxes by their ticks), never a
// password or a file. `restore()` fills the form from the server once (call it when the form is
// shown); the fields get "input"/"change" events so the form's own listeners react as if typed.
export function keepForm(formKey, form) {
  const store = draft(formKey);
  let restored = false;
  let typed = false;
  let restoring = false;
  const kept = () => [...form.elements].filter((f) => f.id && !["password", "file", "hidden", "submit", "button"].includes(f.type)
    && f.tagName !== "BUTTON" && f.tagName !== "FIELDSET");
  function read() {
    const data = {};
    for (const f of kept()) data[f.id] = f.type === "checkbox" || f.type === "radio" ? f.checked : f.value;
    return data;
  }
  function onChange() {
    if (restoring) return; // our own events while filling in the saved draft
    typed = true;
    store.save(read());
  }
  form.addEventListener("input", onChange);
  form.addEventListener("change", onChange);
  return {
    async restore() {
      if (restored) return;
      restored = true;
      const saved = await store.load();
      // Input typed meanwhile wins over the saved draft.
      if (!saved || typed) return;
      restoring = true;
      for (const f of kept()) {
        if (!(f.id in saved)) continue;
        if (f.type === "checkbox" || f.type === "radio") f.checked = Boolean(saved[f.id]);
        else f.value = String(saved[f.id]);
        f.dispatchEvent(new Event("change", { bubbles: true }));
      }
      form.dispatchEvent(new Event("input", { bubbles: true }));
      restoring = false;
    },
    discard: () => store.discard(),
    close: () => store.close(),
  };
}
