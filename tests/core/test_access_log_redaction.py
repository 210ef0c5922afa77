from retrovue.gunicorn_logging import scrub


def test_webhook_secret_is_scrubbed_from_access_log_paths():
    assert scrub("POST /hooks/plex/Abc123-secret_xyz/ HTTP/1.1") == "POST /hooks/plex/[redacted]/ HTTP/1.1"


def test_tokens_in_query_strings_are_scrubbed():
    assert "tok123" not in scrub("GET /hls/7/index.m3u8?token=tok123 HTTP/1.1")


def test_ordinary_paths_are_left_alone():
    assert scrub("GET /admin/catalog/show/ HTTP/1.1") == "GET /admin/catalog/show/ HTTP/1.1"
