"""Face verification: accuracy on the images that ship inside scikit-image, and verify latency.

    uv run python bench/biometric.py [--latency-calls 200]

Starts the real `tapwork biometric` process (the `biometric` extra), enrols the astronaut from
three images, then over HTTP:
- genuine attempts: the astronaut under flips, light, rotation, crops, JPEG quality;
- impostor attempts: each face of scikit-image's LFW subset (other people) against her template;
- verify latency: one 640x480 JPEG kiosk frame per call, sequential, after a warm-up.
Prints FAR/FRR at several thresholds (distances are returned by the service) and p50/p99.
"""

from __future__ import annotations

import argparse
import base64
import io
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import numpy as np
from PIL import Image, ImageEnhance
from skimage import data

SECRET = "bench-shared-secret-0123456789abcdef0123"
KEY = "bench-biometric-key-0123456789abcdef0123"
THRESHOLDS = (0.4, 0.5, 0.6)


def jpeg(image: Image.Image, quality: int = 90) -> str:
    out = io.BytesIO()
    image.convert("RGB").save(out, format="JPEG", quality=quality)
    return base64.b64encode(out.getvalue()).decode()


def genuine(base: Image.Image) -> dict[str, str]:
    flip = base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    out = {"flip": jpeg(flip), "q30": jpeg(base, 30)}
    for factor in (0.5, 0.7, 1.3, 1.5):
        out[f"light x{factor}"] = jpeg(ImageEnhance.Brightness(base).enhance(factor))
    for angle in (-12, -8, -4, 4, 8, 12):
        out[f"rotate {angle}"] = jpeg(base.rotate(angle, resample=Image.Resampling.BILINEAR))
    for box in ((60, 0, 460, 400), (100, 20, 360, 280), (0, 0, 400, 512)):
        out[f"crop {box}"] = jpeg(base.crop(box))
    kiosk = Image.new("RGB", (640, 480), (70, 70, 70))
    kiosk.paste(base.resize((400, 400)), (120, 40))
    out["kiosk frame"] = jpeg(kiosk)
    return out


def impostors() -> list[str]:
    faces = data.lfw_subset()[:100]
    return [
        jpeg(
            Image.fromarray((f * 255).astype(np.uint8)).resize((200, 200), Image.Resampling.BICUBIC)
        )
        for f in faces
    ]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency-calls", type=int, default=200)
    args = parser.parse_args()
    port = free_port()
    env = {**os.environ, "BIOMETRIC_KEY": KEY, "BIOMETRIC_SECRET": SECRET, "TAPWORK_ENV": "test"}
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("tapwork")),
            "biometric",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    http = httpx.Client(base_url=url, headers={"X-Biometric-Secret": SECRET}, timeout=60)
    try:
        for _ in range(300):
            try:
                if http.get("/ready").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        base = Image.fromarray(data.astronaut())
        user = str(uuid.uuid4())
        enrol = [
            jpeg(base),
            jpeg(base.crop((20, 10, 500, 490))),
            jpeg(ImageEnhance.Contrast(base).enhance(1.2)),
        ]
        template = http.post("/v1/enroll", json={"user_id": user, "images": enrol}).json()[
            "template"
        ]

        def verify(image: str) -> httpx.Response:
            return http.post(
                "/v1/verify", json={"user_id": user, "image": image, "template": template}
            )

        same = {name: verify(img).json()["distance"] for name, img in genuine(base).items()}
        other, no_face = [], 0
        for img in impostors():
            response = verify(img)
            if response.status_code == 422:
                no_face += 1
            else:
                other.append(response.json()["distance"])
        print(
            f"genuine attempts: {len(same)}; distances "
            f"{min(same.values()):.3f} to {max(same.values()):.3f}"
        )
        print(
            f"impostor attempts: {len(other) + no_face} ({no_face} without a detectable face, "
            f"rejected); distances {min(other):.3f} to {max(other):.3f}"
        )
        print("\n| threshold | FAR | FRR |\n|---|---|---|")
        for t in THRESHOLDS:
            far = sum(d <= t for d in other) / (len(other) + no_face)
            frr = sum(d > t for d in same.values()) / len(same)
            print(f"| {t} | {far:.1%} | {frr:.1%} |")
        frame = genuine(base)["kiosk frame"]
        for _ in range(5):
            verify(frame)
        times = []
        for _ in range(args.latency_calls):
            start = time.perf_counter()
            assert verify(frame).status_code == 200
            times.append((time.perf_counter() - start) * 1000)
        times.sort()
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
        print(
            f"\nverify latency over HTTP, {len(times)} calls: "
            f"p50 {statistics.median(times):.0f} ms, p99 {p99:.0f} ms, max {times[-1]:.0f} ms"
        )
        print(f"load average at the end: {os.getloadavg()}")
    finally:
        http.close()
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
