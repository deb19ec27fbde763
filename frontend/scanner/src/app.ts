// The kiosk controller: which screen is up, where scans come from (camera and keyboard wedge
// at the same time), where they go (API now, or the offline queue), and what the person sees.
import { createI18n, runtimeConfig, svg, type I18n } from "@tapwork/shared";
import { ApiError, KioskApi, NetworkError, isRetryable, type FaceStep, type KioskInfo } from "./api";
import { CameraScanner, listCameras, prepareDecoder, type CameraChoice, type Detection } from "./camera";
import { CodeDebouncer } from "./debounce";
import { clockNotice, feedbackForAnswer, feedbackForError, feedbackQueued, type Feedback } from "./feedback";
import { QueueDrainer, ScanQueue, newScanId, type QueuedScan, type SendOutcome } from "./queue";
import { signal, unlockAudio } from "./signals";
import { clearPairing, loadCamera, loadOffset, loadPairing, saveCamera, saveOffset, savePairing, type Pairing } from "./storage";
import { blockedScreen, h, languagePicker, pairingScreen, renderFeedback } from "./view";
import { WedgeDetector } from "./wedge";

const FEEDBACK_MS = 3500;
const REJECT_FEEDBACK_MS = 5000;
const DEBOUNCE_MS = 3000;
const ME_REFRESH_MS = 5 * 60_000;
const FACE_RETRY_DELAY_MS = 900;
const ENROL_FRAMES = 3;
const ENROL_FRAME_GAP_MS = 350;

type Screen = { kind: "pairing"; error: string | null; busy: boolean } | { kind: "revoked" | "unpaired" } | { kind: "ready" };

/** What the e2e tests read to report frame-to-feedback time. */
interface Metrics {
  scans: number;
  lastSource?: "camera" | "wedge";
  lastDecodeMs?: number;
  lastFrameToFeedbackMs?: number;
  lastApiMs?: number;
  decoderReadyMs?: number;
  /** The last face step: verified | flagged | enrolled | enroll_failed | retrying. */
  face?: string;
}

declare global {
  interface Window {
    __tapwork?: Metrics;
  }
}

export class KioskApp {
  private readonly i18n: I18n = createI18n();
  private readonly api: KioskApi;
  private pairing: Pairing | null = loadPairing();
  private screen: Screen;
  private queue: ScanQueue | null = null;
  private drainer: QueueDrainer | null = null;
  private queued = 0;
  private online = navigator.onLine;
  private offsetMs: number | null = loadOffset();
  private readonly wedge = new WedgeDetector();
  private readonly debouncer = new CodeDebouncer(DEBOUNCE_MS);
  private readonly video = h("video", { autoplay: true, muted: true, playsinline: true, "aria-hidden": "true" }) as HTMLVideoElement;
  private readonly overlay = h("div", { id: "feedback", role: "status", "aria-live": "assertive", hidden: true });
  private readonly camera = new CameraScanner(this.video, (d) => this.onCameraCode(d));
  private cameraState: "starting" | "on" | "none" | "denied" = "starting";
  /** Send a frame with each online scan (from GET /biometric/kiosk/config). */
  private captureFace = false;
  /** While a face retry or enrolment runs, the person is at the kiosk: no new scans. */
  private faceBusy = false;
  private feedbackTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly metrics: Metrics = { scans: 0 };

  constructor(private readonly root: HTMLElement) {
    this.api = new KioskApi(
      runtimeConfig().apiUrl,
      () => this.pairing?.token ?? null,
      undefined,
      () => (this.queue ? this.queued : null),
    );
    this.screen = this.pairing ? { kind: "ready" } : { kind: "pairing", error: null, busy: false };
    window.__tapwork = this.metrics;
  }

  async start(): Promise<void> {
    const started = performance.now();
    // Compile the decoder now, not at the first scan: offline later must still decode.
    void prepareDecoder().then(() => (this.metrics.decoderReadyMs = Math.round(performance.now() - started)));
    this.i18n.onChange(() => this.render());
    window.addEventListener("keydown", (e) => this.onKey(e), true);
    window.addEventListener("pointerdown", () => unlockAudio(), { once: true });
    window.addEventListener("online", () => this.setOnline(true));
    window.addEventListener("offline", () => this.setOnline(false));
    this.render();
    this.queue = await ScanQueue.open();
    this.drainer = new QueueDrainer(this.queue, (scan) => this.sendQueued(scan), {
      baseDelayMs: 2000,
      maxDelayMs: 60_000,
      onCount: (count) => this.setQueued(count),
    });
    this.setQueued(await this.queue.count());
    if (this.pairing) {
      await this.startCamera();
      void this.refreshMe();
      void this.drainer.kick();
    }
    setInterval(() => void this.refreshMe(), ME_REFRESH_MS);
    setInterval(() => this.updateClock(), 1000);
  }

  // ---- screens -------------------------------------------------------------------------

  private render(): void {
    document.title = this.i18n.t("scanner.title");
    const s = this.screen;
    if (s.kind === "pairing") {
      this.root.replaceChildren(pairingScreen(this.i18n, (code) => void this.pair(code), s.error, s.busy));
    } else if (s.kind === "revoked" || s.kind === "unpaired") {
      this.root.replaceChildren(blockedScreen(this.i18n, s.kind, () => this.repair()));
    } else {
      this.root.replaceChildren(this.readyScreen(), this.overlay);
      this.updateClock();
    }
  }

  private readyScreen(): HTMLElement {
    const kiosk = this.pairing?.kiosk;
    const header = h(
      "header",
      { class: "bar" },
      h("span", { class: "kiosk", id: "kiosk-name" }, kiosk?.name ?? ""),
      h("span", { class: "where", id: "kiosk-location" }, kiosk?.location?.name ?? ""),
      h("span", { class: "spacer" }),
      h("span", { class: "queue-badge", id: "queue-badge", role: "status", hidden: true }),
      h("span", { class: "clock", id: "clock" }),
      this.cameraPicker(),
      languagePicker(this.i18n),
    );
    const notice = h("div", { class: "notice", id: "clock-notice", role: "alert", hidden: true });
    const toast = h("div", { class: "toast", id: "toast", role: "status", hidden: true });
    const cameraNote =
      this.cameraState === "none" || this.cameraState === "denied"
        ? h("p", { id: "camera-note" }, this.i18n.t(this.cameraState === "none" ? "scanner.cameraNone" : "scanner.cameraDenied"))
        : null;
    const prompt = h("div", { class: "prompt" }, h("h1", {}, this.i18n.t("scanner.ready")), h("p", {}, this.i18n.t("scanner.readyHint")), cameraNote);
    // No camera: a clear picture of what to use instead, not a black box where the preview was.
    const preview = cameraNote
      ? h(
          "div",
          { class: "no-camera", id: "no-camera" },
          svg(
            "svg",
            { viewBox: "0 0 64 64", width: 96, height: 96, "aria-hidden": "true" },
            svg("rect", { x: 6, y: 18, width: 52, height: 28, rx: 4, fill: "none", stroke: "currentColor", "stroke-width": 3 }),
            svg("path", { d: "M14 26v12M20 26v12M25 26v12M32 26v12M37 26v12M44 26v12M50 26v12", stroke: "currentColor", "stroke-width": 3 }),
          ),
          h("p", {}, this.i18n.t("scanner.useWedge")),
        )
      : this.video;
    const stage = h("section", { class: "stage", "aria-label": this.i18n.t("scanner.title") }, preview, prompt);
    const screen = h("main", { class: "screen", "data-screen": "ready" }, header, notice, stage, toast);
    queueMicrotask(() => {
      this.updateBadge();
      this.updateClockNotice();
    });
    return screen;
  }

  private cameraPicker(): HTMLElement {
    const current = loadCamera();
    const value = current.kind === "device" ? `device:${current.deviceId}` : `facing:${current.facing}`;
    const select = h(
      "select",
      {
        id: "camera",
        onchange: (e) => {
          const el = e.target as HTMLSelectElement;
          const [kind, id = ""] = el.value.split(/:(.*)/s);
          const choice: CameraChoice =
            kind === "device" ? { kind: "device", deviceId: id } : { kind: "facing", facing: id === "user" ? "user" : "environment" };
          saveCamera(choice);
          el.blur();
          void this.startCamera();
        },
      },
      h("option", { value: "facing:environment" }, this.i18n.t("scanner.cameraBack")),
      h("option", { value: "facing:user" }, this.i18n.t("scanner.cameraFront")),
    ) as HTMLSelectElement;
    void listCameras().then((cams) => {
      cams.forEach((cam, i) => {
        select.append(h("option", { value: `device:${cam.deviceId}` }, cam.label || `${this.i18n.t("scanner.camera")} ${i + 1}`));
      });
      select.value = value;
    });
    select.value = value;
    return h("label", { class: "picker" }, h("span", {}, this.i18n.t("scanner.camera")), select);
  }

  private async startCamera(): Promise<void> {
    if (!navigator.mediaDevices?.getUserMedia) {
      this.cameraState = "none";
      this.render();
      return;
    }
    try {
      await this.camera.start(loadCamera());
      this.cameraState = "on";
    } catch (error) {
      const name = error instanceof DOMException ? error.name : "";
      this.cameraState = name === "NotAllowedError" ? "denied" : "none";
      console.warn("camera unavailable", error);
      this.render();
    }
  }

  // ---- pairing ---------------------------------------------------------------------------

  private async pair(code: string): Promise<void> {
    this.screen = { kind: "pairing", error: null, busy: true };
    this.render();
    try {
      const answer = await this.api.pair(code);
      this.pairing = { token: answer.device_token, kiosk: answer.kiosk };
      savePairing(this.pairing);
      this.screen = { kind: "ready" };
      this.render();
      await this.startCamera();
      void this.refreshMe();
      void this.drainer?.kick();
    } catch (error) {
      const message =
        error instanceof NetworkError
          ? this.i18n.t("pair.offline")
          : error instanceof ApiError && error.code === "RATE_LIMITED"
            ? this.i18n.t("error.RATE_LIMITED.hint")
            : this.i18n.t("pair.invalid");
      this.screen = { kind: "pairing", error: message, busy: false };
      this.render();
    }
  }

  private repair(): void {
    clearPairing();
    this.pairing = null;
    this.camera.stop();
    this.screen = { kind: "pairing", error: null, busy: false };
    this.render();
  }

  private block(kind: "revoked" | "unpaired"): void {
    this.camera.stop();
    this.screen = { kind };
    this.render();
  }

  private async refreshMe(): Promise<void> {
    if (!this.pairing || this.screen.kind !== "ready") return;
    try {
      const me = await this.api.me();
      this.captureFace = await this.api.captureFace().catch(() => false);
      this.offsetMs = me.offsetMs;
      saveOffset(me.offsetMs);
      if (me.kiosk?.name) {
        this.pairing = { ...this.pairing, kiosk: { ...this.pairing.kiosk, ...me.kiosk } as KioskInfo };
        savePairing(this.pairing);
        const name = document.getElementById("kiosk-name");
        const where = document.getElementById("kiosk-location");
        if (name) name.textContent = this.pairing.kiosk.name;
        if (where) where.textContent = this.pairing.kiosk.location?.name ?? "";
      }
      this.updateClockNotice();
    } catch (error) {
      if (error instanceof ApiError && error.code === "KIOSK_REVOKED") this.block("revoked");
      else if (error instanceof ApiError && error.code === "KIOSK_UNAUTHORIZED") this.block("unpaired");
      // Network trouble: keep working offline with what we remember.
    }
  }

  // ---- scans -----------------------------------------------------------------------------

  private onKey(event: KeyboardEvent): void {
    const target = event.target as HTMLElement | null;
    if (target?.tagName === "INPUT" || target?.tagName === "TEXTAREA") return;
    const code = this.wedge.feed(event.key, event.timeStamp);
    if (event.key === "Enter" && target?.tagName === "SELECT") event.preventDefault();
    if (code) void this.onCode(code, "wedge", performance.now());
  }

  private onCameraCode(d: Detection): void {
    this.metrics.lastDecodeMs = Math.round(d.decodeMs);
    void this.onCode(d.text, "camera", d.frameAt);
  }

  private async onCode(text: string, source: "camera" | "wedge", frameAt: number): Promise<void> {
    if (this.screen.kind !== "ready" || !this.queue || this.faceBusy) return;
    if (this.debouncer.isRepeat(text, Date.now())) return;
    this.metrics.lastSource = source;
    // Capture time on the server's clock: a kiosk whose clock drifted would otherwise record
    // offline scans minutes early or late (the API takes captured_at as the scan time).
    const capturedAt = new Date(Date.now() + (this.offsetMs ?? 0)).toISOString();
    const scan = { client_scan_id: newScanId(), code_data: text, captured_at: capturedAt };
    // Keep capture order: while older scans wait in the queue, newer ones queue behind them.
    if (!this.online || this.queued > 0) {
      await this.enqueue(scan);
      this.show(feedbackQueued(this.i18n), frameAt);
      return;
    }
    try {
      const sent = performance.now();
      // The frame goes only with an online scan; queued (offline) scans carry none.
      const face = this.captureFace ? await this.camera.snapshot() : null;
      const answer = await this.api.scan({
        code_data: scan.code_data,
        client_scan_id: scan.client_scan_id,
        ...(face ? { face_image: face } : {}),
      });
      this.metrics.lastApiMs = Math.round(performance.now() - sent);
      this.setOnline(true);
      this.show(feedbackForAnswer(this.i18n, answer, this.timeZone()), frameAt);
      const step = (answer as { biometric?: FaceStep | null }).biometric;
      if (step) void this.faceFollowUp(scan.code_data, step);
    } catch (error) {
      if (isRetryable(error)) {
        if (error instanceof NetworkError) this.setOnline(false, false);
        await this.enqueue(scan);
        this.show(feedbackQueued(this.i18n), frameAt);
        return;
      }
      const api = error as ApiError;
      const feedback = feedbackForError(this.i18n, api.code, api.details, this.timeZone());
      this.show(feedback, frameAt);
      if (feedback.kiosk) setTimeout(() => this.block(feedback.kiosk!), REJECT_FEEDBACK_MS);
    }
  }

  // ---- face verification (optional) -----------------------------------------------------

  /** After the scan's feedback: retry a mismatch once with a fresh frame, or enrol a holder
   * who consented and has no template yet. The scan itself already counts either way. */
  private async faceFollowUp(codeData: string, step: FaceStep): Promise<void> {
    this.faceBusy = true;
    try {
      if (step.retry && step.check_id) {
        this.faceStatus("retrying", this.i18n.t("scanner.face.retry"));
        await sleep(FACE_RETRY_DELAY_MS);
        const frame = await this.camera.snapshot();
        const check = frame ? await this.api.verifyFace(step.check_id, codeData, frame) : null;
        if (check?.outcome === "match") this.faceStatus("verified", this.i18n.t("scanner.face.verified"));
        else this.faceStatus("flagged", this.i18n.t("scanner.face.flagged"));
      } else if (step.outcome === "match") {
        this.faceStatus("verified", this.i18n.t("scanner.face.verified"));
      } else if (step.enroll_available && this.cameraState === "on") {
        this.faceStatus("enrolling", this.i18n.t("scanner.face.enrolling"));
        const frames: string[] = [];
        for (let i = 0; i < ENROL_FRAMES; i++) {
          const frame = await this.camera.snapshot();
          if (frame) frames.push(frame);
          await sleep(ENROL_FRAME_GAP_MS);
        }
        await this.api.enrollFace(codeData, frames);
        this.faceStatus("enrolled", this.i18n.t("scanner.face.enrolled"));
      }
    } catch (error) {
      console.warn("face step failed", error);
      this.faceStatus(step.retry ? "flagged" : "enroll_failed", this.i18n.t(step.retry ? "scanner.face.flagged" : "scanner.face.enrollFailed"));
    } finally {
      this.faceBusy = false;
    }
  }

  private faceStatus(state: string, text: string): void {
    this.metrics.face = state;
    this.toast(text);
    const toast = document.getElementById("toast");
    if (toast) toast.dataset.face = state;
  }

  private async enqueue(scan: { client_scan_id: string; code_data: string; captured_at: string }): Promise<void> {
    await this.queue!.add(scan);
    this.setQueued(await this.queue!.count());
    void this.drainer?.kick();
  }

  private async sendQueued(scan: QueuedScan): Promise<SendOutcome> {
    if (!this.pairing || this.screen.kind !== "ready") return "stop";
    try {
      await this.api.scan({ code_data: scan.code_data, client_scan_id: scan.client_scan_id, captured_at: scan.captured_at });
      this.setOnline(true, false);
      return "done";
    } catch (error) {
      if (error instanceof NetworkError) this.setOnline(false, false);
      if (isRetryable(error)) return "retry";
      const code = (error as ApiError).code;
      if (code === "KIOSK_REVOKED" || code === "KIOSK_UNAUTHORIZED") {
        this.block(code === "KIOSK_REVOKED" ? "revoked" : "unpaired");
        return "stop";
      }
      return "done"; // a final answer (duplicate, revoked badge...): the server has stored it
    }
  }

  private show(feedback: Feedback, frameAt: number): void {
    this.metrics.scans += 1;
    renderFeedback(this.overlay, feedback);
    signal(feedback.tone);
    requestAnimationFrame(() => {
      const ms = Math.round(performance.now() - frameAt);
      this.metrics.lastFrameToFeedbackMs = ms;
      this.overlay.dataset.frameToFeedbackMs = String(ms);
    });
    if (this.feedbackTimer) clearTimeout(this.feedbackTimer);
    const ms = feedback.tone === "reject" ? REJECT_FEEDBACK_MS : FEEDBACK_MS;
    this.feedbackTimer = setTimeout(() => {
      this.overlay.hidden = true;
      delete this.overlay.dataset.tone;
    }, ms);
  }

  // ---- status: network, queue, clock -----------------------------------------------------

  private setOnline(online: boolean, kick = true): void {
    if (online === this.online) return;
    this.online = online;
    this.updateBadge();
    if (online && kick) void this.drainer?.kick();
  }

  private setQueued(count: number): void {
    const sent = this.queued - count;
    if (count === 0 && sent > 0 && this.online) this.toast(this.i18n.t("scanner.sentQueued", { count: sent }));
    this.queued = count;
    this.updateBadge();
    // Drained: tell the server now, so the portal stops showing held scans (else at the refresh).
    if (count === 0 && sent > 0 && this.online) void this.refreshMe();
  }

  private toast(text: string): void {
    const toast = document.getElementById("toast");
    if (!toast) return;
    toast.textContent = text;
    toast.hidden = false;
    setTimeout(() => (toast.hidden = true), FEEDBACK_MS);
  }

  private updateBadge(): void {
    const badge = document.getElementById("queue-badge");
    if (!badge) return;
    const show = !this.online || this.queued > 0;
    badge.hidden = !show;
    badge.dataset.count = String(this.queued);
    badge.textContent = this.online ? this.i18n.t("scanner.pendingBadge", { count: this.queued }) : this.i18n.t("scanner.offlineBadge", { count: this.queued });
  }

  private timeZone(): string | undefined {
    return this.pairing?.kiosk?.location?.timezone || undefined;
  }

  private updateClock(): void {
    const clock = document.getElementById("clock");
    if (!clock) return;
    const options: Intl.DateTimeFormatOptions = { hour: "2-digit", minute: "2-digit", hourCycle: "h23" };
    const tz = this.timeZone();
    try {
      clock.textContent = new Intl.DateTimeFormat(this.i18n.lang, { ...options, ...(tz ? { timeZone: tz } : {}) }).format(new Date());
    } catch {
      clock.textContent = new Intl.DateTimeFormat(this.i18n.lang, options).format(new Date());
    }
  }

  private updateClockNotice(): void {
    const notice = document.getElementById("clock-notice");
    if (!notice) return;
    const offset = this.offsetMs;
    const text = clockNotice(this.i18n, offset);
    notice.hidden = text === null;
    if (text === null) return;
    notice.textContent = text;
    notice.dataset.offsetMs = String(offset);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
