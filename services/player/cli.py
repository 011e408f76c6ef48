"""`musicalface player run` and `musicalface spotify login`."""
from __future__ import annotations

import logging
import signal

log = logging.getLogger(__name__)


def add_commands(sub) -> None:
    p = sub.add_parser("player", help="play songs for the moods that cameras see")
    psub = p.add_subparsers(dest="player_command", metavar="SUBCOMMAND", required=True)
    run = psub.add_parser("run", help="consume the `moods` stream and drive Spotify (PLAYER_MODE)")
    run.set_defaults(func=run_command)
    check = psub.add_parser("check", help="health check: Redis and the lyrics service answer (exit 0 when healthy)")
    check.set_defaults(func=_check)

    s = sub.add_parser("spotify", help="Spotify account set-up")
    ssub = s.add_subparsers(dest="spotify_command", metavar="SUBCOMMAND", required=True)
    login = ssub.add_parser("login", help="log in to Spotify once (for PLAYER_MODE=play or playlist)")
    login.add_argument("--no-browser", action="store_true",
                       help="print the login address and read the answer pasted back, instead of opening a browser")
    login.set_defaults(func=_login)


def _check(args) -> int:
    from services.player.health import check as run_check

    return run_check(args)


def _login(args) -> int:
    from services.player.login import login_command

    return login_command(args)


def build_player(settings=None):
    import redis

    from services.player.consumer import Player
    from services.player.modes import build_mode
    from services.player.search_cache import SearchCache
    from services.player.settings import load_settings
    from services.player.songs import SongSource

    s = settings or load_settings()
    # The read blocks for player_block_ms; the socket must wait longer than that.
    r = redis.Redis.from_url(s.redis_url, socket_connect_timeout=5,
                             socket_timeout=s.player_block_ms / 1000 + 10, health_check_interval=30)
    cache = SearchCache(r, s.search_cache_hit_ttl_s, s.search_cache_miss_ttl_s)
    return Player(s, r, build_mode(s, cache), SongSource(s.lyrics_url, s.lyrics_timeout_s))


def check_mode(mode) -> None:
    from services.player.spotify_client import RateLimited, SpotifyUnavailable

    try:
        mode.check()
    except (SpotifyUnavailable, RateLimited) as e:
        log.warning("cannot check the Spotify set-up now (%s); going on", e)


def run_command(args) -> int:
    player = build_player()
    check_mode(player.mode)
    signal.signal(signal.SIGTERM, lambda *_: player.stop())
    player.run()
    log.info("player stopped")
    return 0
