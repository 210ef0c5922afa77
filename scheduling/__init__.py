"""Scheduling: channels, templates, break rules, program and break logs, XMLTV and M3U."""
