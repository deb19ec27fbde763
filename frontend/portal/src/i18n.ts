// The portal's dictionaries: the shared ones (common.*, error.*) plus the portal's own strings,
// which live here so the kiosk bundle does not carry them.
import { createI18n, dictionaries, type I18n, type Language, type MessageKey } from "@tapwork/shared";
import { errorsEn } from "./i18n/errors.en";
import { errorsEs } from "./i18n/errors.es";
import { labelsEn } from "./i18n/labels.en";
import { labelsEs } from "./i18n/labels.es";
import { opsEn } from "./i18n/ops.en";
import { opsEs } from "./i18n/ops.es";
import { permissionsEn } from "./i18n/permissions.en";
import { permissionsEs } from "./i18n/permissions.es";
import { portalEn } from "./i18n/portal.en";
import { portalEs } from "./i18n/portal.es";

export type PortalKey = MessageKey | keyof typeof portalEn | keyof typeof errorsEn | keyof typeof labelsEn | keyof typeof permissionsEn | keyof typeof opsEn;
export type PortalI18n = I18n<PortalKey>;

export const portalDictionaries: Record<Language, Record<PortalKey, string>> = {
  en: { ...dictionaries.en, ...portalEn, ...errorsEn, ...labelsEn, ...permissionsEn, ...opsEn },
  es: { ...dictionaries.es, ...portalEs, ...errorsEs, ...labelsEs, ...permissionsEs, ...opsEs },
};

export function createPortalI18n(storage?: Storage | null, browser?: readonly string[]): PortalI18n {
  return createI18n<PortalKey>(storage, browser, portalDictionaries);
}
