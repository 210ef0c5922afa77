"""Alerts: emergency overrides of any channel, from staff or CAP 1.2 feeds."""
