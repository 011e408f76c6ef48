"""`musicalface spotify login`: the user's Spotify login, once, on the user's machine.

Authorization Code with PKCE (no client secret on the machine); the token and
its refresh token go to SPOTIFY_TOKEN_CACHE (0600), where the player finds
them and refreshes them as needed.
"""
from __future__ import annotations

import secrets
import webbrowser
from urllib.parse import urlparse

from spotipy.oauth2 import start_local_http_server

from services.player.settings import PlayerSettings, load_settings
from services.player.spotify_client import LoginExpired, SpotifyApi, SpotifyError, translate, user_auth

BROWSER_WAIT_S = 300


def _code_from_browser(auth, url: str, out) -> tuple[str | None, str | None]:
    port = urlparse(auth.redirect_uri).port
    server = start_local_http_server(port)
    server.timeout = BROWSER_WAIT_S
    server.state = None
    try:
        out(f"Opening a browser to log in to Spotify. If none opens, visit:\n  {url}")
        webbrowser.open(url)
        server.handle_request()  # the one redirect back from Spotify, or the timeout
    finally:
        server.server_close()
    if server.error is not None:
        raise LoginExpired(f"Spotify refused the login: {getattr(server.error, 'error', None) or server.error}")
    return server.state, server.auth_code


def _code_from_paste(auth, url: str, out, read_line) -> tuple[str | None, str | None]:
    out(f"Open this address in a browser and log in to Spotify:\n  {url}")
    out("Then paste the whole address the browser was sent to (it starts with "
        f"{auth.redirect_uri}):")
    pasted = (read_line() or "").strip()
    try:
        return auth.parse_auth_response_url(pasted)
    except Exception as e:
        raise LoginExpired(f"Spotify refused the login: {translate(e)}") from None


def login(settings: PlayerSettings, *, open_browser: bool = True, out=print, read_line=input) -> dict:
    """Logs in, stores the token, and returns the Spotify profile it belongs to."""
    state = secrets.token_urlsafe(16)
    auth = user_auth(settings, interactive=True, open_browser=open_browser)
    auth.state = state
    url = auth.get_authorize_url(state=state)
    if open_browser:
        got_state, code = _code_from_browser(auth, url, out)
    else:
        got_state, code = _code_from_paste(auth, url, out, read_line)
    if not code:
        raise LoginExpired("no login came back from Spotify; run `musicalface spotify login` again")
    if got_state != state:
        raise LoginExpired("the login answer does not belong to this login attempt (state differs); try again")
    try:
        auth.get_access_token(code=code, check_cache=False)
    except SpotifyError:
        raise
    except Exception as e:
        raise translate(e) from None
    me = SpotifyApi(user_auth(settings), settings).me()
    return me


def login_command(args) -> int:
    s = load_settings()
    me = login(s, open_browser=not args.no_browser)
    product = me.get("product") or "unknown"
    print(f"Logged in to Spotify as {me.get('display_name') or me.get('id')} ({product} account).")
    print(f"The login is kept in {s.spotify_token_cache} (readable by you only).")
    if product != "premium":
        print("Playback control (PLAYER_MODE=play) needs Premium; PLAYER_MODE=playlist works with this account.")
    return 0
