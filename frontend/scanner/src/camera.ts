// Camera scanning with zxing-wasm (QR + Code128). The wasm is served by us (locateFile) and
// compiled at page load, so a kiosk that goes offline before its first scan still decodes.
import { prepareZXingModule, readBarcodes, type ReaderOptions } from "zxing-wasm/reader";
import wasmUrl from "zxing-wasm/reader/zxing_reader.wasm?url";

export type CameraChoice = { kind: "device"; deviceId: string } | { kind: "facing"; facing: "user" | "environment" };

const READER: ReaderOptions = {
  formats: ["QRCode", "Code128"],
  tryHarder: true,
  maxNumberOfSymbols: 1,
};
// Code128 of a 60-character badge is ~700 modules and needs ≥ 2 px per module: decode frames
// at the camera's resolution up to 1920 px wide (QR alone would be fine at 640).
const MAX_WIDTH = 1920;

let ready: Promise<unknown> | null = null;

/** Start fetching and compiling the decoder now; resolves when it can decode. */
export function prepareDecoder(): Promise<unknown> {
  ready ??= prepareZXingModule({
    overrides: {
      locateFile: (path: string, prefix: string) => (path.endsWith(".wasm") ? wasmUrl : prefix + path),
    },
    fireImmediately: true,
  });
  return ready;
}

export interface Detection {
  text: string;
  format: string;
  /** performance.now() when the frame that held the code was grabbed. */
  frameAt: number;
  decodeMs: number;
}

export async function listCameras(): Promise<MediaDeviceInfo[]> {
  if (!navigator.mediaDevices?.enumerateDevices) return [];
  const devices = await navigator.mediaDevices.enumerateDevices();
  return devices.filter((d) => d.kind === "videoinput");
}

export class CameraScanner {
  private stream: MediaStream | null = null;
  private running = false;
  private readonly canvas = document.createElement("canvas");

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly onDetect: (d: Detection) => void,
  ) {}

  async start(choice: CameraChoice): Promise<void> {
    this.stop();
    const video: MediaTrackConstraints = choice.kind === "device" ? { deviceId: { exact: choice.deviceId } } : { facingMode: { ideal: choice.facing } };
    this.stream = await navigator.mediaDevices.getUserMedia({
      audio: false,
      video: { ...video, width: { ideal: 1920 }, height: { ideal: 1080 } },
    });
    this.video.srcObject = this.stream;
    this.video.muted = true;
    this.video.playsInline = true;
    await this.video.play();
    await prepareDecoder();
    this.running = true;
    void this.loop();
  }

  stop(): void {
    this.running = false;
    for (const track of this.stream?.getTracks() ?? []) track.stop();
    this.stream = null;
  }

  /** One frame as a base64 JPEG (no data: prefix) at most `maxWidth` wide, for the face
   * check; never stored by the kiosk. Null while the camera has no picture. */
  async snapshot(maxWidth = 640, quality = 0.85): Promise<string | null> {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!w || !h) return null;
    const canvas = document.createElement("canvas");
    const scale = Math.min(1, maxWidth / w);
    canvas.width = Math.round(w * scale);
    canvas.height = Math.round(h * scale);
    canvas.getContext("2d")?.drawImage(this.video, 0, 0, canvas.width, canvas.height);
    const url = canvas.toDataURL("image/jpeg", quality);
    const comma = url.indexOf(",");
    return url.startsWith("data:image/jpeg") && comma > 0 ? url.slice(comma + 1) : null;
  }

  private grab(): ImageData | null {
    const { videoWidth: w, videoHeight: h } = this.video;
    if (!w || !h) return null;
    const scale = Math.min(1, MAX_WIDTH / w);
    this.canvas.width = Math.round(w * scale);
    this.canvas.height = Math.round(h * scale);
    const ctx = this.canvas.getContext("2d", { willReadFrequently: true });
    if (!ctx) return null;
    ctx.drawImage(this.video, 0, 0, this.canvas.width, this.canvas.height);
    return ctx.getImageData(0, 0, this.canvas.width, this.canvas.height);
  }

  // Keep decoding frame after frame: the first frames of a stream are often black.
  private async loop(): Promise<void> {
    while (this.running) {
      const frameAt = performance.now();
      const frame = this.grab();
      if (frame) {
        try {
          const results = await readBarcodes(frame, READER);
          const decodeMs = performance.now() - frameAt;
          for (const r of results) {
            if (r.isValid && r.text) this.onDetect({ text: r.text, format: r.format, frameAt, decodeMs });
          }
        } catch (error) {
          console.warn("decode failed", error);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
  }
}
