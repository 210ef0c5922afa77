"""Suite-wide: schemathesis against /api/openapi.json with a staff token, on SQLite (the embedded
default) and on PostgreSQL: no input it generates gets a server error.

A bounded run (boundary values of every parameter, then a few random cases per operation); the
longer run is `python -m tests.security.api_fuzz` (see its docstring and docs/security.md).
"""

from __future__ import annotations

import pytest

from tests.security.api_fuzz import fuzz

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_schemathesis_finds_no_server_error(database, tmp_path):
    result = fuzz(database, max_examples=5, seed=14, phases="coverage,fuzzing", workdir=tmp_path)

    assert not result.server_errors, result.output[-6000:]
