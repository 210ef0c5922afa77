"""Viewer-facing URLs (anonymous): IPTV feeds under /iptv/ and the TV guide."""

from django.urls import path

from scheduling import views

app_name = "scheduling"

urlpatterns = [
    path("iptv/xmltv.xml", views.xmltv, name="xmltv"),
    path("iptv/channels.m3u", views.channels_m3u, name="channels_m3u"),
    path("guide", views.guide, name="guide"),
]
