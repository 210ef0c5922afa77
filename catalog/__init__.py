"""The catalog: where media comes from (Plex, TMM folders, plain folders) and what it is."""
