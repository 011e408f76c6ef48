"""Songs (artist, title) to Spotify tracks: strict field search, then a looser one, cached."""
from __future__ import annotations

import logging

from musicalface.contracts import Track
from services.player.links import search_link, track_link
from services.player.search_cache import MemorySearchCache
from services.player.title_match import best_match, clean_title, primary_artist

log = logging.getLogger(__name__)
SEARCH_LIMIT = 10  # Spotify's cap on /search since 2026


def _field(s: str) -> str:
    # a quote inside a field query would end it early
    return " ".join(s.replace('"', " ").split())


def strict_query(artist: str, title: str) -> str:
    return f'track:"{_field(clean_title(title))}" artist:"{_field(primary_artist(artist))}"'


def loose_query(artist: str, title: str) -> str:
    return f"{_field(clean_title(title))} {_field(primary_artist(artist))}"


class LinkResolver:
    """No keys: every song becomes a Spotify search link."""

    def resolve(self, artist: str, title: str) -> Track:
        return Track(artist=artist, title=title, url=search_link(artist, title), uri=None)

    resolve_or_link = resolve


class TrackResolver:
    """Finds each song on Spotify once; what was found, or not, goes to the cache."""

    def __init__(self, api, cache=None):
        self.api = api  # spotify_client.SpotifyApi (anything with search_tracks(query, limit))
        self.cache = cache if cache is not None else MemorySearchCache()

    def resolve(self, artist: str, title: str) -> Track:
        entry = self.cache.get(artist, title)
        if entry is not None:
            return entry.track or LinkResolver().resolve(artist, title)
        track = self._search(artist, title)
        self.cache.put(artist, title, track)
        return track or LinkResolver().resolve(artist, title)

    def resolve_or_link(self, artist: str, title: str) -> Track:
        """resolve(), but a Spotify failure (429, timeout, bad keys) gives the search link instead of raising:
        for callers with no retry of their own. Nothing is cached then, so a later call searches again."""
        from services.player.spotify_client import SpotifyError

        try:
            return self.resolve(artist, title)
        except SpotifyError as e:
            log.warning("Spotify lookup of %s - %s failed (%s); giving a search link", artist, title, e)
            return LinkResolver().resolve(artist, title)

    def _search(self, artist: str, title: str) -> Track | None:
        queries = [strict_query(artist, title)]
        if (lq := loose_query(artist, title)) not in queries:
            queries.append(lq)
        for q in queries:
            m = best_match(artist, title, self.api.search_tracks(q, limit=SEARCH_LIMIT))
            if m is not None:
                item = m.item
                url = (item.get("external_urls") or {}).get("spotify") or track_link(item["id"])
                return Track(artist=artist, title=title, url=url, uri=item.get("uri") or f"spotify:track:{item['id']}")
        log.info("not on Spotify: %s - %s", artist, title)
        return None


def resolver_from_settings(settings=None, cache=None):
    """TrackResolver with the app's client credentials when SPOTIPY_CLIENT_ID/SECRET are set, else LinkResolver."""
    from services.player.settings import PlayerSettings
    from services.player.spotify_client import app_api

    s = settings or PlayerSettings()
    if not (s.spotipy_client_id and s.spotipy_client_secret):
        return LinkResolver()
    if cache is None:
        cache = MemorySearchCache(s.search_cache_hit_ttl_s, s.search_cache_miss_ttl_s)
    return TrackResolver(app_api(s), cache)
