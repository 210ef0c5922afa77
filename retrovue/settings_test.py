"""Settings for the test suite: the real settings, pointed at PostgreSQL and a throwaway data folder.

bin/test exports DATABASE_URL; the defaults here make a bare `pytest` behave the same way. Each run
gets its own data folder and test database name (a run id exported to the environment, so the
workers and servers a test starts see the same ones): two runs on one machine never collide.

`DATABASE_URL=sqlite` runs the tests on the README's embedded default instead: SQLite, with the
test database a file in the run's data folder (a file, not memory, so the workers and servers a
test starts open the same database).
"""

import os
import tempfile
import uuid

RUN_ID = os.environ.setdefault("RETROVUE_TEST_RUN_ID", uuid.uuid4().hex[:10])
os.environ.setdefault("DATABASE_URL", "postgresql://postgres:postgres@127.0.0.1:5432/retrovue")
os.environ.setdefault("RETROVUE_DATA_DIR", os.path.join(tempfile.gettempdir(), f"retrovue-test-{RUN_ID}"))
if os.environ["DATABASE_URL"] == "sqlite":
    os.environ["DATABASE_URL"] = (
        f"sqlite:///{os.path.join(os.environ['RETROVUE_DATA_DIR'], 'retrovue.sqlite3')}"
    )

from retrovue.settings import *  # noqa: E402, F403
from retrovue.settings import DATA_DIR, DATABASES  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast logins in tests

if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("TEST", {})["NAME"] = f"test_{DATABASES['default']['NAME']}_{RUN_ID}"
else:
    DATABASES["default"].setdefault("TEST", {})["NAME"] = str(DATA_DIR / f"test_retrovue_{RUN_ID}.sqlite3")

# Tests write their media under the system's temporary folder (pytest's tmp_path); the data
# folder stays out of the media roots as everywhere, except its demo media (the demo station).
RETROVUE_LIBRARY_ROOTS = [tempfile.gettempdir(), DATA_DIR / "demo-media", DATA_DIR / "library"]
# The Plex emulator and fixture servers listen on loopback: the suite lists it (the security
# tests put the shipped defaults back where they check them).
RETROVUE_PLEX_HOSTS = ["*", "127.0.0.1", "localhost", "::1", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]
