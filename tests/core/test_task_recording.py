from retrovue.core.redaction import REDACTED, redact_arguments


def test_secret_looking_arguments_are_redacted():
    recorded = redact_arguments(
        {
            "args": [3],
            "kwargs": {"source_id": 3, "plex_token": "abc", "options": {"password": "x", "depth": 2}},
        }
    )
    assert recorded == {
        "args": [3],
        "kwargs": {"source_id": 3, "plex_token": REDACTED, "options": {"password": REDACTED, "depth": 2}},
    }


def test_long_argument_values_are_shortened():
    recorded = redact_arguments({"note": "x" * 2000})
    assert len(recorded["note"]) < 600
