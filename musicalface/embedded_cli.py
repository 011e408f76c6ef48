"""`musicalface run`: the whole flow in one process, no servers.
Photo (or webcam) -> expression -> mood -> 10 songs from the catalog -> Spotify links."""
from __future__ import annotations

import time

from musicalface.paths import ASSETS_DIR

DEFAULT_PHOTO = ASSETS_DIR / "astronaut.jpg"
CAMERA_TIMEOUT_S = 15.0


def add_commands(sub) -> None:
    p = sub.add_parser("run", help="photo or webcam -> mood -> 10 songs (embedded, no servers)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--image", help=f"a photo (default: {DEFAULT_PHOTO.name}, shipped with the package)")
    src.add_argument("--camera", type=int, metavar="N", help="read from webcam N until a face is seen")
    p.add_argument("--limit", type=int, default=10, help="songs to pick (1..50)")
    p.add_argument("--seed", type=int, help="repeatable song pick")
    p.set_defaults(func=run)


def read_camera(reader, index: int):
    import cv2

    cap = cv2.VideoCapture(index)
    if not cap.isOpened():
        raise RuntimeError(f"cannot open camera {index}")
    try:
        deadline = time.monotonic() + CAMERA_TIMEOUT_S
        reading = None
        while time.monotonic() < deadline:
            ok, frame = cap.read()
            if not ok:
                raise RuntimeError(f"camera {index} gave no frame")
            reading = reader.read_grey(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY), f"camera {index}")
            if reading.emotion:
                break
        return reading
    finally:
        cap.release()


def song_links(songs):
    """Track links when Spotify keys are set, else Spotify search links; a song
    Spotify cannot find, or a Spotify error, falls back to its search link."""
    from services.player.resolver import resolver_from_settings

    resolver = resolver_from_settings()
    return [resolver.resolve_or_link(s.artist, s.title).url for s in songs]


def run(args) -> int:
    from services.emotion.cli import format_reading, make_reader
    from services.lyrics.embedded import embedded_playlist

    if not 1 <= args.limit <= 50:
        raise ValueError("--limit must be between 1 and 50")
    t0 = time.perf_counter()
    reader = make_reader()
    if args.camera is not None:
        reading = read_camera(reader, args.camera)
    else:
        reading = reader.read_file(args.image or DEFAULT_PHOTO)
    print(format_reading(reading))
    if reading.error:
        return 1
    if reading.emotion is None:
        print("No face found, so no songs: try a photo where the face is clear and frontal.")
        return 1
    playlist = embedded_playlist(reading.mood, limit=args.limit, seed=args.seed)
    print(f"\nHey {reading.mood} face, these are your songs:")
    for i, (song, url) in enumerate(zip(playlist.songs, song_links(playlist.songs)), 1):
        print(f"{i:3d}. {song.artist} - {song.title}\n     {url}")
    print(f"\nTime taken: {time.perf_counter() - t0:.2f} s")
    return 0
