// Settings of this installation of the web app. Edit on the server; no build step needed.
export const CONFIG = {
  // Address of a map tile server in the usual {z}/{x}/{y} form, for example
  // "https://tiles.example.org/{z}/{x}/{y}.png". Empty: the region map is drawn without tiles,
  // which is what works without internet access.
  tileServerUrl: "",
  // Slowest reconnect interval of the live feed, in milliseconds.
  liveMaxBackoffMs: 10000,
};
