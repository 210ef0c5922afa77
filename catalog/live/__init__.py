"""Live updates: Plex's notification socket turned into item syncs (see catalog.live.listener)."""
