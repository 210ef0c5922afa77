"""The admin pages of the catalog and core apps: every one renders, lists stay N+1-free, and secrets stay hidden."""

from __future__ import annotations

import re

import pytest
from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.messages import get_messages
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from catalog.choices import ContentKind, Daypart, FileState, ItemState
from catalog.models import (
    ChapterMark,
    Collection,
    CollectionMember,
    Credit,
    Episode,
    ExternalId,
    Genre,
    Library,
    MatchCandidate,
    MatchDecision,
    MatchedItem,
    MatchingTurn,
    MediaFile,
    MediaSource,
    MediaStream,
    Movie,
    NotificationListenerState,
    PathMapping,
    Person,
    Playable,
    PlayableGenre,
    PlexDevice,
    PlexMarker,
    PlexSignIn,
    Season,
    ShortFormItem,
    Show,
    ShowGenre,
    Studio,
    SyncItemError,
    SyncRun,
    WebhookEvent,
    Work,
    WorkMember,
)
from retrovue.core.models import ApiToken, StaffNotice, StreamToken, TaskRun, WorkerHeartbeat, hash_api_token
from tests.factories import (
    ChapterMarkFactory,
    EpisodeFactory,
    ExternalIdFactory,
    FolderSourceFactory,
    LibraryFactory,
    MediaFileFactory,
    MovieFactory,
    PlexSourceFactory,
    SeasonFactory,
    ShortFormFactory,
    ShowFactory,
)

pytestmark = pytest.mark.django_db

ADMIN_APPS = ("catalog", "core")
PLEX_TOKEN = "plex-token-Zq93xK"
# Rows only the system writes (or, for all items, edits in bulk): the admin offers no add page.
WRITTEN_BY_THE_SYSTEM = {
    NotificationListenerState, Playable, SyncRun, TaskRun, WebhookEvent, PlexDevice, PlexSignIn,
    SyncItemError, WorkerHeartbeat, StaffNotice, MediaFile,
}  # fmt: skip
WRITTEN_BY_THE_SYSTEM |= {
    Work,
    WorkMember,
    MatchCandidate,
    MatchDecision,
    MatchedItem,
    MatchingTurn,
}  # cross-source matching
WRITTEN_BY_THE_SYSTEM |= {Collection, CollectionMember}
WRITTEN_BY_THE_SYSTEM |= {MediaStream}


def admin_models():
    return [model for label in ADMIN_APPS for model in apps.get_app_config(label).get_models()]


def url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def changelist_rows(response):
    return list(response.context["cl"].result_list)


@pytest.fixture
def catalog(staff_user):
    """One row of every admin model, linked the way a sync links them."""
    plex = PlexSourceFactory(name="Den Plex", token=PLEX_TOKEN)
    folder = FolderSourceFactory(name="Spots folder")
    library = LibraryFactory(source=plex, title="TV Shows")
    show = ShowFactory(source=plex, library=library, title="Battlestar Galactica", year=1978)
    season = SeasonFactory(show=show, season_number=1)
    episode = EpisodeFactory(show=show, season=season, title="Saga of a Star World", library=library)
    movie = MovieFactory(source=plex, title="WarGames", year=1983)
    spot = ShortFormFactory(source=folder, title="Cereal spot", promotes_show=show)
    media_file = MediaFileFactory(playable=episode)
    stream = MediaStream.objects.create(media_file=media_file, origin="plex", kind="audio", stream_index=1)
    mark = ChapterMarkFactory(playable=episode)
    marker = PlexMarker.objects.create(playable=episode, kind="intro", start_ms=0, end_ms=30_000)
    external_id = ExternalIdFactory(show=show, source=plex)
    mapping = PathMapping.objects.create(source=plex, plex_prefix="/data/tv", local_prefix="/mnt/tv")
    sync_run = SyncRun.objects.create(source=plex, library=library, status="succeeded")
    task_run = TaskRun.objects.create(task_id="abc-123", task_name="catalog.sync", queue="sync")
    webhook = WebhookEvent.objects.create(
        source=plex,
        event="library.new",
        item_title="Saga of a Star World",
        outcome="triggered",
        sync_run=sync_run,
    )
    network = Studio.objects.create(name="ABC")
    Show.objects.filter(pk=show.pk).update(network=network)
    genre = Genre.objects.create(name="Science Fiction")
    person = Person.objects.create(name="Lorne Greene")
    credit = Credit.objects.create(person=person, role="actor", character="Commander Adama", show=show)
    show_genre = ShowGenre.objects.create(show=show, genre=genre)
    movie_genre = PlayableGenre.objects.create(playable=movie, genre=genre)
    collection = Collection.objects.create(
        source=plex, library=library, rating_key="900", title="Space Operas"
    )
    member = CollectionMember.objects.create(
        collection=collection, position=0, rating_key=show.rating_key, kind="show", show=show
    )
    api_token, _ = ApiToken.issue(staff_user, "backup script")
    stream_token, _ = StreamToken.issue("living-room TV")
    sign_in = PlexSignIn.objects.create(
        pin_id=1,
        code="abcd",
        client_identifier="rv",
        expires_at=timezone.now(),
        source=plex,
        account_token=PLEX_TOKEN,
    )
    item_error = SyncItemError.objects.create(
        source=plex, library=library, item_kind="episode", item_key="99", title="Lost", error_kind="orphan"
    )
    heartbeat = WorkerHeartbeat.objects.create(hostname="worker@box", queues=["sync", "default"])
    notice = StaffNotice.objects.create(key="playout:channel:7", title="Channel 7 keeps crashing")
    rows = {
        PlexDevice: PlexDevice.objects.get_or_create(pk=1)[0],
        PlexSignIn: sign_in,
        MediaSource: plex,
        Library: library,
        PathMapping: mapping,
        Show: show,
        Season: season,
        Playable: episode.playable_ptr,
        Episode: episode,
        Movie: movie,
        ShortFormItem: spot,
        MediaFile: media_file,
        MediaStream: stream,
        ChapterMark: mark,
        PlexMarker: marker,
        ExternalId: external_id,
        SyncRun: sync_run,
        WebhookEvent: webhook,
        NotificationListenerState: NotificationListenerState.objects.create(
            source=plex, status="connected", events_received=3, last_event_summary="created movie 'X' 9"
        ),
        TaskRun: task_run,
        ApiToken: api_token,
        StreamToken: stream_token,
        SyncItemError: item_error,
        WorkerHeartbeat: heartbeat,
        StaffNotice: notice,
        Studio: network,
        Genre: genre,
        Person: person,
        Credit: credit,
        ShowGenre: show_genre,
        PlayableGenre: movie_genre,
        Collection: collection,
        CollectionMember: member,
    }
    rows.update(_matching_rows(plex, show))
    return rows


def _matching_rows(plex, show) -> dict:
    # Other tests here count every show and movie, so the matching rows reuse the fixture's show
    # (as both sides of the pair: enough for the pages to render).
    tmm = FolderSourceFactory(name="TMM folder", kind="tmm", path="/srv/tmm")
    work = Work.objects.create(kind="show", title=show.title, year=show.year)
    member = WorkMember.objects.create(work=work, source=plex, show=show, method="ids")
    conflict = MatchCandidate.objects.create(
        kind="show", left_source=plex, right_source=tmm, left_show=show, right_show=show,
        confidence=0.9, title_score=1.0, year_delta=1, reason="similar title, year differs",
    )  # fmt: skip
    decision = MatchDecision.objects.create(
        kind="show",
        verdict="apart",
        left_source=plex,
        right_source=tmm,
        left_keys=["key:1"],
        right_keys=["key:2"],
    )
    matched = MatchedItem.objects.create(show=show, digest="0" * 32)
    turn = MatchingTurn.objects.create(name="matching", generation=3)
    return {
        Work: work,
        WorkMember: member,
        MatchCandidate: conflict,
        MatchDecision: decision,
        MatchedItem: matched,
        MatchingTurn: turn,
    }


def test_every_catalog_and_core_model_is_in_the_admin():
    unregistered = [model.__name__ for model in admin_models() if model not in admin.site._registry]
    assert unregistered == []


@pytest.mark.parametrize("model", admin_models(), ids=lambda model: model.__name__)
def test_changelist_add_and_change_pages_render_for_staff(model, catalog, staff_client):
    if model not in catalog:
        pytest.fail(f"add a {model.__name__} row to the catalog fixture")
    row = catalog[model]
    assert staff_client.get(url(model, "changelist")).status_code == 200
    assert staff_client.get(url(model, "change", row.pk)).status_code == 200
    assert staff_client.get(url(model, "add")).status_code == (403 if model in WRITTEN_BY_THE_SYSTEM else 200)


@pytest.mark.parametrize("model", admin_models(), ids=lambda model: model.__name__)
def test_anonymous_visitor_is_sent_to_login(model):
    response = Client().get(url(model, "changelist"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- Lists don't grow queries with rows ---------------------------------------------------------


def _episodes(count):
    source = MediaSource.objects.filter(kind="plex").first() or PlexSourceFactory()
    shows = ShowFactory.create_batch(3, source=source)
    return [EpisodeFactory(show=shows[n % 3], source=source) for n in range(count)]


def _movies(count):
    source = MediaSource.objects.filter(kind="plex").first() or PlexSourceFactory()
    library = LibraryFactory(source=source, title="Movies", kind="movie")
    return MovieFactory.create_batch(count, source=source, library=library)


def _short_form(count):
    source = FolderSourceFactory()
    show = ShowFactory()
    return ShortFormFactory.create_batch(count, source=source, promotes_show=show)


def _shows(count):
    source = MediaSource.objects.filter(kind="plex").first() or PlexSourceFactory()
    library = LibraryFactory(source=source)
    shows = ShowFactory.create_batch(count, source=source, library=library)
    for show in shows[:3]:
        EpisodeFactory(show=show)
    return shows


def _media_files(count):
    return [MediaFileFactory(playable=episode) for episode in _episodes(count)]


def _media_streams(count):
    return [
        MediaStream.objects.create(media_file=media_file, origin="probe", kind="audio", stream_index=1)
        for media_file in _media_files(count)
    ]


def _seasons(count):
    return [SeasonFactory(show=ShowFactory()) for _ in range(count)]


def _sync_runs(count):
    source = PlexSourceFactory()
    library = LibraryFactory(source=source)
    return SyncRun.objects.bulk_create(
        SyncRun(source=source, library=library if n % 2 else None, status="succeeded") for n in range(count)
    )


def _sync_item_errors(count):
    source = PlexSourceFactory()
    library = LibraryFactory(source=source)
    start = SyncItemError.objects.count()
    return SyncItemError.objects.bulk_create(
        SyncItemError(
            source=source, library=library, item_kind="movie", item_key=str(start + n), error_kind="orphan"
        )
        for n in range(count)
    )


def _webhook_events(count):
    source = PlexSourceFactory()
    run = SyncRun.objects.create(source=source)
    return WebhookEvent.objects.bulk_create(
        WebhookEvent(source=source, event="library.new", outcome="triggered", sync_run=run)
        for _ in range(count)
    )


def _credits(count):
    people = Person.objects.bulk_create(
        Person(name=f"Person {Person.objects.count()} {n}") for n in range(count)
    )
    shows = ShowFactory.create_batch(3)
    return Credit.objects.bulk_create(
        Credit(person=person, role="actor", show=shows[n % 3]) for n, person in enumerate(people)
    )


def _collections(count):
    source = PlexSourceFactory()
    library = LibraryFactory(source=source)
    show = ShowFactory(source=source)
    made = Collection.objects.bulk_create(
        Collection(source=source, library=library, rating_key=f"c{n}", title=f"Collection {n}")
        for n in range(count)
    )
    CollectionMember.objects.bulk_create(
        CollectionMember(collection=c, position=0, rating_key="1", kind="show", show=show) for c in made
    )
    return made


def _people(count):
    made = Person.objects.bulk_create(
        Person(name=f"Someone {Person.objects.count()} {n}") for n in range(count)
    )
    show = ShowFactory()
    Credit.objects.bulk_create(Credit(person=p, role="writer", show=show) for p in made)
    return made


def _genres(count):
    made = Genre.objects.bulk_create(Genre(name=f"Genre {Genre.objects.count()} {n}") for n in range(count))
    show = ShowFactory()
    ShowGenre.objects.bulk_create(ShowGenre(show=show, genre=g) for g in made)
    return made


LISTS = {
    Credit: _credits,
    Collection: _collections,
    CollectionMember: lambda count: [m for c in _collections(count) for m in c.members.all()],
    Person: _people,
    Genre: _genres,
    Episode: _episodes,
    Movie: _movies,
    ShortFormItem: _short_form,
    Playable: _episodes,
    Show: _shows,
    Season: _seasons,
    MediaFile: _media_files,
    SyncRun: _sync_runs,
    SyncItemError: _sync_item_errors,
    WebhookEvent: _webhook_events,
    MediaStream: _media_streams,
}


@pytest.mark.parametrize("model", LISTS, ids=lambda model: model.__name__)
def test_changelist_query_count_does_not_grow_with_rows(model, staff_client):
    make = LISTS[model]
    changelist = url(model, "changelist")
    make(5)
    staff_client.get(changelist)  # warm caches (content types, sessions) out of the measurement

    with CaptureQueriesContext(connection) as few:
        assert staff_client.get(changelist).status_code == 200
    make(145)
    with CaptureQueriesContext(connection) as many:
        response = staff_client.get(changelist)
    assert response.status_code == 200
    assert len(changelist_rows(response)) == 100  # a full page, not the 5 we started with
    assert len(many) == len(few), "\n".join(q["sql"][:200] for q in many.captured_queries)


# --- Search and filters ---------------------------------------------------------------------


def test_episode_search_matches_episode_and_show_titles(catalog, staff_client):
    other = EpisodeFactory(title="Pilot", show=ShowFactory(title="Knight Rider"))
    by_show = changelist_rows(staff_client.get(url(Episode, "changelist"), {"q": "galactica"}))
    by_title = changelist_rows(staff_client.get(url(Episode, "changelist"), {"q": "pilot"}))
    assert by_show == [catalog[Episode]]
    assert by_title == [other]


def test_show_search_finds_a_show_by_external_id_once(catalog, staff_client):
    show = catalog[Show]
    ExternalIdFactory(show=show, source=show.source, provider="tmdb", value="1972")
    ExternalIdFactory(show=show, source=show.source, provider="imdb", value="tt0076984")
    ShowFactory(title="Knight Rider")
    response = staff_client.get(url(Show, "changelist"), {"q": catalog[ExternalId].value})
    assert changelist_rows(response) == [show]
    assert changelist_rows(staff_client.get(url(Show, "changelist"), {"q": "tt00"})) == [show]


def test_media_file_search_matches_path_and_item_title(catalog, staff_client):
    media_file = catalog[MediaFile]
    rows = changelist_rows(staff_client.get(url(MediaFile, "changelist"), {"q": "star world"}))
    assert rows == [media_file]
    by_path = changelist_rows(staff_client.get(url(MediaFile, "changelist"), {"q": media_file.local_path}))
    assert by_path == [media_file]


def test_short_form_filter_by_kind(catalog, staff_client):
    bumper = ShortFormFactory(kind=ContentKind.BUMPER, title="Back after this")
    commercials = changelist_rows(
        staff_client.get(url(ShortFormItem, "changelist") + "?kind__exact=commercial")
    )
    bumpers = changelist_rows(staff_client.get(url(ShortFormItem, "changelist") + "?kind__exact=bumper"))
    assert commercials == [catalog[ShortFormItem]]
    assert bumpers == [bumper]


def test_all_items_filter_by_kind(catalog, staff_client):
    rows = changelist_rows(staff_client.get(url(Playable, "changelist") + "?kind__exact=movie"))
    assert [row.pk for row in rows] == [catalog[Movie].pk]


def test_episode_filter_by_daypart(catalog, staff_client):
    prime = EpisodeFactory(show=catalog[Show], daypart=Daypart.PRIME_TIME)
    rows = changelist_rows(staff_client.get(url(Episode, "changelist") + "?daypart__exact=prime_time"))
    assert rows == [prime]


@pytest.mark.parametrize("model", [Episode, Show], ids=lambda model: model.__name__)
def test_filter_by_state_removed(model, catalog, staff_client):
    gone = (
        EpisodeFactory(state=ItemState.REMOVED) if model is Episode else ShowFactory(state=ItemState.REMOVED)
    )
    rows = changelist_rows(staff_client.get(url(model, "changelist") + "?state__exact=removed"))
    assert rows == [gone]


@pytest.mark.parametrize("model", [Episode, Movie, Show, Playable], ids=lambda model: model.__name__)
def test_filter_by_source(model, catalog, staff_client):
    elsewhere = PlexSourceFactory(name="Cabin Plex")
    make = {Episode: EpisodeFactory, Movie: MovieFactory, Show: ShowFactory, Playable: MovieFactory}[model]
    if model is Episode:
        theirs = make(show=ShowFactory(source=elsewhere), source=elsewhere)
    else:
        theirs = make(source=elsewhere)
    rows = changelist_rows(staff_client.get(url(model, "changelist") + f"?source__id__exact={elsewhere.pk}"))
    assert [row.pk for row in rows] == [theirs.pk]


def test_movie_filter_by_library_lists_libraries_with_their_source(catalog, staff_client):
    films = LibraryFactory(source=catalog[MediaSource], title="Films", kind="movie")
    in_films = MovieFactory(source=catalog[MediaSource], library=films)
    response = staff_client.get(url(Movie, "changelist") + f"?library__id__exact={films.pk}")
    assert changelist_rows(response) == [in_films]
    assert "Films (Den Plex)" in response.content.decode()


def test_episode_filter_by_content_rating(catalog, staff_client):
    mature = EpisodeFactory(show=catalog[Show], content_rating="TV-MA")
    rows = changelist_rows(staff_client.get(url(Episode, "changelist") + "?content_rating=TV-MA"))
    assert rows == [mature]


def test_media_file_filters_by_state_container_and_source(catalog, staff_client):
    remote = MediaFileFactory(state=FileState.REMOTE_ONLY, container="mp4")
    changelist = url(MediaFile, "changelist")
    assert changelist_rows(staff_client.get(changelist + "?state__exact=remote_only")) == [remote]
    assert changelist_rows(staff_client.get(changelist + "?container=mp4")) == [remote]
    source_id = remote.playable.source_id
    assert changelist_rows(staff_client.get(changelist + f"?playable__source__id__exact={source_id}")) == [
        remote
    ]


def test_episodes_sort_by_show_title(catalog, staff_client):
    EpisodeFactory(show=ShowFactory(title="Airwolf"))
    EpisodeFactory(show=ShowFactory(title="The Zoo"))  # sorts as "Zoo"
    rows = changelist_rows(staff_client.get(url(Episode, "changelist")))
    assert [episode.show.title for episode in rows] == ["Airwolf", "Battlestar Galactica", "The Zoo"]
    descending = changelist_rows(staff_client.get(url(Episode, "changelist") + "?o=-2"))
    assert [episode.show.title for episode in descending] == ["The Zoo", "Battlestar Galactica", "Airwolf"]


def test_show_list_counts_each_shows_episodes(catalog, staff_client):
    EpisodeFactory.create_batch(2, show=catalog[Show])
    ShowFactory(title="Empty Show")
    rows = changelist_rows(staff_client.get(url(Show, "changelist")))
    assert {show.title: show.episode_total for show in rows} == {"Battlestar Galactica": 3, "Empty Show": 0}
    by_count = changelist_rows(staff_client.get(url(Show, "changelist") + "?o=-7"))
    assert [show.title for show in by_count] == ["Battlestar Galactica", "Empty Show"]


# --- Autocomplete ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("app_label", "model_name", "field_name", "term", "expected"),
    [
        ("catalog", "episode", "show", "galac", "Battlestar Galactica (1978)"),
        ("catalog", "episode", "season", "galac", "Battlestar Galactica (1978) – Season 1"),
        ("catalog", "episode", "source", "den", "Den Plex"),
        ("catalog", "movie", "library", "tv", "TV Shows (Den Plex)"),
        ("catalog", "shortformitem", "promotes_show", "battle", "Battlestar Galactica (1978)"),
        ("catalog", "mediafile", "playable", "star world", "Saga of a Star World"),
        ("catalog", "chaptermark", "playable", "saga", "Saga of a Star World"),
        ("core", "apitoken", "user", "staff", "staff"),
    ],
)
def test_autocomplete_answers(app_label, model_name, field_name, term, expected, catalog, staff_client):
    response = staff_client.get(
        "/admin/autocomplete/",
        {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term},
    )
    assert response.status_code == 200
    assert expected in [result["text"] for result in response.json()["results"]]


def test_autocomplete_sends_anonymous_visitors_to_login(catalog):
    response = Client().get(
        "/admin/autocomplete/",
        {"app_label": "catalog", "model_name": "episode", "field_name": "show", "term": "galac"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


# --- Display ---------------------------------------------------------------------------------


def test_episode_list_shows_lengths_as_broadcast_timecode(catalog, staff_client):
    EpisodeFactory(show=catalog[Show], duration_ms=(22 * 60 + 1) * 1000 + 234)
    EpisodeFactory(show=catalog[Show], duration_ms=(2 * 3600 + 5) * 1000)
    html = staff_client.get(url(Episode, "changelist")).content.decode()
    assert "00:22:01.23" in html
    assert "02:00:05.00" in html


# --- The Plex token is write-only ------------------------------------------------------------


def _form_data(response) -> dict:
    """What the browser would post back from an admin add/change page, untouched."""
    data = {}

    def add_form(form):
        for name, field in form.fields.items():
            key, value = form.add_prefix(name), form[name].value()
            if isinstance(field, forms.BooleanField):
                if value:
                    data[key] = "on"
            elif isinstance(field, forms.MultiValueField):  # split date and time
                parts = value if isinstance(value, list) else field.widget.decompress(value)
                for index, part in enumerate(parts):
                    data[f"{key}_{index}"] = "" if part is None else str(part)
            elif isinstance(value, list | tuple):
                data[key] = [str(item) for item in value]
            else:
                data[key] = "" if value is None else str(value)

    add_form(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for name, value in formset.management_form.initial.items():
            data[formset.management_form.add_prefix(name)] = value
        for form in formset.initial_forms:
            add_form(form)
    return data


@pytest.fixture
def plex_source(db):
    source = PlexSourceFactory(name="Den Plex", token=PLEX_TOKEN)
    LibraryFactory(source=source, title="TV Shows")
    return source


def _password_input(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"no {name} input on the page"
    return match.group(0)


def test_media_source_page_never_contains_the_token(plex_source, staff_client):
    html = staff_client.get(url(MediaSource, "change", plex_source.pk)).content.decode()
    assert PLEX_TOKEN not in html
    token_input = _password_input(html, "token")
    assert 'type="password"' in token_input
    assert "value=" not in token_input


def test_media_source_saved_with_blank_token_keeps_the_token(plex_source, staff_client):
    change = url(MediaSource, "change", plex_source.pk)
    data = _form_data(staff_client.get(change))
    assert data["token"] == ""
    data["name"] = "Basement Plex"
    response = staff_client.post(change, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    source = MediaSource.objects.get(pk=plex_source.pk)
    assert source.name == "Basement Plex"
    assert source.token == PLEX_TOKEN


def test_media_source_new_token_replaces_the_old_one(plex_source, staff_client):
    change = url(MediaSource, "change", plex_source.pk)
    data = {**_form_data(staff_client.get(change)), "token": "fresh-token-789"}
    assert staff_client.post(change, data).status_code == 302
    assert MediaSource.objects.get(pk=plex_source.pk).token == "fresh-token-789"
    assert "fresh-token-789" not in staff_client.get(change).content.decode()


def test_media_source_clear_token_forgets_it(plex_source, staff_client):
    change = url(MediaSource, "change", plex_source.pk)
    data = {**_form_data(staff_client.get(change)), "clear_token": "on"}
    assert staff_client.post(change, data).status_code == 302
    assert MediaSource.objects.get(pk=plex_source.pk).token == ""
    assert "not set" in staff_client.get(change).content.decode()


def test_api_token_is_shown_once_and_only_its_hash_is_stored(staff_user, staff_client):
    add = url(ApiToken, "add")
    data = {**_form_data(staff_client.get(add)), "user": str(staff_user.pk), "name": "backup script"}
    response = staff_client.post(add, data, follow=True)
    assert response.status_code == 200
    shown = " ".join(str(message) for message in get_messages(response.wsgi_request))
    shown += response.content.decode()
    tokens = set(re.findall(r"rv_[A-Za-z0-9_-]{20,}", shown))
    assert len(tokens) == 1
    (token,) = tokens

    row = ApiToken.objects.get(name="backup script")
    assert row.token_hash == hash_api_token(token)
    assert token not in {str(getattr(row, field.attname)) for field in ApiToken._meta.fields}
    assert token.startswith(row.token_hint)
    # Shown once: neither the list nor the token's own page repeats it.
    assert token not in staff_client.get(url(ApiToken, "changelist")).content.decode()
    assert token not in staff_client.get(url(ApiToken, "change", row.pk)).content.decode()


def test_api_token_change_keeps_its_hash(staff_user, staff_client):
    row, token = ApiToken.issue(staff_user, "ci", expires_at=None)
    change = url(ApiToken, "change", row.pk)
    data = {**_form_data(staff_client.get(change)), "name": "ci runner", "revoked": "on"}
    assert staff_client.post(change, data).status_code == 302
    row.refresh_from_db()
    assert (row.name, row.revoked, row.token_hash) == ("ci runner", True, hash_api_token(token))


@pytest.mark.parametrize(
    ("make", "folded", "open_section"),
    [
        (lambda: PlexSourceFactory(), "Folder (TMM .nfo or plain media)", "Plex server"),
        (lambda: FolderSourceFactory(), "Plex server", "Folder (TMM .nfo or plain media)"),
    ],
    ids=["plex", "folder"],
)
def test_media_source_page_folds_the_section_its_kind_does_not_use(make, folded, open_section, staff_client):
    html = staff_client.get(url(MediaSource, "change", make().pk)).content.decode()
    folded_heading = re.search(rf"<summary>\s*<h2[^>]*>{re.escape(folded)}</h2>", html)
    open_heading = re.search(rf"<summary>\s*<h2[^>]*>{re.escape(open_section)}</h2>", html)
    assert folded_heading and not open_heading
    assert 'name="path"' in html and 'name="base_url"' in html  # still there if staff change the kind


def test_shows_filter_by_genre_and_network_and_search_by_person(catalog, staff_client):
    show = catalog[Show]
    other = ShowFactory(title="Knight Rider")
    network = catalog[Studio]
    by_network = changelist_rows(
        staff_client.get(url(Show, "changelist"), {"network__id__exact": network.pk})
    )
    by_genre = changelist_rows(
        staff_client.get(url(Show, "changelist"), {"genre_tags__id__exact": catalog[Genre].pk})
    )
    by_person = changelist_rows(staff_client.get(url(Show, "changelist"), {"q": "lorne"}))
    assert by_network == by_genre == by_person == [show]
    assert other not in changelist_rows(staff_client.get(url(Show, "changelist"), {"q": "greene"}))


def test_movies_filter_by_genre_and_search_by_person(catalog, staff_client):
    movie = catalog[Movie]
    MovieFactory(title="Tron")
    Credit.objects.create(person=Person.objects.create(name="John Badham"), role="director", playable=movie)
    by_genre = changelist_rows(
        staff_client.get(url(Movie, "changelist"), {"genre_tags__id__exact": catalog[Genre].pk})
    )
    assert by_genre == [movie]
    assert changelist_rows(staff_client.get(url(Movie, "changelist"), {"q": "badham"})) == [movie]
