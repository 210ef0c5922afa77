"""Posters and stills: found by the sync, fetched and resized by a task, served from a cache by hash.

* `local`: where Kodi/TMM keep artwork beside the .nfo files (poster.jpg, <name>-thumb.jpg, …).
* `store`: bytes in, sha256-named JPEGs of fixed widths out (Pillow), written atomically.
* `fetch`: the task's work: every row whose reference changed, fetched once, with per-item errors.
"""
