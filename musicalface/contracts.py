"""The contracts between services: labels, the mood table, model signatures,
Redis names and the messages that cross them. Nothing else defines these."""
from __future__ import annotations

import json
import time
import uuid
from typing import Literal

from pydantic import BaseModel, Field

# FER2013 label codes, in the order of the CNN's output.
EXPRESSIONS: tuple[str, ...] = ("Angry", "Disgust", "Fear", "Happy", "Sad", "Surprise", "Neutral")

# Song moods, in the order of the lyrics model's output.
MOODS: tuple[str, ...] = ("angry", "happy", "relaxed", "sad")
Mood = Literal["angry", "happy", "relaxed", "sad"]
NO_FACE = "none"  # the mood of a camera that sees no face

EXPRESSION_TO_MOOD: dict[str, str] = {
    "Angry": "angry",
    "Disgust": "angry",
    "Fear": "sad",
    "Sad": "sad",
    "Happy": "happy",
    "Surprise": "relaxed",
    "Neutral": "relaxed",
}


def mood_of(expression: str) -> str:
    return EXPRESSION_TO_MOOD[expression]


def mood_probabilities(probabilities: dict[str, float]) -> dict[str, float]:
    """Sum expression probabilities into the four moods."""
    out = dict.fromkeys(MOODS, 0.0)
    for name, p in probabilities.items():
        out[EXPRESSION_TO_MOOD[name]] += float(p)
    return out


# --- Model signatures (TensorFlow Serving and in-process alike) -------------
class EmotionSignature:
    name = "serving_default"
    input = "image"          # float32 [N, 48, 48, 1], raw grey 0..255
    output = "probabilities"  # float32 [N, 7], softmax in EXPRESSIONS order
    size = 48


class LyricsSignature:
    name = "serving_default"
    input = "lyrics"          # string [N], raw text
    output = "probabilities"  # float32 [N, 4], softmax in MOODS order


# --- Redis names -------------------------------------------------------------
FRAME_QUEUE = "frames"          # RQ queue of frame jobs
MOODS_STREAM = "moods"          # one entry per change of a camera's mood
PLAYS_STREAM = "plays"          # one entry per handled mood event
FRAME_KEY_PREFIX = "mf:frame:"  # short-lived frame bytes


PENDING_FRAMES = "mf:frames:pending"  # ZSET frame_id -> frame_ts: stored, not yet taken by a worker
CAMERA_KEY_PREFIX = "mf:camera:"      # per-camera mood state (JSON), shared by all workers
LIVE_CHANNEL_PREFIX = "mf:live:"      # PUBLISH of every handled frame's result, for a UI
# The RQ job that handles frames, named by path so that enqueuers need not import it.
FRAME_JOB_FUNC = "services.emotion.worker.handle_frames"
CAMERA_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


def frame_key(frame_id: str) -> str:
    return f"{FRAME_KEY_PREFIX}{frame_id}"


def camera_state_key(camera_id: str) -> str:
    return f"{CAMERA_KEY_PREFIX}{camera_id}:state"


def live_channel(camera_id: str) -> str:
    return f"{LIVE_CHANNEL_PREFIX}{camera_id}"


# --- Messages ----------------------------------------------------------------
class FrameJob(BaseModel):
    """What an emotion worker is asked to handle; the bytes stay in Redis."""
    frame_id: str
    camera_id: str
    frame_ts: float
    key: str


class FrameResult(BaseModel):
    """What one handled frame showed; published live and kept as a camera's `last`."""
    frame_id: str
    camera_id: str
    frame_ts: float
    label: str | None = None  # a mood, NO_FACE, or None when the frame could not be read
    emotion: str | None = None
    confidence: float = 0.0   # probability of `emotion`
    probabilities: dict[str, float] = Field(default_factory=dict)
    face: list[int] | None = None  # x, y, w, h
    error: str | None = None
    handled_ts: float = Field(default_factory=time.time)


class CameraMood(BaseModel):
    """A camera's smoothed mood as the capture service shows it (GET /v1/cameras/{id}/mood)."""
    camera_id: str
    mood: str | None = None   # one of MOODS, NO_FACE, or None before the first change
    since: float | None = None
    event_id: str | None = None
    last: FrameResult | None = None


class MoodEvent(BaseModel):
    event_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    camera_id: str
    mood: str  # one of MOODS or NO_FACE
    emotion: str | None = None
    confidence: float = 0.0
    probabilities: dict[str, float] = Field(default_factory=dict)
    frame_ts: float
    ts: float = Field(default_factory=time.time)

    def to_stream(self) -> dict[str, str]:
        return {
            "event_id": self.event_id,
            "camera_id": self.camera_id,
            "mood": self.mood,
            "emotion": self.emotion or "",
            "confidence": f"{self.confidence:.6f}",
            "probabilities": json.dumps(self.probabilities),
            "frame_ts": f"{self.frame_ts:.6f}",
            "ts": f"{self.ts:.6f}",
        }

    @classmethod
    def from_stream(cls, fields: dict) -> "MoodEvent":
        f = {_s(k): _s(v) for k, v in fields.items()}
        return cls(
            event_id=f["event_id"],
            camera_id=f["camera_id"],
            mood=f["mood"],
            emotion=f.get("emotion") or None,
            confidence=float(f.get("confidence") or 0.0),
            probabilities=json.loads(f.get("probabilities") or "{}"),
            frame_ts=float(f["frame_ts"]),
            ts=float(f["ts"]),
        )


class Track(BaseModel):
    artist: str
    title: str
    url: str
    uri: str | None = None


class PlayRecord(BaseModel):
    event_id: str
    camera_id: str
    mood: str
    mode: str
    tracks: list[Track] = Field(default_factory=list)
    status: Literal["ok", "error", "skipped"] = "ok"
    error: str = ""

    def to_stream(self) -> dict[str, str]:
        return {
            "event_id": self.event_id,
            "camera_id": self.camera_id,
            "mood": self.mood,
            "mode": self.mode,
            "tracks": json.dumps([t.model_dump() for t in self.tracks]),
            "status": self.status,
            "error": self.error,
        }

    @classmethod
    def from_stream(cls, fields: dict) -> "PlayRecord":
        f = {_s(k): _s(v) for k, v in fields.items()}
        return cls(
            event_id=f["event_id"], camera_id=f["camera_id"], mood=f["mood"], mode=f["mode"],
            tracks=[Track(**t) for t in json.loads(f.get("tracks") or "[]")],
            status=f.get("status", "ok"), error=f.get("error", ""),
        )


class Song(BaseModel):
    id: int
    artist: str
    title: str
    mood: str
    confidence: float


class Playlist(BaseModel):
    mood: str
    songs: list[Song]


def _s(v) -> str:
    return v.decode() if isinstance(v, bytes) else str(v)
