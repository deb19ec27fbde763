import { createI18n } from "@tapwork/shared";

const i18n = createI18n();
document.getElementById("app")!.textContent = i18n.t("common.loading");
