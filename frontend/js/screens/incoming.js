// Incoming placement proposals and crisis holds for a provider (filled in when those APIs exist).
export function renderIncoming(section) {
  section.hidden = true;
  return () => {};
}
