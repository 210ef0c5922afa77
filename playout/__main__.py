"""`python -m playout`: the playout supervisor (what `python -m retrovue playout` runs)."""

import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")


def main() -> int:
    import django

    django.setup()
    from playout.supervisor import run_supervisor

    return run_supervisor(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
