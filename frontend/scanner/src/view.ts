// DOM building for the kiosk screens. Plain DOM keeps the first load small (no framework).
import { LANGUAGES, LANGUAGE_NAMES, h, type I18n, type Language } from "@tapwork/shared";

export { h };
import type { Feedback, Tone } from "./feedback";

export function languagePicker(i18n: I18n): HTMLElement {
  const select = h(
    "select",
    {
      id: "language",
      onchange: (e) => {
        i18n.setLanguage((e.target as HTMLSelectElement).value as Language);
        (e.target as HTMLSelectElement).blur(); // wedge keystrokes must not change it
      },
    },
    ...LANGUAGES.map((lang) => h("option", { value: lang, selected: lang === i18n.lang }, LANGUAGE_NAMES[lang])),
  );
  return h("label", { class: "picker" }, h("span", {}, i18n.t("common.language")), select);
}

export function pairingScreen(i18n: I18n, onSubmit: (code: string) => void, error: string | null, busy: boolean): HTMLElement {
  const input = h("input", {
    id: "pairing-code",
    name: "pairing_code",
    autocomplete: "off",
    autocapitalize: "characters",
    spellcheck: "false",
    required: true,
    maxlength: "32",
    "aria-describedby": "pair-intro",
  }) as HTMLInputElement;
  const form = h(
    "form",
    {
      class: "card",
      onsubmit: (e) => {
        e.preventDefault();
        if (input.value.trim()) onSubmit(input.value);
      },
    },
    h("h1", {}, i18n.t("pair.title")),
    h("p", { id: "pair-intro" }, i18n.t("pair.intro")),
    h("label", { for: "pairing-code" }, i18n.t("pair.code")),
    input,
    error ? h("p", { class: "error", role: "alert" }, error) : null,
    h("button", { type: "submit", disabled: busy }, busy ? i18n.t("pair.pairing") : i18n.t("pair.submit")),
  );
  queueMicrotask(() => input.focus());
  return h("main", { class: "screen center", "data-screen": "pairing" }, form, languagePicker(i18n));
}

export function blockedScreen(i18n: I18n, kind: "revoked" | "unpaired", onRepair: () => void): HTMLElement {
  const title = kind === "revoked" ? i18n.t("revoked.title") : i18n.t("unpaired.title");
  const body = kind === "revoked" ? i18n.t("revoked.body") : i18n.t("unpaired.body");
  return h(
    "main",
    { class: "screen center blocked", "data-screen": kind },
    h(
      "div",
      { class: "card", role: "alert" },
      h("div", { class: "icon", "aria-hidden": "true" }, "✕"),
      h("h1", {}, title),
      h("p", {}, body),
      h("button", { type: "button", onclick: onRepair }, i18n.t("revoked.action")),
    ),
    languagePicker(i18n),
  );
}

// Inline SVG, not emoji or symbol characters: kiosks without an emoji font showed empty boxes.
const PATHS: Record<Tone, string> = {
  checkin: '<path d="M14 33l11 11 25-26"/>',
  checkout: '<path d="M12 32h36M34 18l14 14-14 14"/>',
  warn: '<path d="M32 12v26M32 50v2"/>',
  reject: '<path d="M16 16l32 32M48 16L16 48"/>',
  queued: '<circle cx="32" cy="32" r="22"/><path d="M32 18v14l10 6"/>',
};

function icon(tone: Tone): HTMLElement {
  const el = h("div", { class: "icon", "aria-hidden": "true" });
  el.innerHTML = `<svg viewBox="0 0 64 64" fill="none" stroke="currentColor" stroke-width="7" stroke-linecap="round" stroke-linejoin="round">${PATHS[tone]}</svg>`;
  return el;
}

export function renderFeedback(overlay: HTMLElement, feedback: Feedback): void {
  overlay.className = `feedback tone-${feedback.tone}`;
  overlay.dataset.tone = feedback.tone;
  overlay.hidden = false;
  overlay.replaceChildren(icon(feedback.tone), h("h2", { class: "title" }, feedback.title));
  if (feedback.name) overlay.append(h("p", { class: "name" }, feedback.name));
  for (const line of feedback.lines) overlay.append(h("p", { class: "line" }, line));
}
