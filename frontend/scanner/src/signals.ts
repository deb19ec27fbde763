// Sound and vibration, where the device has them. WebAudio needs no audio file (nothing more
// to cache for offline use); browsers only start audio after a user gesture, so a kiosk that
// has never been touched stays silent instead of failing.
import type { Tone } from "./feedback";

let audio: AudioContext | null = null;

const PATTERNS: Record<Tone, { freqs: number[]; vibrate: number[] }> = {
  checkin: { freqs: [880], vibrate: [80] },
  checkout: { freqs: [660], vibrate: [80] },
  warn: { freqs: [520, 520], vibrate: [80, 60, 80] },
  reject: { freqs: [220, 180], vibrate: [300] },
  queued: { freqs: [600], vibrate: [60] },
};

export function unlockAudio(): void {
  try {
    audio ??= new AudioContext();
    if (audio.state === "suspended") void audio.resume();
  } catch {
    audio = null;
  }
}

export function signal(tone: Tone): void {
  const pattern = PATTERNS[tone];
  try {
    navigator.vibrate?.(pattern.vibrate);
  } catch {
    /* vibration is a nicety */
  }
  if (!audio) unlockAudio();
  if (audio?.state !== "running") return;
  let at = audio.currentTime;
  for (const freq of pattern.freqs) {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = "sine";
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.25, at);
    gain.gain.exponentialRampToValueAtTime(0.001, at + 0.15);
    osc.connect(gain).connect(audio.destination);
    osc.start(at);
    osc.stop(at + 0.16);
    at += 0.2;
  }
}
