"""Title/artist normalisation and choosing the right Spotify track; links; settings parsing."""
from __future__ import annotations

import pytest

from services.player.links import search_link
from services.player.settings import load_settings
from services.player.title_match import best_match, clean_title, normalise_artist, normalise_title, primary_artist
from tests.spotify_emulator import track


@pytest.mark.parametrize("raw, clean", [
    ("Hey Jude - Remastered 2015", "Hey Jude"),
    ("Bennie And The Jets - Remastered 2014", "Bennie And The Jets"),
    ("Don't Stop Me Now - 2011 Mix", "Don't Stop Me Now"),
    ("A Little Less Conversation - JXL Radio Edit Remix", "A Little Less Conversation"),
    ("All or Nothing (feat. Axel Ehnström) - Deluxe Mix", "All or Nothing"),
    ("As I Sleep (feat. Charlee)", "As I Sleep"),
    ("Crazy In Love feat. Jay-Z", "Crazy In Love"),
    ("Umbrella [Live]", "Umbrella"),
    ("Stay With Me", "Stay With Me"),              # "with" is not "feat."
    ("Some Title - Part 2", "Some Title - Part 2"),  # not an edition note
    ("(Intro)", "(Intro)"),                          # all brackets: kept
])
def test_clean_title(raw, clean):
    assert clean_title(raw) == clean


def test_normalised_forms_meet():
    assert normalise_title("Don't You (Forget About Me) - Remastered") == normalise_title("Don’t You")
    assert normalise_title("Beyoncé & Me") == "beyonce and me"
    assert normalise_artist("The Beatles") == normalise_artist("Beatles")
    assert primary_artist("Beyoncé feat. Jay-Z") == "Beyoncé"
    assert primary_artist("Simon & Garfunkel") == "Simon & Garfunkel"


def test_best_match_prefers_the_real_recording():
    items = [
        track("k", "Africa (Karaoke Version)", ["Sing Along Stars"], 99),
        track("c", "Africa", ["TOTO Tribute Band"], 98),
        track("l", "Africa - Live", ["TOTO"], 60),
        track("r", "Africa", ["TOTO"], 50),
    ]
    m = best_match("Toto", "Africa", items)
    assert m is not None and m.item["id"] == "r"


def test_best_match_takes_a_decorated_title_and_a_featured_artist():
    items = [track("x", "Get Lucky (feat. Pharrell Williams & Nile Rodgers) - Radio Edit",
                   ["Daft Punk", "Pharrell Williams", "Nile Rodgers"], 80)]
    m = best_match("Daft Punk feat. Pharrell Williams", "Get Lucky", items)
    assert m is not None and m.item["id"] == "x"


def test_best_match_refuses_another_song_or_artist():
    assert best_match("Toto", "Rosanna", [track("r", "Africa", ["TOTO"])]) is None
    assert best_match("Weezer", "Africa", [track("r", "Africa", ["TOTO"])]) is None
    assert best_match("Toto", "Africa", []) is None


def test_search_link_is_an_open_spotify_search():
    assert search_link("AC/DC", "Back In Black") == "https://open.spotify.com/search/AC%2FDC%20Back%20In%20Black"


def test_settings_parse_devices_and_reject_bad_values(monkeypatch):
    monkeypatch.setenv("PLAYER_DEVICES", "kitchen=Echo, door = Living Room TV")
    monkeypatch.setenv("SPOTIFY_API_BASE", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("SPOTIPY_CLIENT_SECRET", "s3cret")
    s = load_settings()
    assert s.player_devices == {"kitchen": "Echo", "door": "Living Room TV"}
    assert s.spotify_api_base == "http://127.0.0.1:9/v1/"
    assert s.player_mode == "links"
    assert "s3cret" not in repr(s)
    monkeypatch.setenv("PLAYER_DEVICES", "kitchen")
    monkeypatch.setenv("PLAYER_MODE", "shuffle")
    with pytest.raises(ValueError) as e:
        load_settings()
    assert "PLAYER_MODE" in str(e.value) and "PLAYER_DEVICES" in str(e.value) and "\n" not in str(e.value)
