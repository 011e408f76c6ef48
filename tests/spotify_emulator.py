"""A small Spotify Web API + accounts emulator on loopback, for the player tests.

It speaks HTTP like Spotify on the endpoints the player uses, keeps real
state (tokens, devices, playback, playlists), checks scopes, Premium and
PKCE, and records every request so tests can assert what went out. Switches
inject 429s (with Retry-After) and expire tokens.
"""
from __future__ import annotations

import base64
import csv
import hashlib
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlparse


def _words(s: str) -> list[str]:
    return re.sub(r"[^\w]+", " ", s.casefold()).split()


@dataclass
class Req:
    method: str
    path: str
    query: dict
    body: object
    status: int = 0
    t: float = field(default_factory=time.monotonic)


@dataclass
class User:
    id: str
    product: str = "premium"
    devices: list = field(default_factory=list)
    playback: dict | None = None


@dataclass
class RateRule:
    path_re: str
    times: int
    retry_after: int
    match: object = None  # callable(Req) -> bool


class SpotifyEmulator:
    def __init__(self, catalog: list[dict], client_id: str = "emu-client", client_secret: str = "emu-secret"):
        self.catalog = catalog
        self.client_id, self.client_secret = client_id, client_secret
        self.users: dict[str, User] = {"alice": User("alice")}
        self.login_as = "alice"
        self.tokens: dict[str, dict] = {}   # access token -> {user, scope, expires}
        self.refresh: dict[str, dict] = {}  # refresh token -> {user, scope}
        self.codes: dict[str, dict] = {}
        self.playlists: dict[str, dict] = {}
        self.requests: list[Req] = []
        self.rate_rules: list[RateRule] = []
        self.grant_scopes: str | None = None  # None: what was asked for
        self.token_ttl = 3600
        self.lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None

    # --- switches -----------------------------------------------------------
    def rate_limit(self, path_re: str, times: int = 1, retry_after: int = 1, match=None) -> None:
        self.rate_rules.append(RateRule(path_re, times, retry_after, match))

    def expire_access_tokens(self) -> None:
        with self.lock:
            for t in self.tokens.values():
                t["expires"] = 0

    def revoke_refresh_tokens(self) -> None:
        with self.lock:
            self.refresh.clear()

    def add_device(self, user: str, name: str, active: bool = False, restricted: bool = False) -> dict:
        d = {"id": f"dev-{secrets.token_hex(6)}", "name": name, "type": "Speaker", "is_active": active,
             "is_restricted": restricted, "is_private_session": False, "volume_percent": 50,
             "supports_volume": True}
        self.users[user].devices.append(d)
        return d

    def calls(self, method: str | None = None, path: str | None = None) -> list[Req]:
        with self.lock:
            return [r for r in self.requests if (method is None or r.method == method)
                    and (path is None or re.fullmatch(path, r.path))]

    # --- server -------------------------------------------------------------
    def start(self) -> "SpotifyEmulator":
        emu = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else headers and body wait on a delayed ACK (40 ms)

            def log_message(self, *a):
                pass

            def _do(self):
                emu._dispatch(self)

            do_GET = do_POST = do_PUT = do_DELETE = _do

        self._server = _QuietServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/"

    @property
    def api_base(self) -> str:
        return self.base + "v1/"

    # --- HTTP ---------------------------------------------------------------
    def _dispatch(self, h: BaseHTTPRequestHandler) -> None:
        u = urlparse(h.path)
        query = dict(parse_qsl(u.query, keep_blank_values=True))
        n = int(h.headers.get("Content-Length") or 0)
        raw = h.rfile.read(n) if n else b""
        ctype = h.headers.get("Content-Type") or ""
        if "x-www-form-urlencoded" in ctype:
            body = dict(parse_qsl(raw.decode()))
        else:
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode(errors="replace")
        path = u.path.rstrip("/") or "/"  # spotipy asks for "me/"; Spotify takes both
        req = Req(h.command, path, query, body)
        with self.lock:
            self.requests.append(req)
            rule = next((r for r in self.rate_rules if r.times > 0 and re.fullmatch(r.path_re, path)
                         and (r.match is None or r.match(req))), None)
            if rule:
                rule.times -= 1
        if rule:
            status, payload, headers = 429, {"error": {"status": 429, "message": "API rate limit exceeded"}}, \
                {"Retry-After": str(rule.retry_after)}
        else:
            try:
                status, payload, headers = self._route(h, req)
            except _Fail as f:
                status, payload, headers = f.status, f.payload, {}
        req.status = status
        data = b"" if payload is None else json.dumps(payload).encode()
        h.send_response(status)
        for k, v in headers.items():
            h.send_header(k, v)
        if payload is not None:
            h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def _route(self, h, req: Req):
        p, m = req.path, req.method
        if p == "/authorize" and m == "GET":
            return self._authorize(req)
        if p == "/api/token" and m == "POST":
            return self._token(h, req)
        if not p.startswith("/v1/"):
            raise _Fail(404, {"error": {"status": 404, "message": "Service not found"}})
        tok = self._bearer(h)
        if p == "/v1/search" and m == "GET":
            return self._search(req)
        user = self._user(tok)
        if p == "/v1/me" and m == "GET":
            return 200, {"id": user.id, "display_name": user.id.title(), "product": user.product,
                         "country": "SE", "type": "user", "uri": f"spotify:user:{user.id}"}, {}
        if p == "/v1/me/player/devices" and m == "GET":
            self._need(tok, "user-read-playback-state")
            return 200, {"devices": [dict(d) for d in user.devices]}, {}
        if p == "/v1/me/player" and m == "GET":
            self._need(tok, "user-read-playback-state")
            return (204, None, {}) if not user.playback else (200, user.playback, {})
        if p == "/v1/me/player/play" and m == "PUT":
            return self._play(tok, user, req)
        if p == "/v1/me/playlists" and m == "POST":
            self._need(tok, "playlist-modify-private" if not (req.body or {}).get("public") else
                       "playlist-modify-public")
            return self._create_playlist(user, req.body or {})
        if p == "/v1/me/playlists" and m == "GET":
            self._need(tok, "playlist-read-private")
            return self._list_playlists(user, req)
        mm = re.fullmatch(r"/v1/playlists/([^/]+)/items", p)
        if mm and m in ("PUT", "POST"):
            self._need(tok, "playlist-modify-private")
            return self._items(user, mm.group(1), m, req)
        raise _Fail(404, {"error": {"status": 404, "message": "Service not found"}})

    # --- accounts -------------------------------------------------------------
    def _authorize(self, req: Req):
        q = req.query
        if q.get("client_id") != self.client_id:
            raise _Fail(400, {"error": "invalid_client"})
        if q.get("code_challenge_method") != "S256" or not q.get("code_challenge"):
            raise _Fail(400, {"error": "invalid_request", "error_description": "code_challenge required"})
        code = secrets.token_urlsafe(24)
        scope = self.grant_scopes if self.grant_scopes is not None else q.get("scope", "")
        self.codes[code] = {"user": self.login_as, "scope": scope, "challenge": q["code_challenge"],
                            "redirect_uri": q.get("redirect_uri")}
        back = {"code": code}
        if "state" in q:
            back["state"] = q["state"]
        return 302, None, {"Location": f"{q.get('redirect_uri')}?{urlencode(back)}"}

    def _issue(self, user: str | None, scope: str, refresh: str | None = None) -> dict:
        access = "emu-at-" + secrets.token_urlsafe(18)
        self.tokens[access] = {"user": user, "scope": set(scope.split()), "expires": time.time() + self.token_ttl}
        out = {"access_token": access, "token_type": "Bearer", "expires_in": self.token_ttl, "scope": scope}
        if user is not None:
            refresh = refresh or "emu-rt-" + secrets.token_urlsafe(18)
            self.refresh[refresh] = {"user": user, "scope": scope}
            out["refresh_token"] = refresh
        return out

    def _token(self, h, req: Req):
        f = req.body if isinstance(req.body, dict) else {}
        grant = f.get("grant_type")
        with self.lock:
            if grant == "client_credentials":
                auth = h.headers.get("Authorization") or ""
                try:
                    cid, _, secret = base64.b64decode(auth.split(" ", 1)[1]).decode().partition(":")
                except (IndexError, ValueError):
                    cid, secret = "", ""
                if (cid, secret) != (self.client_id, self.client_secret):
                    raise _Fail(400, {"error": "invalid_client", "error_description": "Invalid client"})
                out = self._issue(None, "")
                out.pop("scope")
                return 200, out, {}
            if f.get("client_id") != self.client_id:
                raise _Fail(400, {"error": "invalid_client", "error_description": "Invalid client"})
            if grant == "authorization_code":
                c = self.codes.pop(f.get("code", ""), None)
                if c is None or c["redirect_uri"] != f.get("redirect_uri"):
                    raise _Fail(400, {"error": "invalid_grant", "error_description": "Invalid authorization code"})
                digest = hashlib.sha256((f.get("code_verifier") or "").encode()).digest()
                if base64.urlsafe_b64encode(digest).decode().rstrip("=") != c["challenge"]:
                    raise _Fail(400, {"error": "invalid_grant", "error_description": "code_verifier was incorrect"})
                return 200, self._issue(c["user"], c["scope"]), {}
            if grant == "refresh_token":
                r = self.refresh.get(f.get("refresh_token", ""))
                if r is None:
                    raise _Fail(400, {"error": "invalid_grant", "error_description": "Refresh token revoked"})
                out = self._issue(r["user"], r["scope"], refresh=f["refresh_token"])
                out.pop("refresh_token")  # Spotify may omit it; the old one stays valid
                return 200, out, {}
        raise _Fail(400, {"error": "unsupported_grant_type"})

    # --- Web API --------------------------------------------------------------
    def _bearer(self, h) -> dict:
        auth = h.headers.get("Authorization") or ""
        tok = self.tokens.get(auth[7:]) if auth.startswith("Bearer ") else None
        if tok is None:
            raise _Fail(401, {"error": {"status": 401, "message": "Invalid access token"}})
        if tok["expires"] < time.time():
            raise _Fail(401, {"error": {"status": 401, "message": "The access token expired"}})
        return tok

    def _user(self, tok) -> User:
        if tok["user"] is None:
            raise _Fail(401, {"error": {"status": 401, "message": "Valid user authentication required"}})
        return self.users[tok["user"]]

    @staticmethod
    def _need(tok, scope: str) -> None:
        if scope not in tok["scope"]:
            raise _Fail(403, {"error": {"status": 403, "message": "Insufficient client scope"}})

    def _search(self, req: Req):
        q = req.query
        try:
            limit = int(q.get("limit", 20))
        except ValueError:
            limit = -1
        if not 0 <= limit <= 10:
            raise _Fail(400, {"error": {"status": 400, "message": "Invalid limit"}})
        if q.get("type") != "track":
            raise _Fail(400, {"error": {"status": 400, "message": "Unsupported type"}})
        text = q.get("q", "")
        fields = dict(re.findall(r'(track|artist):"([^"]*)"', text))
        free = re.sub(r'(track|artist):"[^"]*"', " ", text)
        hits = []
        for t in self.catalog:
            name_w, artist_w = set(_words(t["name"])), set(w for a in t["artists"] for w in _words(a["name"]))
            if "track" in fields and not set(_words(fields["track"])) <= name_w:
                continue
            if "artist" in fields and not set(_words(fields["artist"])) <= artist_w:
                continue
            if not set(_words(free)) <= name_w | artist_w:
                continue
            hits.append(t)
        hits.sort(key=lambda t: -t.get("popularity", 0))
        off = int(q.get("offset", 0))
        return 200, {"tracks": {"items": hits[off:off + limit], "limit": limit, "offset": off, "total": len(hits),
                                "next": None, "href": ""}}, {}

    def _play(self, tok, user: User, req: Req):
        self._need(tok, "user-modify-playback-state")
        if user.product != "premium":
            raise _Fail(403, {"error": {"status": 403, "message": "Player command failed: Premium required",
                                        "reason": "PREMIUM_REQUIRED"}})
        dev_id = req.query.get("device_id")
        if dev_id:
            dev = next((d for d in user.devices if d["id"] == dev_id), None)
            if dev is None:
                raise _Fail(404, {"error": {"status": 404, "message": "Device not found"}})
        else:
            dev = next((d for d in user.devices if d["is_active"]), None)
            if dev is None:
                raise _Fail(404, {"error": {"status": 404, "message": "Player command failed: No active device found",
                                            "reason": "NO_ACTIVE_DEVICE"}})
        if dev["is_restricted"]:
            raise _Fail(403, {"error": {"status": 403, "message": "Player command failed: Restriction violated",
                                        "reason": "UNKNOWN"}})
        uris = (req.body or {}).get("uris") or []
        for d in user.devices:
            d["is_active"] = d is dev
        by_uri = {t["uri"]: t for t in self.catalog}
        user.playback = {"device": dict(dev), "is_playing": True, "progress_ms": 0, "uris": uris,
                         "item": by_uri.get(uris[0]) if uris else None}
        return 204, None, {}

    def _create_playlist(self, user: User, body: dict):
        pid = secrets.token_hex(11)
        pl = {"id": pid, "name": body.get("name"), "description": body.get("description", ""),
              "public": bool(body.get("public")), "owner": {"id": user.id}, "uri": f"spotify:playlist:{pid}",
              "external_urls": {"spotify": f"https://open.spotify.com/playlist/{pid}"}, "uris": []}
        self.playlists[pid] = pl
        return 201, _public(pl), {}

    def _list_playlists(self, user: User, req: Req):
        limit, off = int(req.query.get("limit", 20)), int(req.query.get("offset", 0))
        if not 1 <= limit <= 50:
            raise _Fail(400, {"error": {"status": 400, "message": "Invalid limit"}})
        mine = [_public(p) for p in self.playlists.values() if p["owner"]["id"] == user.id]
        nxt = f"{self.api_base}me/playlists?offset={off + limit}&limit={limit}" if off + limit < len(mine) else None
        return 200, {"items": mine[off:off + limit], "total": len(mine), "limit": limit, "offset": off,
                     "next": nxt}, {}

    def _items(self, user: User, pid: str, method: str, req: Req):
        pl = self.playlists.get(pid)
        if pl is None:
            raise _Fail(404, {"error": {"status": 404, "message": "Resource not found"}})
        if pl["owner"]["id"] != user.id:
            raise _Fail(403, {"error": {"status": 403, "message": "You cannot add tracks to a playlist you don't own."}})
        uris = (req.body or {}).get("uris") or []
        pl["uris"] = list(uris) if method == "PUT" else pl["uris"] + list(uris)
        return (200 if method == "PUT" else 201), {"snapshot_id": secrets.token_hex(8)}, {}


def _public(pl: dict) -> dict:
    out = {k: v for k, v in pl.items() if k != "uris"}
    out["items"] = {"total": len(pl["uris"])}
    return out


class _Fail(Exception):
    def __init__(self, status: int, payload: dict):
        self.status, self.payload = status, payload


def track(tid: str, name: str, artists: list[str], popularity: int = 50) -> dict:
    return {"id": tid, "name": name, "uri": f"spotify:track:{tid}", "popularity": popularity,
            "artists": [{"name": a, "id": f"art-{_words(a)[0] if _words(a) else 'x'}"} for a in artists],
            "external_urls": {"spotify": f"https://open.spotify.com/track/{tid}"}, "type": "track"}


def catalog_from_csv(path: Path) -> list[dict]:
    """Tracks from spotify_moods.csv (real ids, names, artists), read at test time."""
    with open(path, newline="", encoding="utf-8") as f:
        return [track(r["id"], r["name"], [r["artist"]], int(r["popularity"] or 0)) for r in csv.DictReader(f)]


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        # A player killed mid-request (the tests do that) is not an error here.
        import sys

        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)
