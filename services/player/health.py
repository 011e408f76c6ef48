"""`musicalface player check`: the container health check of the player.
Healthy means Redis and the lyrics service answer."""
from __future__ import annotations


def problems(settings) -> list[str]:
    import httpx
    import redis

    out = []
    try:
        redis.Redis.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as e:
        out.append(f"Redis at {settings.redis_url.split('@')[-1]}: {e}")
    try:
        httpx.get(f"{settings.lyrics_url.rstrip('/')}/health", timeout=3).raise_for_status()
    except httpx.HTTPError as e:
        out.append(f"lyrics service at {settings.lyrics_url}: {e}")
    return out


def check(args) -> int:
    from musicalface.health import report
    from services.player.settings import load_settings

    return report(problems(load_settings()))
