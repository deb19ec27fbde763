export * from "./config";
export * from "./api/client";
export * from "./i18n";
export * from "./dom";
