"""Deterministic generation of a Plex library from a seed.

``ItemFactory`` owns the random stream and every id counter (rating keys,
media/part ids, external ids). The initial library and every item added later
through the mutation API come from the same factory, so a given seed plus a
given sequence of mutations always produces the same ids and guids.
"""

from __future__ import annotations

import datetime as dt
import random

from . import vocabulary as words
from .config import EmulatorConfig
from .model import Episode, MediaPart, MediaVersion, Movie, Playback, Season, Show, Tag

DAY = 86_400
LEGACY_MOVIE_AGENTS = ("imdb", "imdb", "imdb", "themoviedb", "themoviedb", "none")


class ItemFactory:
    """Creates items with fresh ids, drawing every random choice from one seeded stream."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.rng = random.Random(config.seed)
        self.next_rating_key = 1
        self.next_media_id = 1
        self.next_part_id = 1
        self._used_external_ids: set[str] = set()
        separator = "\\" if config.windows else "/"
        self.separator = separator
        root = "C:\\Media" if config.windows else "/data/media"
        self.tv_root = f"{root}{separator}TV"
        self.movie_root = f"{root}{separator}Movies"

    # -- ids -------------------------------------------------------------------------------

    def rating_key(self) -> str:
        key = str(self.next_rating_key)
        self.next_rating_key += 1
        return key

    def hex_id(self) -> str:
        # Plex ids look like Mongo ObjectIds: 24 hex digits.
        return f"5d{self.rng.getrandbits(88):022x}"

    def uuid(self) -> str:
        value = f"{self.rng.getrandbits(128):032x}"
        return f"{value[:8]}-{value[8:12]}-4{value[13:16]}-a{value[17:20]}-{value[20:]}"

    def external_id(self, scheme: str) -> str:
        while True:
            if scheme == "imdb":
                candidate = f"imdb://tt{self.rng.randrange(100_000, 9_999_999):07d}"
            else:
                candidate = f"{scheme}://{self.rng.randrange(10_000, 9_999_999)}"
            if candidate not in self._used_external_ids:
                self._used_external_ids.add(candidate)
                return candidate

    def bare_id(self, scheme: str) -> str:
        """A fresh external id without its scheme, as legacy agents embed it in the guid."""
        return self.external_id(scheme).split("://", 1)[1]

    # -- words -------------------------------------------------------------------------------

    def phrase(self, patterns: tuple[str, ...]) -> str:
        return self.rng.choice(patterns).format(
            adjective=self.rng.choice(words.ADJECTIVES),
            noun=self.rng.choice(words.NOUNS),
            noun2=self.rng.choice(words.NOUNS),
        )

    def summary(self, title: str) -> str:
        return (
            f"A {self.rng.choice(words.ADJECTIVES).lower()} story about the "
            f"{self.rng.choice(words.NOUNS).lower()} in {title}."
        )

    def person(self, role: bool = False) -> Tag:
        first = self.rng.randrange(len(words.FIRST_NAMES))
        last = self.rng.randrange(len(words.LAST_NAMES))
        name = f"{words.FIRST_NAMES[first]} {words.LAST_NAMES[last]}"
        character = (
            f"{self.rng.choice(words.FIRST_NAMES)} {self.rng.choice(words.LAST_NAMES)}" if role else None
        )
        return Tag(tag_id=10_000 + first * 100 + last, tag=name, role=character)

    def genres(self, count: int) -> list[Tag]:
        picks = self.rng.sample(range(len(words.GENRES)), count)
        return [Tag(tag_id=1_000 + index, tag=words.GENRES[index]) for index in picks]

    def country(self) -> list[Tag]:
        index = self.rng.randrange(len(words.COUNTRIES))
        return [Tag(tag_id=2_000 + index, tag=words.COUNTRIES[index])]

    def path(self, *parts: str) -> str:
        return self.separator.join(parts)

    @staticmethod
    def file_safe(text: str) -> str:
        return text.translate(words.UNSAFE_FILENAME_CHARACTERS)

    # -- media ----------------------------------------------------------------------------

    def media_version(
        self, files: list[str], duration: int, preset: tuple, audio: tuple, frame_rate: str
    ) -> MediaVersion:
        resolution, width, height, video_codec, video_profile, video_kbps, container = preset
        audio_codec, channels, audio_profile, audio_kbps = audio
        bitrate = video_kbps + audio_kbps
        media = MediaVersion(
            media_id=self.next_media_id,
            duration=duration,
            bitrate=bitrate,
            width=width,
            height=height,
            video_resolution=resolution,
            video_codec=video_codec,
            video_profile=video_profile,
            video_frame_rate=frame_rate,
            audio_codec=audio_codec,
            audio_channels=channels,
            audio_profile=audio_profile,
            container=container,
            has_subtitles=self.rng.random() < 0.7,
        )
        self.next_media_id += 1
        # Split parts share the runtime; the last part absorbs the rounding.
        part_duration = duration // len(files)
        for number, file in enumerate(files):
            this_duration = (
                duration - part_duration * (len(files) - 1) if number == len(files) - 1 else part_duration
            )
            media.parts.append(
                MediaPart(
                    part_id=self.next_part_id,
                    file=f"{file}.{container}",
                    duration=this_duration,
                    size=bitrate * this_duration // 8,
                    container=container,
                )
            )
            self.next_part_id += 1
        return media

    def playback(self, duration: int, *, is_episode: bool, added_at: int) -> Playback:
        rng = self.rng
        state = Playback()
        if rng.random() < self.config.watched_fraction:
            state.view_count = rng.randint(1, 4)
            state.last_viewed_at = added_at + rng.randrange(DAY, 60 * DAY)
        if rng.random() < 0.05:  # in progress, possibly a rewatch, as Plex allows
            state.view_offset = rng.randrange(60_000, max(duration // 2, 60_001))
        state.chapter_count = rng.randint(0, 6) if is_episode else rng.randint(8, 16)
        if is_episode and rng.random() < 0.75:
            start = rng.randrange(0, 120_000)
            state.intro = (start, start + rng.randrange(30_000, 90_000))
        if rng.random() < 0.9:
            state.credits_start = duration - rng.randrange(30_000, 120_000 if is_episode else 600_000)
        return state

    # -- items ----------------------------------------------------------------------------

    def movie(
        self,
        title: str,
        year: int,
        *,
        added_at: int,
        updated_at: int | None,
        legacy_agent: str | None,
        parts: int = 1,
        versions: int = 1,
        version_lengths: tuple[int, ...] = (),
    ) -> Movie:
        """`version_lengths` (ms, one per version) makes the versions different cuts, e.g. theatrical
        and extended; the item's own duration is its first version's, as Plex reports it."""
        rng = self.rng
        if legacy_agent == "imdb":
            guid, external = f"com.plexapp.agents.imdb://{self.bare_id('imdb')}?lang=en", ()
        elif legacy_agent == "themoviedb":
            guid, external = f"com.plexapp.agents.themoviedb://{self.bare_id('tmdb')}?lang=en", ()
        elif legacy_agent == "none":
            guid, external = f"com.plexapp.agents.none://{self.uuid()}?lang=xn", ()
        else:
            schemes = ("imdb", "tmdb", "tvdb") if rng.random() < 0.3 else ("imdb", "tmdb")
            guid, external = f"plex://movie/{self.hex_id()}", tuple(self.external_id(s) for s in schemes)
        duration = rng.randrange(85, 181) * 60_000 + rng.randrange(60_000)
        name = self.file_safe(f"{title} ({year})")
        folder = self.path(self.movie_root, name)
        preset = rng.choice(words.VIDEO_PRESETS)
        audio = rng.choice(words.AUDIO_PRESETS)
        media = []
        if versions > 1:
            lengths = list(version_lengths) or [duration] * 2
            duration = lengths[0]
            labelled = (("1080p", words.VIDEO_PRESETS[0]), ("2160p", words.UHD_PRESET))
            for (label, version_preset), length in zip(labelled, lengths, strict=True):
                media.append(
                    self.media_version(
                        [self.path(folder, f"{name} - {label}")], length, version_preset, audio, "24p"
                    )
                )
        else:
            files = (
                [self.path(folder, f"{name} - pt{n}") for n in range(1, parts + 1)]
                if parts > 1
                else [self.path(folder, name)]
            )
            media.append(self.media_version(files, duration, preset, audio, "24p"))
        return Movie(
            rating_key=self.rating_key(),
            section_id=self.config.movie_section_id,
            guid=guid,
            external_guids=external,
            title=title,
            summary=self.summary(title),
            added_at=added_at,
            updated_at=updated_at,
            year=year,
            studio=rng.choice(words.STUDIOS),
            content_rating=rng.choice(words.MOVIE_RATINGS),
            tagline=f"{self.phrase(words.MOVIE_PATTERNS)}.",
            originally_available_at=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            rating=round(rng.uniform(3, 9.8), 1),
            audience_rating=round(rng.uniform(3, 9.8), 1),
            duration=duration,
            media=media,
            genres=self.genres(2),
            directors=[self.person()],
            writers=[self.person(), self.person()],
            producers=[self.person()],
            roles=[self.person(role=True) for _ in range(3)],
            countries=self.country(),
            playback=self.playback(duration, is_episode=False, added_at=added_at),
        )

    def show(self, title: str, year: int, *, added_at: int, legacy: bool) -> Show:
        rng = self.rng
        if legacy:
            guid, external = f"com.plexapp.agents.thetvdb://{self.bare_id('tvdb')}?lang=en", ()
        else:
            schemes = ("imdb", "tmdb", "tvdb")
            guid, external = f"plex://show/{self.hex_id()}", tuple(self.external_id(s) for s in schemes)
        return Show(
            rating_key=self.rating_key(),
            section_id=self.config.show_section_id,
            guid=guid,
            external_guids=external,
            title=title,
            summary=self.summary(title),
            added_at=added_at,
            updated_at=added_at,
            year=year,
            studio=rng.choice(words.STUDIOS),
            content_rating=rng.choice(words.TV_RATINGS),
            tagline=f"{self.phrase(words.MOVIE_PATTERNS)}.",
            originally_available_at=f"{year}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
            audience_rating=round(rng.uniform(5, 9.8), 1),
            rating=round(rng.uniform(5, 9.8), 1),
            duration=rng.choice(words.EPISODE_MINUTES) * 60_000,
            folder=self.path(self.tv_root, self.file_safe(f"{title} ({year})")),
            genres=self.genres(2),
            roles=[self.person(role=True) for _ in range(3)],
            countries=self.country(),
        )

    def season(self, show: Show, index: int, *, added_at: int) -> Season:
        if show.guid.startswith("com.plexapp.agents."):
            guid, external = show.guid.replace("?lang=", f"/{index}?lang="), ()
        else:
            guid, external = (
                f"plex://season/{self.hex_id()}",
                (self.external_id("tmdb"), self.external_id("tvdb")),
            )
        season = Season(
            rating_key=self.rating_key(),
            section_id=show.section_id,
            guid=guid,
            external_guids=external,
            title="Specials" if index == 0 else f"Season {index}",
            summary="",
            added_at=added_at,
            updated_at=added_at,
            index=index,
            show=show,
        )
        show.seasons.append(season)
        show.seasons.sort(key=lambda s: s.index)
        return season

    def episode(
        self, season: Season, index: int, *, added_at: int, updated_at: int | None, title: str | None = None
    ) -> Episode:
        rng, show = self.rng, season.parent
        if show.guid.startswith("com.plexapp.agents."):
            guid, external = season.guid.replace("?lang=", f"/{index}?lang="), ()
        else:
            schemes = ("imdb", "tmdb", "tvdb")
            guid, external = f"plex://episode/{self.hex_id()}", tuple(self.external_id(s) for s in schemes)
        title = title or self.phrase(words.EPISODE_PATTERNS)
        aired = dt.date(show.year + max(season.index - 1, 0), 9, 1) + dt.timedelta(weeks=index - 1)
        duration = show.duration + rng.randrange(-60_000, 90_000)
        season_folder = "Specials" if season.index == 0 else f"Season {season.index:02d}"
        show_name = show.folder.rsplit(self.separator, 1)[-1]
        file = self.path(
            show.folder,
            season_folder,
            self.file_safe(f"{show_name} - S{season.index:02d}E{index:02d} - {title}"),
        )
        preset = rng.choice(words.VIDEO_PRESETS)
        frame_rate = rng.choice(("24p", "NTSC", "PAL"))
        episode = Episode(
            rating_key=self.rating_key(),
            section_id=show.section_id,
            guid=guid,
            external_guids=external,
            title=title,
            summary=self.summary(title),
            added_at=added_at,
            updated_at=updated_at,
            index=index,
            year=aired.year,
            content_rating=show.content_rating,
            originally_available_at=aired.isoformat(),
            rating=round(rng.uniform(5, 9.8), 1),
            audience_rating=round(rng.uniform(5, 9.8), 1),
            duration=duration,
            season=season,
            media=[self.media_version([file], duration, preset, rng.choice(words.AUDIO_PRESETS), frame_rate)],
            directors=[self.person()],
            writers=[self.person()],
            playback=self.playback(duration, is_episode=True, added_at=added_at),
        )
        season.episodes.append(episode)
        season.episodes.sort(key=lambda e: e.index)
        return episode
