// English dictionary. Keys are grouped by prefix: common.*, scanner.*, error.* (API error
// codes, shared by every front end), portal.* (added by the portal).
export const en = {
  "common.language": "Language",
  "common.retry": "Try again",
  "common.loading": "Loading…",

  "portal.title": "TAPWORK portal",
  "portal.placeholder": "The Admin/HR portal is being built.",
};
