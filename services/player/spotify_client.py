"""spotipy against configurable Web API / accounts bases, with its retries off,
a timeout on every request, and Spotify's failures turned into clear errors.

spotipy's own retry sleeps inside the call on 429 (and hides Retry-After), so
the session here never retries: the caller gets RateLimited(retry_after) at
once and decides who waits.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from urllib.parse import urlparse

import requests
import spotipy
from requests.adapters import HTTPAdapter
from spotipy.cache_handler import CacheHandler, MemoryCacheHandler
from spotipy.exceptions import SpotifyException, SpotifyOauthError

from services.player.settings import PlayerSettings

# spotipy logs request headers (bearer tokens, client secrets) at DEBUG: keep it above that.
logging.getLogger("spotipy").setLevel(logging.WARNING)
log = logging.getLogger(__name__)

# play: start playback and list devices; playlist: create and fill private playlists.
USER_SCOPES = ("user-read-playback-state", "user-modify-playback-state", "user-read-private",
               "playlist-read-private", "playlist-modify-private", "playlist-modify-public")
LOGIN_HINT = "run `musicalface spotify login`"


class SpotifyError(Exception):
    """A Spotify failure explained in one line."""


class RateLimited(SpotifyError):
    def __init__(self, retry_after: float):
        self.retry_after = retry_after
        super().__init__(f"Spotify rate limit: retry after {retry_after:g} s")


class NoActiveDevice(SpotifyError):
    pass


class PremiumRequired(SpotifyError):
    pass


class MissingScope(SpotifyError):
    pass


class LoginExpired(SpotifyError):
    pass


class BadCredentials(SpotifyError):
    pass


class SpotifyUnavailable(SpotifyError):
    """Timeouts, refused connections, 5xx: worth another try later."""


def _session() -> requests.Session:
    s = requests.Session()
    adapter = HTTPAdapter(max_retries=0)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s


def _retry_after(headers) -> float:
    try:
        return max(0.0, float((headers or {}).get("Retry-After")))
    except (TypeError, ValueError):
        return 1.0  # Spotify always sends it; a missing one is still not a reason to hammer


def translate(err: Exception) -> Exception:
    """A spotipy/requests failure as one of the errors above (others unchanged)."""
    if isinstance(err, SpotifyError):
        return err
    if isinstance(err, SpotifyException):
        status, reason = err.http_status, (err.reason or "")
        text = (err.msg or "").split("\n", 1)[-1].strip()
        low = f"{text} {reason}".lower()
        if status == 429:
            return RateLimited(_retry_after(err.headers))
        if reason == "NO_ACTIVE_DEVICE" or (status == 404 and "device" in low):
            return NoActiveDevice("no active Spotify device: open Spotify on a phone, computer or speaker and play "
                                  "something once, or map the camera to a device in PLAYER_DEVICES")
        if reason == "PREMIUM_REQUIRED" or "premium" in low:
            return PremiumRequired("Spotify Premium is required to control playback; use PLAYER_MODE=playlist or "
                                   "resolve with a free account")
        if "scope" in low or "permissions missing" in low:
            return MissingScope(f"the Spotify login lacks a permission this needs ({text or reason}); {LOGIN_HINT} "
                                "again")
        if status == 401:
            return LoginExpired(f"the Spotify login has expired or was revoked; {LOGIN_HINT}")
        if status >= 500:
            return SpotifyUnavailable(f"Spotify answered {status}: {text or 'server error'}")
        return SpotifyError(f"Spotify answered {status}: {text or reason or 'error'}")
    if isinstance(err, SpotifyOauthError):
        code = getattr(err, "error", None) or ""
        if code == "invalid_client":
            return BadCredentials("Spotify rejected SPOTIPY_CLIENT_ID/SPOTIPY_CLIENT_SECRET")
        if code == "invalid_grant":
            return LoginExpired(f"the Spotify login has expired or was revoked; {LOGIN_HINT}")
        if code == "invalid_scope":
            return MissingScope(f"Spotify refused the permissions asked for; {LOGIN_HINT} again")
        return SpotifyUnavailable(f"Spotify accounts error: {code or 'no answer'}")
    if isinstance(err, requests.exceptions.Timeout):
        return SpotifyUnavailable("Spotify did not answer in time")
    if isinstance(err, requests.exceptions.RequestException):
        return SpotifyUnavailable(f"cannot reach Spotify ({type(err).__name__})")
    return err


class TokenFile(CacheHandler):
    """spotipy's token cache in one file, created 0600 (spotipy's own chmods after writing)."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def get_cached_token(self):
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            log.warning("cannot read the Spotify token cache at %s", self.path)
            return None

    def save_token_to_cache(self, token_info):
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(prefix=".token-", dir=self.path.parent)  # mkstemp files are 0600
        except OSError as e:  # a read-only cache: the refreshed token still works from memory
            log.warning("cannot save the Spotify login to %s (%s)", self.path, e.strerror)
            return
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(token_info, f)
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class StoredLogin(spotipy.SpotifyPKCE):
    """PKCE that only ever uses the stored login: a service must never stop for a browser prompt."""

    def get_authorization_code(self, response=None):
        if response:
            return super().get_authorization_code(response)
        cached = self.cache_handler.get_cached_token()
        if cached and not self._is_scope_subset(self.scope, cached.get("scope")):
            raise MissingScope(f"the stored Spotify login lacks permissions this mode needs; {LOGIN_HINT} again")
        raise LoginExpired(f"no Spotify login stored: {LOGIN_HINT} on this machine first")


def check_redirect_uri(uri: str) -> str:
    u = urlparse(uri)
    if u.scheme == "https":
        return uri
    if u.scheme == "http" and u.hostname in ("127.0.0.1", "::1"):
        if not u.port:
            raise ValueError(f"SPOTIPY_REDIRECT_URI {uri} needs a port, e.g. http://127.0.0.1:8888/callback")
        return uri
    raise ValueError(f"SPOTIPY_REDIRECT_URI {uri} must use a loopback IP address (http://127.0.0.1:PORT/...) "
                     "or https; Spotify no longer accepts localhost")


def _point(auth, settings: PlayerSettings):
    # Instance attributes shadow spotipy's class constants, so an emulator can stand in for Spotify.
    auth.OAUTH_TOKEN_URL = settings.spotify_accounts_base + "api/token"
    if hasattr(auth, "OAUTH_AUTHORIZE_URL"):
        auth.OAUTH_AUTHORIZE_URL = settings.spotify_accounts_base + "authorize"
    return auth


def client_credentials_auth(settings: PlayerSettings):
    if not (settings.spotipy_client_id and settings.spotipy_client_secret):
        raise BadCredentials("this needs SPOTIPY_CLIENT_ID and SPOTIPY_CLIENT_SECRET")
    auth = spotipy.SpotifyClientCredentials(
        client_id=settings.spotipy_client_id, client_secret=settings.client_secret(),
        requests_session=_session(), requests_timeout=settings.spotify_timeout_s, cache_handler=MemoryCacheHandler())
    return _point(auth, settings)


def user_auth(settings: PlayerSettings, *, interactive: bool = False, open_browser: bool = True):
    if not settings.spotipy_client_id:
        raise BadCredentials("this needs SPOTIPY_CLIENT_ID (the app's client id; PKCE needs no secret)")
    cls = spotipy.SpotifyPKCE if interactive else StoredLogin
    auth = cls(client_id=settings.spotipy_client_id, redirect_uri=check_redirect_uri(settings.spotipy_redirect_uri),
               scope=list(USER_SCOPES), requests_timeout=settings.spotify_timeout_s, requests_session=_session(),
               open_browser=open_browser, cache_handler=TokenFile(settings.spotify_token_cache))
    return _point(auth, settings)


class SpotifyApi:
    """The few Web API calls the player makes, each translated to the errors above."""

    def __init__(self, auth, settings: PlayerSettings):
        self.sp = spotipy.Spotify(auth_manager=auth, requests_session=_session(),
                                  requests_timeout=settings.spotify_timeout_s, retries=0, status_retries=0)
        self.sp.prefix = settings.spotify_api_base
        self.market = settings.spotify_market

    def _call(self, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (SpotifyException, SpotifyOauthError, requests.exceptions.RequestException) as e:
            raise translate(e) from None

    def search_tracks(self, query: str, limit: int = 10) -> list[dict]:
        res = self._call(self.sp.search, q=query, limit=min(limit, 10), type="track", market=self.market)
        return ((res or {}).get("tracks") or {}).get("items") or []

    def me(self) -> dict:
        return self._call(self.sp.me) or {}

    def devices(self) -> list[dict]:
        return (self._call(self.sp.devices) or {}).get("devices") or []

    def currently_playing_uri(self) -> str | None:
        res = self._call(self.sp.current_playback)
        return ((res or {}).get("item") or {}).get("uri")

    def start_playback(self, device_id: str | None, uris: list[str]) -> None:
        self._call(self.sp.start_playback, device_id=device_id, uris=uris)

    def my_playlists(self, limit: int = 50, offset: int = 0) -> dict:
        return self._call(self.sp.current_user_playlists, limit=limit, offset=offset) or {}

    def create_playlist(self, name: str, description: str) -> dict:
        return self._call(self.sp.current_user_playlist_create, name, public=False, description=description)

    def replace_items(self, playlist_id: str, uris: list[str]) -> None:
        self._call(self.sp.playlist_replace_items, playlist_id, uris)


def app_api(settings: PlayerSettings) -> SpotifyApi:
    return SpotifyApi(client_credentials_auth(settings), settings)


def user_api(settings: PlayerSettings) -> SpotifyApi:
    return SpotifyApi(user_auth(settings), settings)
