"""Talking to Plex Media Server over its XML API (the adapter the sync engine uses)."""
