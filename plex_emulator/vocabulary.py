"""Word lists and media presets the generator draws from.

Kept apart from the generator so the generation logic reads as logic. Titles
are synthetic on purpose: the emulator must not look like anyone's real
library, except for the few deliberately famous duplicate titles that exercise
"same title, different year" handling.
"""

from __future__ import annotations

ADJECTIVES = (
    "Silent", "Crimson", "Hidden", "Broken", "Golden", "Electric", "Hollow", "Distant", "Burning",
    "Frozen", "Wandering", "Midnight", "Savage", "Gentle", "Restless", "Forgotten", "Shattered",
    "Quiet", "Lonely", "Radiant", "Wicked", "Velvet", "Iron", "Paper", "Neon", "Northern",
    "Southern", "Endless", "Fallen", "Secret", "Last", "First", "Blue", "Scarlet", "Emerald",
    "Silver", "Hungry", "Brave", "Strange", "Lucky", "Bitter", "Sweet", "Wild", "Rusty", "Cosmic",
    "Atomic", "Lost", "Sleeping",
)  # fmt: skip

NOUNS = (
    "Harbor", "Signal", "Kingdom", "Frontier", "Orchard", "Engine", "Lantern", "Voyage", "Station",
    "Garden", "Empire", "Canyon", "Circuit", "Mirror", "Archive", "Citadel", "Meadow", "Outpost",
    "Carnival", "Horizon", "Labyrinth", "Parade", "Reef", "Summit", "Tide", "Valley", "Workshop",
    "Observatory", "Diner", "Precinct", "Hospital", "Academy", "Motel", "Ranch", "Colony", "Lighthouse",
    "Detective", "Pilot", "Witness", "Stranger", "Gardener", "Machine", "Island", "Comet", "Republic",
    "Underground", "Satellite", "Bureau",
)  # fmt: skip

EPISODE_PATTERNS = (
    "The {noun}", "{adjective} {noun}", "A {adjective} Night", "Return of the {noun}",
    "{noun} Down", "Into the {noun}", "The {adjective} Hour", "{noun}s", "Escape from the {noun}",
    "Goodbye, {noun}",
)  # fmt: skip

SHOW_PATTERNS = ("The {adjective} {noun}", "{noun} of the {adjective}", "{adjective} {noun}", "{noun}")

MOVIE_PATTERNS = (
    "{adjective} {noun}", "The {noun}", "The {adjective} {noun}", "{noun} of {noun2}",
    "Beyond the {noun}", "{adjective} {noun} II",
)  # fmt: skip

FIRST_NAMES = (
    "Ada", "Bruno", "Celia", "Dmitri", "Elena", "Farid", "Greta", "Hiro", "Ines", "Jonas", "Kemi",
    "Lars", "Mira", "Nikolai", "Olga", "Pablo", "Quinn", "Rosa", "Sven", "Tamsin", "Umar", "Vera",
    "Wen", "Ximena", "Yusuf", "Zora",
)  # fmt: skip

LAST_NAMES = (
    "Abbott", "Baptiste", "Castellano", "Dubois", "Eriksen", "Fontaine", "Gallagher", "Haddad",
    "Ivanova", "Jansen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Okafor", "Petrov", "Quist",
    "Rinaldi", "Sorensen", "Tanaka", "Ueda", "Valdez", "Whitfield", "Xu", "Yamamoto", "Zielinski",
)  # fmt: skip

GENRES = (
    "Drama", "Comedy", "Science Fiction", "Action", "Thriller", "Mystery", "Animation", "Crime",
    "Adventure", "Fantasy", "Documentary", "Romance", "Horror", "Family", "War", "Western",
)  # fmt: skip

COUNTRIES = ("United States of America", "United Kingdom", "Canada", "France", "Japan", "Germany")

STUDIOS = (
    "Harborline Pictures", "Northlight Studios", "Paper Crane Films", "Blue Meridian", "Ironwood Media",
    "Velvet Tide Productions", "Kestrel Television", "Copperfield Entertainment",
)  # fmt: skip

MOVIE_RATINGS = ("G", "PG", "PG-13", "R", "NR")
TV_RATINGS = ("TV-Y", "TV-G", "TV-PG", "TV-14", "TV-MA")
EPISODE_MINUTES = (22, 24, 30, 42, 44, 48, 55, 60)

# (videoResolution, width, height, videoCodec, videoProfile, video kbps, container)
VIDEO_PRESETS = (
    ("1080", 1920, 1080, "h264", "high", 8200, "mkv"),
    ("1080", 1920, 1080, "hevc", "main", 5200, "mkv"),
    ("720", 1280, 720, "h264", "high", 4100, "mkv"),
    ("720", 1280, 720, "h264", "main", 3500, "mp4"),
    ("480", 720, 480, "mpeg4", "advanced simple", 1500, "avi"),
)
UHD_PRESET = ("4k", 3840, 2160, "hevc", "main 10", 24000, "mkv")

# (audioCodec, channels, audioProfile, audio kbps)
AUDIO_PRESETS = (
    ("aac", 2, "lc", 192),
    ("ac3", 6, None, 640),
    ("eac3", 6, None, 768),
    ("dca", 6, "dts", 1536),
)
AUDIO_KBPS = {codec: kbps for codec, _channels, _profile, kbps in AUDIO_PRESETS}

AUDIO_CODEC_NAMES = {"aac": "AAC", "ac3": "AC3", "eac3": "EAC3", "dca": "DTS", "truehd": "TrueHD"}
VIDEO_CODEC_NAMES = {"h264": "H.264", "hevc": "HEVC", "mpeg4": "MPEG-4"}
CHANNEL_LAYOUTS = {2: "stereo", 6: "5.1(side)", 8: "7.1"}
CHANNEL_NAMES = {2: "Stereo", 6: "5.1", 8: "7.1"}
FRAME_RATES = {"24p": "23.976", "NTSC": "29.970", "PAL": "25.000"}

# Titles that exist twice with different years, as in real libraries.
FEATURED_SHOWS = (("Battlestar Galactica", 1978), ("Battlestar Galactica", 2003))
FEATURED_MOVIES = (("The Thing", 1982), ("The Thing", 2011))

UNSAFE_FILENAME_CHARACTERS = str.maketrans({character: "" for character in ':/\\?*"<>|'})
