"""Per-camera mood smoothing: the rule itself, and its state in the real Redis
shared by racing workers."""
import itertools
import json
import threading

import pytest
import redis

from musicalface.contracts import (EXPRESSIONS, MOODS_STREAM, NO_FACE, FrameResult, MoodEvent, camera_state_key,
                                   live_channel, mood_of)
from services.emotion.smoothing import MoodSmoother, SmoothingParams, new_state, observe, read_mood

_ids = itertools.count()
PARAMS = SmoothingParams(window_s=1.0, min_frames=3, min_share=0.6, min_confidence=0.5, min_dwell_s=0.5)


def frame(ts, emotion=None, p=0.9, camera="cam", error=None):
    """A frame result at time ts: `emotion` with probability p, no face when None."""
    base = dict(frame_id=f"f{next(_ids)}", camera_id=camera, frame_ts=ts)
    if error:
        return FrameResult(**base, error=error)
    if emotion is None:
        return FrameResult(**base, label=NO_FACE)
    rest = (1 - p) / (len(EXPRESSIONS) - 1)
    probs = {e: (p if e == emotion else rest) for e in EXPRESSIONS}
    return FrameResult(**base, label=mood_of(emotion), emotion=emotion, confidence=p, probabilities=probs)


def run(frames, params=PARAMS):
    state, events = new_state("cam"), []
    for f in frames:
        got = observe(state, f, params)
        if got:
            events.append((f.frame_ts, got))
    return state, events


def stream(emotion, start, stop, fps=10, p=0.9):
    return [frame(start + i / fps, emotion, p) for i in range(round((stop - start) * fps))]


def test_a_held_mood_changes_once_after_frames_share_and_dwell():
    state, events = run(stream("Happy", 0, 3))
    assert [e.mood for _, e in events] == ["happy"]
    ts, ev = events[0]
    # 3 frames to qualify (0.0, 0.1, 0.2), then 0.5 s of dwell
    assert ts == pytest.approx(0.7)
    assert ev.emotion == "Happy" and ev.confidence == pytest.approx(0.9)
    assert ev.probabilities["Happy"] == pytest.approx(0.9)
    assert state["mood"] == "happy" and state["since"] == pytest.approx(0.7)


def test_short_blips_do_not_flip_the_mood():
    frames = stream("Happy", 0, 2)
    frames += [frame(2.0 + i / 10, "Angry") for i in range(3)]  # 0.3 s of anger: qualifies, does not dwell
    frames += stream("Happy", 2.3, 4)
    frames += [frame(4.0 + i / 10, None) for i in range(2)]       # 2 frames without a face
    frames += stream("Happy", 4.2, 5)
    _, events = run(frames)
    assert [e.mood for _, e in events] == ["happy"]


def test_low_confidence_never_changes_the_mood():
    _, events = run(stream("Sad", 0, 3, p=0.3) + stream("Sad", 3, 5, p=0.6))
    # Sad + Fear make the mood sad: 0.42 at p=0.3, under 0.5, for 3 s. At p=0.6 (0.67) the window's
    # mean passes 0.5 at 3.3 s, when 4 of its 10 frames are confident; then 0.5 s of dwell.
    assert [(e.mood, round(ts, 1)) for ts, e in events] == [("sad", 3.8)]


def test_no_face_is_a_state_of_its_own():
    frames = stream("Surprise", 0, 2) + [frame(2 + i / 10, None) for i in range(20)] + stream("Neutral", 4, 6)
    _, events = run(frames)
    assert [e.mood for _, e in events] == ["relaxed", NO_FACE, "relaxed"]
    none_event = events[1][1]
    assert none_event.emotion is None and none_event.probabilities == {} and none_event.confidence >= 0.6


def test_late_frames_decide_nothing_but_count_and_unreadable_frames_weigh_nothing():
    state = new_state("cam")
    assert observe(state, frame(5.0, "Happy"), PARAMS) is None
    assert observe(state, frame(3.0, "Sad"), PARAMS) is False     # late and older than the window
    assert observe(state, frame(4.5, "Angry"), PARAMS) is False   # late, within the window: merged
    assert observe(state, frame(5.0, "Angry"), PARAMS) is False   # same time as one counted: a replay
    assert observe(state, frame(5.1, error="corrupt JPEG: could not be decoded"), PARAMS) is None
    assert [(e[0], e[1]) for e in state["window"]] == [(4.5, "angry"), (5.0, "happy")]
    assert state["last"]["error"] == "corrupt JPEG: could not be decoded" and state["last_ts"] == 5.1


def test_overtaken_frames_still_count_without_deciding():
    """Frames 0.0-0.3 arrive after 0.4 (a worker overtook them): the change comes with the
    next frame in order, at 0.5, decided by all six; a late frame never made it."""
    params = SmoothingParams(window_s=1.0, min_frames=5, min_share=0.6, min_confidence=0.5, min_dwell_s=0)
    state, events = run([frame(0.4, "Happy")] + [frame(t, "Happy") for t in (0.0, 0.1, 0.2, 0.3)]
                        + [frame(0.5, "Happy")], params)
    assert [(ts, e.mood) for ts, e in events] == [(0.5, "happy")]
    assert len(state["window"]) == 6


def test_the_event_names_an_expression_of_its_mood():
    # Fear 0.45 + Sad 0.35: the mood is sad; the likeliest expression of it is Fear
    probs = {"Angry": 0.05, "Disgust": 0.0, "Fear": 0.45, "Happy": 0.1, "Sad": 0.35, "Surprise": 0.0, "Neutral": 0.05}
    frames = [FrameResult(frame_id=f"x{i}", camera_id="cam", frame_ts=i / 10, label="sad", emotion="Fear",
                          confidence=0.45, probabilities=probs) for i in range(12)]
    _, events = run(frames)
    (ts, ev), = events
    assert ev.mood == "sad" and ev.emotion == "Fear" and ev.confidence == pytest.approx(0.8)


def test_state_and_events_in_redis(redis_client):
    smoother = MoodSmoother(redis_client, PARAMS)
    sub = redis_client.pubsub()
    sub.subscribe(live_channel("cam"))
    sub.get_message(timeout=1)  # the subscribe confirmation
    first = smoother.apply("cam", stream("Happy", 0, 1.5))
    assert [e.mood for e in first.events] == ["happy"] and first.handled == 15 and first.late == 0
    again = smoother.apply("cam", stream("Happy", 0.5, 1.0))
    assert again.late == 5 and again.handled == 0 and not again.events
    live_count = 20  # late frames are published too

    (entry_id, fields), = redis_client.xrange(MOODS_STREAM)
    assert {k.decode() for k in fields} == {"event_id", "camera_id", "mood", "emotion", "confidence",
                                            "probabilities", "frame_ts", "ts"}
    ev = MoodEvent.from_stream(fields)
    assert ev.event_id == first.events[0].event_id and ev.mood == "happy" and ev.camera_id == "cam"
    assert set(json.loads(fields[b"probabilities"])) == set(EXPRESSIONS)
    assert ev.ts >= ev.frame_ts

    mood = read_mood(redis_client, "cam")
    assert mood.mood == "happy" and mood.event_id == ev.event_id and mood.last.frame_ts == pytest.approx(1.4)
    assert 0 < redis_client.ttl(camera_state_key("cam")) <= smoother.state_ttl_s
    live = [sub.get_message(timeout=1) for _ in range(live_count)]
    assert [json.loads(m["data"])["frame_ts"] for m in live] == pytest.approx(
        [i / 10 for i in range(15)] + [0.5 + i / 10 for i in range(5)])
    sub.close()


def test_racing_workers_give_one_event_per_change(redis_url, redis_client):
    """Four threads, each its own Redis connection, fold interleaved slices of one camera's
    frames at once. Whatever order they land in, each change is one event and the mood
    never goes back."""
    frames = stream("Happy", 0, 3) + stream("Angry", 3, 6) + stream("Neutral", 6, 9)
    slices = [frames[i::4] for i in range(4)]
    barrier = threading.Barrier(4)
    applied = []

    def worker(part):
        conn = redis.Redis.from_url(redis_url)
        smoother = MoodSmoother(conn, PARAMS)
        barrier.wait()
        for i in range(0, len(part), 3):
            applied.append(smoother.apply("cam", part[i:i + 3]))
        conn.close()

    threads = [threading.Thread(target=worker, args=(s,)) for s in slices]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    events = [MoodEvent.from_stream(f) for _, f in redis_client.xrange(MOODS_STREAM)]
    moods = [e.mood for e in events]
    assert moods == sorted(set(moods), key=moods.index), f"a mood came back: {moods}"
    assert all(b.frame_ts > a.frame_ts for a, b in zip(events, events[1:]))
    assert sum(a.handled + a.late for a in applied) == len(frames)
    assert len(events) == sum(len(a.events) for a in applied)
    assert read_mood(redis_client, "cam").mood == (moods[-1] if moods else None)
