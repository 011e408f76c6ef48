"""The capture client: sends frames to the capture service over HTTP and shows
what comes back (each handled frame's reading and the camera's mood).
httpx only: it runs without TensorFlow, Redis or RQ."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from datetime import datetime

import httpx

from services.capture.sources import Frame

MAX_BACKOFF_S = 5.0


class CaptureError(RuntimeError):
    """The capture service cannot take frames from us at all (unreachable, wrong token)."""


class CaptureClient:
    def __init__(self, url: str, camera_id: str, token: str | None = None, timeout_s: float = 10.0):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.url, self.camera_id = url.rstrip("/"), camera_id
        self.http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout_s)

    def _call(self, method: str, path: str, **kw) -> httpx.Response:
        try:
            r = self.http.request(method, path, **kw)
        except httpx.HTTPError as e:
            raise CaptureError(f"cannot reach the capture service at {self.url}: {e}") from None
        if r.status_code == 401:
            raise CaptureError(f"the capture service at {self.url} refused our token: set CAPTURE_TOKEN to its token")
        return r

    def send(self, frame: Frame) -> httpx.Response:
        kind = "image/png" if frame.data[:4] == b"\x89PNG" else "image/jpeg"
        return self._call("POST", f"/v1/cameras/{self.camera_id}/frames", content=frame.data,
                          headers={"Content-Type": kind})

    def mood(self) -> dict:
        r = self._call("GET", f"/v1/cameras/{self.camera_id}/mood")
        r.raise_for_status()
        return r.json()

    def close(self) -> None:
        self.http.close()


def detail(r: httpx.Response) -> str:
    try:
        return str(r.json().get("detail", r.text))
    except ValueError:
        return r.text.strip() or r.reason_phrase


def _clock(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%H:%M:%S") if ts else "-"


def describe(result: dict, name: str | None = None) -> str:
    """One line for one handled frame."""
    who = name or result["frame_id"][:8]
    if result.get("error"):
        return f"{who}: error: {result['error']}"
    if result.get("emotion") is None:
        return f"{who}: no face"
    face = result.get("face")
    where = f"  face at x={face[0]} y={face[1]} w={face[2]} h={face[3]}" if face else ""
    return f"{who}: {result['emotion']} ({result['confidence']:.1%}) -> {result['label']}{where}"


class Display:
    """Prints each new frame result and each change of the camera's mood, once."""

    def __init__(self, camera_id: str, out: Callable[[str], None] = print):
        self.camera_id, self.out = camera_id, out
        self.names: dict[str, str] = {}
        self.shown_frame = self.shown_event = None
        self.results: dict[str, dict] = {}

    def update(self, mood: dict) -> None:
        last = mood.get("last")
        if last and last["frame_id"] != self.shown_frame:
            self.shown_frame = last["frame_id"]
            self.results[last["frame_id"]] = last
            self.out(f"[{self.camera_id}] {describe(last, self.names.get(last['frame_id']))}")
        if mood.get("event_id") and mood["event_id"] != self.shown_event:
            self.shown_event = mood["event_id"]
            self.out(f"[{self.camera_id}] mood: {mood['mood']} (since {_clock(mood.get('since'))})")


def run(client: CaptureClient, frames: Iterable[Frame], wait_s: float = 10.0,
        out: Callable[[str], None] = print) -> int:
    """Send every frame, show what comes back; wait up to wait_s for the last frame's result.
    0 when the last accepted frame was read, 1 otherwise."""
    display = Display(client.camera_id, out)
    last_id, sent, refused = None, 0, 0
    skip_until = 0.0
    for frame in frames:
        if time.monotonic() < skip_until:
            continue  # the service is busy: these frames would be stale by the time it got to them
        r = client.send(frame)
        if r.status_code == 202:
            body = r.json()
            last_id, sent = body["frame_id"], sent + 1
            display.names[last_id] = f"{frame.name} (frame {sent})"
        elif r.status_code == 429:
            pause = min(MAX_BACKOFF_S, float(r.headers.get("Retry-After", "1") or 1))
            out(f"[{client.camera_id}] {frame.name}: service busy ({detail(r)}); skipping frames for {pause:g} s")
            skip_until = time.monotonic() + pause
            continue
        else:
            refused += 1
            out(f"[{client.camera_id}] {frame.name}: refused ({r.status_code}): {detail(r)}")
            continue
        display.update(client.mood())
    if last_id is None:
        return 1
    deadline = time.monotonic() + wait_s
    while last_id not in display.results and time.monotonic() < deadline:
        time.sleep(0.1)
        display.update(client.mood())
    if last_id not in display.results:
        out(f"[{client.camera_id}] no result for the last frame after {wait_s:g} s: is an emotion worker running?")
        return 1
    mood = client.mood()
    out(f"[{client.camera_id}] sent {sent} frame(s), {refused} refused; camera mood: "
        f"{mood.get('mood') or 'none yet (it changes once a mood holds over several frames)'}")
    return 1 if display.results[last_id].get("error") else 0
