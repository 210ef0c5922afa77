"""The demo station: generated media, a catalog and three channels on the air, no Plex needed.

- `contents`: what the demo holds (shows, films, clips, channels), as plain data.
- `media`: `make_demo_media(folder)`, the files made with ffmpeg (command lines built by pure
  functions) and the manifest that lets a finished set be kept.
- `nfo`: the Kodi .nfo sidecars the scanners read.
- `station`: `build_demo_station(folder)`, the sources, channels and schedule over the media.
"""
