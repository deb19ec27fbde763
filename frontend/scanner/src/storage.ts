// What the kiosk remembers between reloads: its device token and identity, and the camera.
import type { KioskInfo } from "./api";
import type { CameraChoice } from "./camera";

const PAIRING_KEY = "tapwork.kiosk";
const CAMERA_KEY = "tapwork.camera";

export interface Pairing {
  token: string;
  kiosk: KioskInfo;
}

function read<T>(key: string): T | null {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as T) : null;
  } catch {
    return null;
  }
}

export function loadPairing(): Pairing | null {
  const value = read<Pairing>(PAIRING_KEY);
  return value && typeof value.token === "string" && value.kiosk ? value : null;
}

export function savePairing(pairing: Pairing): void {
  localStorage.setItem(PAIRING_KEY, JSON.stringify(pairing));
}

export function clearPairing(): void {
  localStorage.removeItem(PAIRING_KEY);
}

export function loadCamera(): CameraChoice {
  return read<CameraChoice>(CAMERA_KEY) ?? { kind: "facing", facing: "environment" };
}

export function saveCamera(choice: CameraChoice): void {
  localStorage.setItem(CAMERA_KEY, JSON.stringify(choice));
}

const OFFSET_KEY = "tapwork.clockOffsetMs";

/** Server clock minus ours, as last measured: kept so a kiosk that reloads offline still
 * stamps queued scans on the server's clock. */
export function loadOffset(): number | null {
  const value = read<number>(OFFSET_KEY);
  return typeof value === "number" && Number.isFinite(value) ? value : null;
}

export function saveOffset(offsetMs: number | null): void {
  if (offsetMs !== null) localStorage.setItem(OFFSET_KEY, JSON.stringify(offsetMs));
}
