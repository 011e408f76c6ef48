"""Per-camera mood smoothing, with its state in Redis so that any worker can
handle any frame of any camera.

A camera's mood changes only when a new label (a mood, or "none" for no face)
holds the window: at least `min_frames` frames of the last `window_s` seconds,
a share of at least `min_share` of them, a mean confidence of at least
`min_confidence`, and it has held so for `min_dwell_s`. Time is the frames'
own `frame_ts`, so the rule gives the same answer however fast frames are
handled. A frame older than the newest one already handled for its camera (a
worker overtook it) is late: its evidence joins the window where it belongs in
time, but it triggers no change, so frames handled out of order cannot flip the
mood; the next frame in order decides with it.

The state is read and written under WATCH/MULTI, and the mood events go out in
the same transaction, so two workers never race and each change is one event.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import numpy as np
from redis.exceptions import WatchError

from musicalface.contracts import (EXPRESSION_TO_MOOD, EXPRESSIONS, MOODS_STREAM, NO_FACE, CameraMood, FrameResult,
                                   MoodEvent, camera_state_key, live_channel, mood_probabilities)


@dataclass(frozen=True)
class SmoothingParams:
    window_s: float = 1.5
    min_frames: int = 3
    min_share: float = 0.6
    min_confidence: float = 0.5
    min_dwell_s: float = 1.0
    max_window: int = 64  # frames kept, whatever the frame rate


@dataclass
class Applied:
    """What one update did to a camera."""
    events: list[MoodEvent] = field(default_factory=list)
    handled: int = 0
    late: int = 0


def new_state(camera_id: str) -> dict:
    return {"camera_id": camera_id, "mood": None, "since": None, "event_id": None, "last": None,
            "last_ts": None, "window": [], "candidate": None, "candidate_since": None}


def _support(result: FrameResult) -> float:
    """How sure the frame is of its label: the summed probability of its mood."""
    if result.label == NO_FACE:
        return 1.0
    return mood_probabilities(result.probabilities)[result.label]


def observe(state: dict, result: FrameResult, params: SmoothingParams) -> MoodEvent | None | bool:
    """Fold one frame into the state. Returns a MoodEvent on a change, False for a late
    frame (ignored), None otherwise."""
    ts = result.frame_ts
    if state["last_ts"] is not None and ts <= state["last_ts"]:
        _merge_late(state, result, params)
        return False
    state["last_ts"] = ts
    state["last"] = result.model_dump()
    if result.label is None:  # unreadable frame: shown as `last`, no evidence for any mood
        return None
    window = [e for e in state["window"] if e[0] > ts - params.window_s]
    window.append(_entry(result))
    window = window[-params.max_window:]
    state["window"] = window

    by_label: dict[str, list] = {}
    for e in window:
        by_label.setdefault(e[1], []).append(e)
    label, entries = max(by_label.items(), key=lambda kv: (len(kv[1]), np.mean([e[2] for e in kv[1]])))
    confidence = float(np.mean([e[2] for e in entries]))
    holds = (len(entries) >= params.min_frames and len(entries) / len(window) >= params.min_share
             and confidence >= params.min_confidence)
    if not holds or label == state["mood"]:
        state["candidate"] = state["candidate_since"] = None
        return None
    if state["candidate"] != label:
        state["candidate"], state["candidate_since"] = label, ts
    if ts - state["candidate_since"] < params.min_dwell_s - 1e-6:  # 0.7 - 0.2 < 0.5 in floating point
        return None
    event = _event(state["camera_id"], label, entries, len(window), ts)
    state.update(mood=label, since=ts, event_id=event.event_id, candidate=None, candidate_since=None)
    return event


def _entry(result: FrameResult) -> list:
    probs = [round(result.probabilities.get(e, 0.0), 5) for e in EXPRESSIONS] if result.label != NO_FACE else None
    return [result.frame_ts, result.label, round(_support(result), 5), probs]


def _merge_late(state: dict, result: FrameResult, params: SmoothingParams) -> None:
    """A frame another worker overtook: its evidence joins the window where it belongs in time,
    but it decides nothing and is not shown as the camera's last frame."""
    window, ts = state["window"], result.frame_ts
    if result.label is None or ts <= state["last_ts"] - params.window_s or any(e[0] == ts for e in window):
        return  # unreadable, too old to matter, or a replay of a frame already counted
    window.append(_entry(result))
    window.sort(key=lambda e: e[0])
    state["window"] = window[-params.max_window:]


def _event(camera_id: str, label: str, entries: list, window_len: int, ts: float) -> MoodEvent:
    if label == NO_FACE:
        return MoodEvent(camera_id=camera_id, mood=NO_FACE, confidence=len(entries) / window_len, frame_ts=ts)
    mean = np.mean([e[3] for e in entries], axis=0)
    # The expression named is the likeliest of those that make this mood.
    emotion = max((e for e in EXPRESSIONS if EXPRESSION_TO_MOOD[e] == label), key=lambda e: mean[EXPRESSIONS.index(e)])
    return MoodEvent(camera_id=camera_id, mood=label, emotion=emotion,
                     confidence=float(np.mean([e[2] for e in entries])),
                     probabilities={e: round(float(p), 6) for e, p in zip(EXPRESSIONS, mean)}, frame_ts=ts)


class MoodSmoother:
    def __init__(self, redis, params: SmoothingParams | None = None, state_ttl_s: int = 86400,
                 stream_maxlen: int = 10000, live: bool = True):
        self.redis, self.params = redis, params or SmoothingParams()
        self.state_ttl_s, self.stream_maxlen, self.live = state_ttl_s, stream_maxlen, live

    def apply(self, camera_id: str, results: list[FrameResult]) -> Applied:
        """Fold a camera's frames into its state; emit the changes. Safe against other workers."""
        key = camera_state_key(camera_id)
        results = sorted(results, key=lambda r: r.frame_ts)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key)
                    raw = pipe.get(key)
                    state = json.loads(raw) if raw else new_state(camera_id)
                    out, handled = Applied(), []
                    for r in results:
                        got = observe(state, r, self.params)
                        if got is False:
                            out.late += 1
                            continue
                        handled.append(r)
                        if got is not None:
                            out.events.append(got)
                    out.handled = len(handled)
                    pipe.multi()
                    if results:
                        pipe.set(key, json.dumps(state), ex=self.state_ttl_s)
                    for ev in out.events:
                        ev.ts = time.time()
                        pipe.xadd(MOODS_STREAM, ev.to_stream(), maxlen=self.stream_maxlen, approximate=True)
                    if self.live:  # late ones too: a UI may skip them, a count of frames should not
                        for r in results:
                            pipe.publish(live_channel(camera_id), r.model_dump_json())
                    pipe.execute()
                    return out
                except WatchError:
                    continue


def read_mood(redis, camera_id: str) -> CameraMood | None:
    raw = redis.get(camera_state_key(camera_id))
    return CameraMood.model_validate_json(raw) if raw else None
