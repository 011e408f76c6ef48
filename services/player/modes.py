"""What the player does with a mood's songs: links, resolve, play or playlist.

Each mode splits into `tracks` (find the songs; no effect anyone hears, safe
to redo) and `act` (the effect: playback or a playlist). `already_done` lets a
player that was killed during `act` tell whether the effect happened.
"""
from __future__ import annotations

import logging
import time

from musicalface.contracts import Song, Track
from services.player.resolver import LinkResolver, TrackResolver
from services.player.settings import PlayerSettings
from services.player.spotify_client import NoActiveDevice, PremiumRequired, SpotifyError, app_api, user_api

log = logging.getLogger(__name__)


def playlist_name(mood: str) -> str:
    return f"Musical Face - {mood}"


def _uris(tracks: list[Track]) -> list[str]:
    uris = [t.uri for t in tracks if t.uri]
    if not uris:
        raise SpotifyError(f"none of the {len(tracks)} songs was found on Spotify")
    return uris


class LinksMode:
    name = "links"

    def __init__(self):
        self.resolver = LinkResolver()

    def tracks(self, songs: list[Song]) -> list[Track]:
        return [self.resolver.resolve(s.artist, s.title) for s in songs]

    def act(self, camera_id: str, mood: str, tracks: list[Track]) -> str:
        return ""

    def already_done(self, camera_id: str, mood: str, tracks: list[Track]) -> bool:
        return True

    def check(self) -> None:
        """Fail at start, not at the first face, when the set-up cannot work."""


class ResolveMode(LinksMode):
    name = "resolve"

    def __init__(self, resolver: TrackResolver):
        self.resolver = resolver


class PlayMode(ResolveMode):
    name = "play"
    ME_TTL_S = 600.0

    def __init__(self, api, resolver: TrackResolver, devices: dict[str, str]):
        super().__init__(resolver)
        self.api, self.devices = api, devices
        self._me: tuple[float, dict] | None = None

    def me(self) -> dict:
        if self._me is None or time.monotonic() - self._me[0] > self.ME_TTL_S:
            self._me = (time.monotonic(), self.api.me())
        return self._me[1]

    def check(self) -> None:
        if (self.me().get("product") or "premium") != "premium":
            raise PremiumRequired("Spotify Premium is required to control playback; use PLAYER_MODE=playlist or "
                                  "resolve with a free account")

    def _device(self, camera_id: str) -> dict:
        devices = self.api.devices()
        wanted = self.devices.get(camera_id)
        if wanted:
            for d in devices:
                if (d.get("name") or "").casefold() == wanted.casefold():
                    if d.get("is_restricted"):
                        raise NoActiveDevice(f"Spotify device {wanted!r} (camera {camera_id}) does not accept "
                                             "remote control")
                    return d
            seen = ", ".join(repr(d.get("name")) for d in devices) or "none"
            raise NoActiveDevice(f"Spotify device {wanted!r} for camera {camera_id} is not available (devices "
                                 f"seen: {seen}); open Spotify on it")
        for d in devices:
            if d.get("is_active"):
                return d
        raise NoActiveDevice("no active Spotify device: open Spotify on a phone, computer or speaker and play "
                             "something once, or map the camera to a device in PLAYER_DEVICES")

    def act(self, camera_id: str, mood: str, tracks: list[Track]) -> str:
        uris = _uris(tracks)
        if (self.me().get("product") or "premium") != "premium":
            raise PremiumRequired("Spotify Premium is required to control playback; use PLAYER_MODE=playlist or "
                                  "resolve with a free account")
        device = self._device(camera_id)
        self.api.start_playback(device.get("id"), uris)
        return f"playing {len(uris)} tracks on {device.get('name')!r}"

    def already_done(self, camera_id: str, mood: str, tracks: list[Track]) -> bool:
        # Killed after asking Spotify to play: if one of ours is on, asking again would restart it.
        return self.api.currently_playing_uri() in {t.uri for t in tracks if t.uri}


class PlaylistMode(PlayMode):
    name = "playlist"
    PAGES = 20

    def __init__(self, api, resolver: TrackResolver):
        super().__init__(api, resolver, {})
        self._ids: dict[str, str] = {}

    def _find(self, name: str) -> dict | None:
        me_id = self.me().get("id")
        for page in range(self.PAGES):
            res = self.api.my_playlists(limit=50, offset=page * 50)
            for p in res.get("items") or []:
                if p and p.get("name") == name and (p.get("owner") or {}).get("id") in (me_id, None):
                    return p
            if not res.get("next"):
                return None
        return None

    def act(self, camera_id: str, mood: str, tracks: list[Track]) -> str:
        uris = _uris(tracks)
        name = playlist_name(mood)
        pid = self._ids.get(name)
        url = None
        if pid is None:
            found = self._find(name)
            if found is None:
                found = self.api.create_playlist(name, f"Songs for a {mood} face, chosen by Musical Face.")
                log.info("created the Spotify playlist %r", name)
            pid = self._ids[name] = found["id"]
            url = (found.get("external_urls") or {}).get("spotify")
        # PUT replaces the items, so doing it twice leaves the same playlist.
        self.api.replace_items(pid, uris)
        url = url or f"https://open.spotify.com/playlist/{pid}"
        return f"playlist {name!r} has {len(uris)} tracks: {url}"

    def already_done(self, camera_id: str, mood: str, tracks: list[Track]) -> bool:
        return False  # act is idempotent: redoing it is safe

    def check(self) -> None:
        self.me()


def build_mode(settings: PlayerSettings, cache=None):
    m = settings.player_mode
    if m == "links":
        return LinksMode()
    if m == "resolve":
        return ResolveMode(TrackResolver(app_api(settings), cache))
    api = user_api(settings)
    # The user's own token can search too, so play/playlist need no client secret.
    resolver = TrackResolver(api, cache)
    if m == "play":
        return PlayMode(api, resolver, settings.player_devices)
    return PlaylistMode(api, resolver)
