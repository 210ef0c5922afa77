"""What the demo holds: four shows, four feature films, the clips a station breaks with, and the
three channels that air them. Plain data; `media` makes the files, `station` the rows.

Programs keep real TV lengths (a 22-minute sitcom, a 95-minute film), because those lengths are
what the schedule is about. Chapters sit at plausible act breaks; some episodes and one film have
none, so even-interval breaks get used too. Clips (commercials from ten companies, bumpers,
promos, station IDs, interstitials, filler) carry their scheduling metadata in their .nfo files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

LIBRARY_FOLDER = "library"  # the TMM source: TV Shows/, Movies/
CLIPS_FOLDER = "clips"  # the folder source: commercials/, bumpers/, …
LIBRARY_SOURCE_NAME = "RetroVue Demo Library"
CLIPS_SOURCE_NAME = "RetroVue Demo Clips"


@dataclass(frozen=True)
class DemoEpisode:
    number: int
    title: str
    seconds: int
    aired: str
    plot: str
    chapters: tuple[tuple[int, str], ...] = ()  # (start second, title); the first starts at 0
    season: int = 1
    score: str = "7.5"
    seasonal: str = ""


@dataclass(frozen=True)
class DemoShow:
    key: str
    title: str
    year: int
    rating: str
    studio: str
    genres: tuple[str, ...]
    plot: str
    tvdb: int
    background: str  # a lavfi source, {size} and {rate} filled in
    tone_hz: int
    category: str
    demographic: str
    episodes: tuple[DemoEpisode, ...]


@dataclass(frozen=True)
class DemoMovie:
    title: str
    year: int
    rating: str
    seconds: int
    studio: str
    genres: tuple[str, ...]
    plot: str
    tmdb: int
    imdb: str
    background: str
    tone_hz: int
    chapters: tuple[tuple[int, str], ...] = ()
    seasonal: str = ""
    score: str = "6.8"


@dataclass(frozen=True)
class DemoClip:
    folder: str  # the short-form folder: commercials, bumpers, promos, station_ids, interstitials, filler
    title: str
    seconds: int
    headline: str
    subline: str = ""
    look: str = "testsrc2=size={size}:rate={rate}"
    tone_hz: int = 660
    rating: str = "TV-G"
    company: str = ""
    category: str = ""
    daypart: str = ""
    season: str = ""
    demographic: str = ""
    expires: str = ""
    promotes: str = ""  # a DemoShow key; set as the promo's show after the scan
    year: int = 1988

    @property
    def stem(self) -> str:
        return _file_name(self.title)


SITCOM_ACTS = ((0, "Cold Open"), (190, "Act One"), (700, "Act Two"), (1130, "Tag"))
DENSE_ACTS = tuple((second, f"Scene {index + 1}") for index, second in enumerate(range(0, 1260, 90)))
CARTOON_HALVES = ((0, "Part One"), (660, "Part Two"))


def _reels(seconds: int, every: int) -> tuple[tuple[int, str], ...]:
    return tuple((start, f"Reel {index + 1}") for index, start in enumerate(range(0, seconds, every)))


# fmt: off
SHOWS: tuple[DemoShow, ...] = (
    DemoShow(
        "maple-street", "Maple Street", 1987, "TV-PG", "RVN", ("Comedy",),
        "Three generations of the Parkers share one house, one bathroom and one telephone line.",
        tvdb=9900101, background="smptebars=size={size}:rate={rate}", tone_hz=330, category="sitcom",
        demographic="family",
        episodes=(
            DemoEpisode(1, "Pilot", 1330, "1987-09-14", "The Parkers move in; the dog does not approve.", SITCOM_ACTS, score="7.9"),
            DemoEpisode(2, "The Big Game", 1315, "1987-09-21", "Dad bets the lawn mower on the homecoming game.", SITCOM_ACTS),
            DemoEpisode(3, "Party Line", 1342, "1987-09-28", "Grandma discovers the neighbours share their phone line.", DENSE_ACTS),
            DemoEpisode(4, "Blackout", 1298, "1987-10-05", "A storm knocks the power out on the night of the science fair."),
            DemoEpisode(5, "Road Trip", 1325, "1987-10-12", "Six Parkers, one station wagon, no map.", SITCOM_ACTS, score="8.1"),
            DemoEpisode(6, "Christmas on Maple Street", 1336, "1987-12-21", "The Parkers try to out-decorate the Hendersons.", SITCOM_ACTS, seasonal="christmas"),
        ),
    ),
    DemoShow(
        "the-hendersons", "The Hendersons", 1991, "TV-PG", "RVN", ("Comedy", "Family"),
        "A weather man, a lawyer and three kids who all want the last pork chop.",
        tvdb=9900102, background="pal75bars=size={size}:rate={rate}", tone_hz=392, category="sitcom",
        demographic="family",
        episodes=(
            DemoEpisode(1, "Forecast: Chaos", 1321, "1991-09-17", "Dad predicts sunshine on the day of the family picnic.", SITCOM_ACTS),
            DemoEpisode(2, "The Science Project", 1308, "1991-09-24", "A volcano, a deadline and too much baking soda.", SITCOM_ACTS),
            DemoEpisode(3, "Dinner Guests", 1334, "1991-10-01", "Mom's boss comes to dinner; the twins cook."),
            DemoEpisode(4, "Snow Day", 1312, "1991-10-08", "Everybody is home, nobody is happy about it.", SITCOM_ACTS, score="7.2"),
        ),
    ),
    DemoShow(
        "captain-comet", "Captain Comet", 1984, "TV-Y7", "Starlight Animation", ("Animation", "Adventure"),
        "Captain Comet and the crew of the Stardust protect the galaxy from the Void Pirates.",
        tvdb=9900103, background="yuvtestsrc=size={size}:rate={rate}", tone_hz=523, category="cartoon",
        demographic="kids",
        episodes=(  # no chapter marks: breaks fall at even intervals
            DemoEpisode(1, "Into the Nebula", 1320, "1984-09-08", "The Stardust answers a distress call from inside a nebula."),
            DemoEpisode(2, "The Void Pirates", 1305, "1984-09-15", "The pirates steal the galaxy's last star map."),
            DemoEpisode(3, "Robot Rebellion", 1318, "1984-09-22", "The ship's robots go on strike for better oil."),
            DemoEpisode(4, "Comet Cadets", 1326, "1984-09-29", "Three kids from Earth join the crew for a day."),
            DemoEpisode(5, "Return to Earth", 1310, "1984-10-06", "The Stardust comes home for the first time in a thousand years."),
        ),
    ),
    DemoShow(
        "the-doodle-bunch", "The Doodle Bunch", 1989, "TV-Y", "Crayon Studios", ("Animation", "Children"),
        "Drawings come to life on the pages of Molly's sketchbook.",
        tvdb=9900104, background="rgbtestsrc=size={size}:rate={rate}", tone_hz=587, category="cartoon",
        demographic="kids",
        episodes=(
            DemoEpisode(1, "The Runaway Crayon", 1316, "1989-09-09", "A purple crayon escapes the box.", CARTOON_HALVES),
            DemoEpisode(2, "Eraser Trouble", 1322, "1989-09-16", "Something is rubbing out the doodles.", CARTOON_HALVES),
            DemoEpisode(3, "The Paper Airplane", 1309, "1989-09-23", "The bunch fly to the top of the bookshelf.", CARTOON_HALVES),
            DemoEpisode(4, "Rainy Day Doodles", 1328, "1989-09-30", "Molly has to stay inside; so do the doodles.", CARTOON_HALVES),
        ),
    ),
)

MOVIES: tuple[DemoMovie, ...] = (
    DemoMovie(
        "Midnight Harbor", 1986, "PG-13", 5760, "Lighthouse Pictures", ("Thriller",),
        "A night watchman at the harbor sees a ship that sank forty years ago.",
        tmdb=99000201, imdb="tt9900201", background="color=c=0x102040:size={size}:rate={rate}", tone_hz=220,
        chapters=_reels(5760, 840),
    ),
    DemoMovie(
        "The Great Robot Adventure", 1988, "G", 5520, "Starlight Pictures", ("Family", "Science Fiction"),
        "Two kids build a robot for the science fair; the robot has bigger plans.",
        tmdb=99000202, imdb="tt9900202", background="colorchart=rate={rate}:patch_size=53x60", tone_hz=494,
        chapters=_reels(5520, 900), score="7.1",
    ),
    DemoMovie(  # no chapter marks
        "Starlight Diner", 1983, "PG", 5880, "Lighthouse Pictures", ("Comedy", "Romance"),
        "The last all-night diner on Route 9 has one night to stay open.",
        tmdb=99000203, imdb="tt9900203", background="smptehdbars=size={size}:rate={rate}", tone_hz=262,
    ),
    DemoMovie(
        "A Snowy Christmas Eve", 1985, "G", 5640, "Hearthside Films", ("Family", "Holiday"),
        "Snowed in at a country inn, six strangers put on a Christmas pageant.",
        tmdb=99000204, imdb="tt9900204", background="color=c=0x7a1010:size={size}:rate={rate}", tone_hz=349,
        chapters=_reels(5640, 940), seasonal="christmas", score="7.4",
    ),
)
# fmt: on

_BARS = "smptebars=size={size}:rate={rate}"
_PAL = "pal75bars=size={size}:rate={rate}"
_TEST = "testsrc2=size={size}:rate={rate}"  # full-frame motion: costly to store, so only on short clips
_GLOW = "gradients=size={size}:rate={rate}:speed=0.01:seed=7"  # costly to make, so only on short clips


def _color(hex_rgb: str) -> str:
    return f"color=c=0x{hex_rgb}:size={{size}}:rate={{rate}}"


# fmt: off
CLIPS: tuple[DemoClip, ...] = (
    # Commercials: ten companies; two of them with two spots, which never share a break.
    DemoClip("commercials", "Krunchy Os", 30, "KRUNCHY O's", "Part of this complete breakfast!", look=_color("c08020"), company="General Grains", category="cereal", demographic="kids", tone_hz=784),
    DemoClip("commercials", "Choco Crunch", 15, "CHOCO CRUNCH", "Now with more crunch", look=_color("5a3010"), company="General Grains", category="cereal", demographic="kids", tone_hz=698),
    DemoClip("commercials", "Turbo Racers", 30, "TURBO RACERS", "Batteries not included", look=_TEST, company="Kenbro Toys", category="toys", demographic="kids", daypart="saturday_morning", tone_hz=880),
    DemoClip("commercials", "Galaxy Guardians Action Figures", 15, "GALAXY GUARDIANS", "Collect all six!", look=_color("301060"), company="Kenbro Toys", category="toys", demographic="kids", tone_hz=932),
    DemoClip("commercials", "Fizz Cola", 30, "FIZZ COLA", "The taste of the 80s", look=_color("b01818"), company="Fizz Beverage Co.", category="soft drinks", tone_hz=523),
    DemoClip("commercials", "Fizz Cola Holiday", 30, "FIZZ COLA", "Happy holidays from Fizz", look=_color("106030"), company="Fizz Beverage Co.", category="soft drinks", season="christmas", tone_hz=587),
    DemoClip("commercials", "Speedy Burger", 30, "SPEEDY BURGER", "Two for two ninety-nine", look=_color("d0a000"), company="Speedy Burger", category="fast food", tone_hz=440),
    DemoClip("commercials", "Pizza Palace", 15, "PIZZA PALACE", "Free delivery in 30 minutes", look=_color("a02040"), company="Pizza Palace", category="fast food", tone_hz=494),
    DemoClip("commercials", "Sparkle Dish Soap", 30, "SPARKLE", "Cuts grease, not hands", look=_GLOW, company="Brightway Home Products", category="household", daypart="daytime", demographic="women", tone_hz=659),
    DemoClip("commercials", "Motor City Auto Mall", 30, "MOTOR CITY AUTO MALL", "Zero down, zero percent", look=_color("303030"), company="Motor City Auto Mall", category="automotive", daypart="prime_time", demographic="adults", rating="TV-PG", tone_hz=196),
    DemoClip("commercials", "Bell Tone Long Distance", 30, "BELL TONE", "Call home tonight, 5 cents a minute", look=_color("204080"), company="Bell Tone Telephone", category="telephone", tone_hz=370),
    DemoClip("commercials", "Moonbeam Mattress", 15, "MOONBEAM MATTRESS", "Sleep like the moon", look=_color("101030"), company="Moonbeam Bedding", category="furniture", daypart="late_night", demographic="adults", tone_hz=247),
    DemoClip("commercials", "Y2K Ready Computers", 30, "Y2K READY PCs", "Offer ends December 31, 1999", look=_color("406040"), company="Millennium Micro", category="computers", expires="1999-12-31", tone_hz=1047),
    # Bumpers: out of a program into a break, and back in.
    DemoClip("bumpers", "We'll Be Right Back", 5, "We'll be right back", look=_BARS, category="break out", tone_hz=880, year=1987),
    DemoClip("bumpers", "Now Back to Our Program", 5, "Now back to our program", look=_BARS, category="break in", tone_hz=988, year=1987),
    DemoClip("bumpers", "Cartoons - Stay Tuned Right Back", 6, "Stay tuned, right back!", look=_TEST, category="break out", demographic="kids", daypart="saturday_morning", tone_hz=1175, year=1989),
    DemoClip("bumpers", "Cartoons - Now Back to the Cartoons", 6, "Now back to the cartoons!", look=_TEST, category="break in", demographic="kids", daypart="saturday_morning", tone_hz=1319, year=1989),
    # Promos for the shows (their show is set after the scan) and for the movie channel.
    DemoClip("promos", "Maple Street - Weeknights at 8", 20, "MAPLE STREET", "Weeknights at 8 on RetroVue Classic TV", look=_BARS, promotes="maple-street", tone_hz=330),
    DemoClip("promos", "The Hendersons - Weeknights at 8-30", 20, "THE HENDERSONS", "Weeknights at 8:30 on RetroVue Classic TV", look=_PAL, promotes="the-hendersons", tone_hz=392),
    DemoClip("promos", "Captain Comet - Saturday Mornings", 15, "CAPTAIN COMET", "Saturday mornings and every day on RetroVue Kids", look="yuvtestsrc=size={size}:rate={rate}", promotes="captain-comet", tone_hz=523),
    DemoClip("promos", "The Doodle Bunch - Every Day", 15, "THE DOODLE BUNCH", "Every day on RetroVue Kids", look="rgbtestsrc=size={size}:rate={rate}", promotes="the-doodle-bunch", tone_hz=587),
    DemoClip("promos", "Movie Night on RetroVue Movies", 20, "MOVIE NIGHT", "Blockbusters around the clock on channel 5", look=_color("102040"), tone_hz=262),
    # Station IDs; the category names the channel an ID belongs to ("network": any channel).
    DemoClip("station_ids", "RetroVue Classic TV 3", 8, "RetroVue 3", "Classic TV", look=_BARS, category="channel 3", tone_hz=440),
    DemoClip("station_ids", "RetroVue Movies 5", 8, "RetroVue 5", "Movies", look=_color("102040"), category="channel 5", tone_hz=494),
    DemoClip("station_ids", "RetroVue Kids 7", 8, "RetroVue 7", "Kids", look=_TEST, category="channel 7", tone_hz=523),
    DemoClip("station_ids", "You're Watching RetroVue", 10, "You're watching RetroVue", "Your retro network", look=_GLOW, category="network", tone_hz=587),
    # Interstitials.
    DemoClip("interstitials", "Weather on the Eights", 60, "WEATHER ON THE 8s", "Sunny, high of 72", look=_color("103060"), tone_hz=440),
    DemoClip("interstitials", "Did You Know - Rainbows", 30, "DID YOU KNOW?", "A rainbow is a full circle", look=_GLOW, tone_hz=523),
    DemoClip("interstitials", "Buckle Up - A Public Service Message", 30, "BUCKLE UP", "A public service message", look=_PAL, tone_hz=392),
    DemoClip("interstitials", "Cartoon Fun Fact", 45, "CARTOON FUN FACT", "Cartoons used 24 drawings a second", look=_color("e07000"), demographic="kids", tone_hz=659),
    # Filler of many lengths, so the end of every program fills to its boundary.
    DemoClip("filler", "Color Bars", 5, "RetroVue", look=_BARS, tone_hz=1000),
    DemoClip("filler", "Test Card Interlude", 10, "Please stand by", look=_PAL, tone_hz=1000),
    DemoClip("filler", "Night Skyline", 20, "Night skyline", "Stay tuned", look=_color("000020"), tone_hz=110),
    DemoClip("filler", "Aquarium Moments", 60, "Aquarium moments", "Relax, the show returns shortly", look=_color("0060a0"), tone_hz=131),
    DemoClip("filler", "Fractal Dreams", 90, "Fractal dreams", "RetroVue after hours", look=_color("301040"), tone_hz=147),
    DemoClip("filler", "Starfield", 120, "Starfield", "RetroVue - your retro network", look=_color("000010"), tone_hz=110),
)
# fmt: on

FALLBACK_TITLES = ("Starfield", "Aquarium Moments", "Fractal Dreams")


# --- the channels -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoSlot:
    title: str
    days: tuple[int, ...]
    start: str  # "HH:MM"
    end: str  # "HH:MM"; "00:00" is midnight at the end of the day
    content: str = "episodes"
    order: str = "in_order"
    shows: tuple[str, ...] = ()  # DemoShow keys
    movies: tuple[str, ...] = ()  # DemoMovie titles; none: any movie


@dataclass(frozen=True)
class DemoTemplate:
    name: str
    priority: int
    slots: tuple[DemoSlot, ...]
    from_month_day: str = ""
    until_month_day: str = ""


@dataclass(frozen=True)
class DemoBreakRule:
    daypart: str
    min_spacing_minutes: int
    edge_minutes: int
    breaks_per_half_hour: int
    max_break_seconds: int
    use_bumpers: bool = True


@dataclass(frozen=True)
class DemoChannel:
    number: str
    name: str
    call_sign: str
    templates: tuple[DemoTemplate, ...]
    break_rules: tuple[DemoBreakRule, ...]
    content_rating_limit: str = ""
    target_demographic: str = ""
    sign_off: str = ""
    sign_on: str = ""
    fallback: tuple[str, ...] = FALLBACK_TITLES


WEEKDAYS = (0, 1, 2, 3, 4)
EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
SATURDAY, SUNDAY = (5,), (6,)
SITCOMS = ("maple-street", "the-hendersons")
CARTOONS = ("captain-comet", "the-doodle-bunch")

# fmt: off
CHANNELS: tuple[DemoChannel, ...] = (
    DemoChannel(
        "3", "RetroVue Classic TV", "WRVC",
        templates=(
            DemoTemplate("Regular week", 0, (
                DemoSlot("Late Night Reruns", EVERY_DAY, "00:00", "02:00", shows=SITCOMS),
                DemoSlot("Reruns", EVERY_DAY, "05:00", "00:00", shows=SITCOMS),
            )),
            DemoTemplate("Weekly lineup", 10, (
                DemoSlot("Morning Cartoons", WEEKDAYS, "07:00", "08:00", shows=CARTOONS),
                DemoSlot("Maple Street", WEEKDAYS, "20:00", "20:30", shows=("maple-street",)),
                DemoSlot("The Hendersons", WEEKDAYS, "20:30", "21:00", shows=("the-hendersons",)),
                DemoSlot("Saturday Morning Cartoons", SATURDAY, "07:00", "11:00", order="shuffle", shows=CARTOONS),
            )),
        ),
        break_rules=(
            DemoBreakRule("", min_spacing_minutes=6, edge_minutes=3, breaks_per_half_hour=2, max_break_seconds=150),
            DemoBreakRule("prime_time", min_spacing_minutes=6, edge_minutes=3, breaks_per_half_hour=2, max_break_seconds=180),
        ),
        sign_off="02:00", sign_on="05:00",
    ),
    DemoChannel(
        "5", "RetroVue Movies", "WRVM",
        templates=(
            DemoTemplate("Movies around the clock", 0, (
                DemoSlot("Movies", EVERY_DAY, "00:00", "00:00", content="movies", order="shuffle"),
            )),
            DemoTemplate("Christmas", 20, (
                DemoSlot("Holiday Movie Night", EVERY_DAY, "20:00", "22:00", content="movies", movies=("A Snowy Christmas Eve",)),
            ), from_month_day="12-01", until_month_day="12-25"),
        ),
        break_rules=(
            DemoBreakRule("", min_spacing_minutes=12, edge_minutes=5, breaks_per_half_hour=1, max_break_seconds=240),
        ),
    ),
    DemoChannel(
        "7", "RetroVue Kids", "WRVK",
        templates=(
            DemoTemplate("Cartoons every day", 0, (
                DemoSlot("Cartoons", EVERY_DAY, "00:00", "00:00", shows=CARTOONS),
            )),
            DemoTemplate("Weekend blocks", 10, (
                DemoSlot("Saturday Morning Super Block", SATURDAY, "07:00", "12:00", order="shuffle", shows=CARTOONS),
                DemoSlot("Sunday Family Movie", SUNDAY, "17:00", "19:00", content="movies", movies=("The Great Robot Adventure",)),
            )),
        ),
        break_rules=(
            DemoBreakRule("", min_spacing_minutes=5, edge_minutes=2, breaks_per_half_hour=2, max_break_seconds=120),
            DemoBreakRule("saturday_morning", min_spacing_minutes=5, edge_minutes=2, breaks_per_half_hour=2, max_break_seconds=150),
        ),
        content_rating_limit="TV-Y7", target_demographic="kids",
    ),
)
# fmt: on


# --- helpers ----------------------------------------------------------------------------------------


def _file_name(title: str) -> str:
    return re.sub(r"[^\w\- ()]+", "", title.replace("'", "")).strip()
