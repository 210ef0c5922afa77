"""Cross-source matching: scoring pairs (`scoring`) and linking, queueing and deciding them (`service`)."""
