"""The watch pages: `/watch/<number>` (anonymous). Include with `path("", include("playout.watch_urls"))`."""

from django.urls import re_path

from playout import watch
from playout.urls import CHANNEL

app_name = "watch"

urlpatterns = [
    re_path(rf"^watch/{CHANNEL}$", watch.watch, name="channel"),
    re_path(rf"^watch/{CHANNEL}/now\.json$", watch.now_next, name="now_next"),
]
