// Placeholder until the portal is built: proves the workspace, shared i18n and config wiring.
import { createI18n } from "@tapwork/shared";

const i18n = createI18n();
const app = document.getElementById("app");
if (app) {
  const h1 = document.createElement("h1");
  h1.textContent = i18n.t("portal.title");
  const p = document.createElement("p");
  p.textContent = i18n.t("portal.placeholder");
  app.replaceChildren(h1, p);
}
