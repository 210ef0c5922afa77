"""Settings for the test suite: the real settings, pointed at PostgreSQL and a throwaway data folder.

bin/test exports DATABASE_URL; the defaults here make a bare `pytest` behave the same way.
"""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "postgresql://postgres:postgres@127.0.0.1:5432/retrovue")
os.environ.setdefault("RETROVUE_DATA_DIR", os.path.join(tempfile.gettempdir(), "retrovue-test-data"))

from retrovue.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests
