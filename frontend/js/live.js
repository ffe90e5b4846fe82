// The live feed: one websocket per tab, reconnecting with backoff and ?since= the last sequence
// number seen, so a dropped connection loses no update. Each connection opens with a fresh
// one-time ticket from the API (a browser cannot send a header on a websocket, and a token in
// the URL would end up in access logs).

import { CONFIG } from "./config.js";
import { formatTime } from "./ui.js";

const AUTH_FAILED = 1008;
const SESSION_ENDED = 4401;

export class LiveFeed {
  constructor({ ticket, onStatus = () => {}, onAuthFailed = () => {} }) {
    this.ticket = ticket; // async () => a one-time ticket
    this.onStatus = onStatus;
    this.onAuthFailed = onAuthFailed;
    this.listeners = new Set();
    this.lastSeq = null;
    this.socket = null;
    this.attempt = 0;
    this.stopped = false;
    this.timer = null;
    this.lastMessageAt = null;
    this.connected = false;
  }

  // Called with every message: {type, seq, group?, ...}; a "snapshot" or "resync" tells
  // listeners to reload what they show.
  subscribe(listener) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  // Screens that load a picture with `seq` tell the feed where that picture stands, so the
  // first connection asks for nothing older.
  noteSeq(seq) {
    if (typeof seq === "number" && (this.lastSeq === null || seq > this.lastSeq) && !this.socket) {
      this.lastSeq = seq;
    }
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) {
      this.socket.onclose = null;
      this.socket.close();
      this.socket = null;
    }
  }

  // For tests and for the user's "opnieuw verbinden" button: drop and reconnect at once.
  reconnectNow() {
    clearTimeout(this.timer);
    this.attempt = 0;
    if (this.socket) this.socket.close();
    else this.connect();
  }

  async url() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const params = new URLSearchParams({ ticket: await this.ticket() });
    if (this.lastSeq !== null) params.set("since", String(this.lastSeq));
    return `${scheme}://${location.host}/api/v1/live?${params}`;
  }

  async connect() {
    if (this.stopped) return;
    this.status(this.attempt === 0 ? "connecting" : "reconnecting");
    let url;
    try {
      url = await this.url();
    } catch (error) {
      if (error.status === 401) {
        // The API call itself has logged out already.
        this.status("failed");
        return;
      }
      this.scheduleReconnect();
      return;
    }
    if (this.stopped) return;
    let socket;
    try {
      socket = new WebSocket(url);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.connected = true;
      this.status("live");
    };
    socket.onmessage = (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (typeof message.seq === "number") {
        this.lastSeq = this.lastSeq === null ? message.seq : Math.max(this.lastSeq, message.seq);
      }
      this.lastMessageAt = new Date();
      this.status("live");
      for (const listener of [...this.listeners]) {
        try {
          listener(message);
        } catch (error) {
          console.error(error);
        }
      }
    };
    socket.onclose = (event) => {
      this.socket = null;
      this.connected = false;
      if (this.stopped) return;
      if (event.code === AUTH_FAILED || event.code === SESSION_ENDED) {
        this.status("failed");
        this.onAuthFailed(event.reason);
        return;
      }
      this.scheduleReconnect();
    };
  }

  scheduleReconnect() {
    this.status("reconnecting");
    // 0.5 s, 1 s, 2 s, ... up to the configured maximum, with some jitter so that many
    // browsers do not all come back at the same moment after a server restart.
    const base = Math.min(CONFIG.liveMaxBackoffMs, 500 * 2 ** this.attempt);
    this.attempt += 1;
    this.timer = setTimeout(() => this.connect(), base * (0.75 + Math.random() * 0.5));
  }

  status(state) {
    const text = {
      connecting: "Verbinden…",
      live: "Live",
      reconnecting: "Verbinding verbroken, opnieuw verbinden…",
      failed: "Geen live-verbinding",
    }[state];
    const detail = state === "live" && this.lastMessageAt
      ? `bijgewerkt om ${formatTime(this.lastMessageAt)}` : "";
    this.onStatus(state, text, detail);
  }
}
