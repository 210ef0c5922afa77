"""Playout: segment pre-generation, channel supervision, HLS, MPEG-TS and HDHomeRun."""
