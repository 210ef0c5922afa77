"""`python -m retrovue`: start the station, or one of its processes.

python -m retrovue run            # embedded default: migrate, then web + workers + beat
python -m retrovue web            # production pieces, one per container
python -m retrovue worker --queues sync,default
python -m retrovue worker --queues pregen   # pre-generation's own worker (threads pool)
python -m retrovue beat
python -m retrovue listen         # live updates: Plex notification sockets → item syncs
python -m retrovue ts-fanout      # MPEG-TS viewers behind nginx: one reader per channel
python -m retrovue generate-key   # a new RETROVUE_ENCRYPTION_KEYS value
python -m retrovue discover --title "Battlestar Galactica"   # the catalog: see retrovue/cli_catalog/
python -m retrovue sync --title "Battlestar Galactica" --year 1978 [--dry-run]
python -m retrovue sync-all [--page-size 200] [--dry-run]
"""

from __future__ import annotations

import argparse
import os
import sys

from retrovue.cli_catalog import commands as catalog_commands
from retrovue.cli_catalog import options as catalog_options

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "retrovue.settings")


def _django():
    import django

    django.setup()
    from django.conf import settings

    return settings


def command_run(args) -> int:
    settings = _django()
    from django.core.management import call_command

    from retrovue.launcher import Launcher, embedded_services, ensure_admin_user

    call_command("migrate", interactive=False, verbosity=0)
    if wants_demo_station():
        call_command("setup_demo_station")
    password = ensure_admin_user(settings.DATA_DIR)
    host, _, port = args.bind.rpartition(":")
    shown_host = "localhost" if host in ("0.0.0.0", "", "::") else host  # noqa: S104
    base = f"http://{shown_host}:{port}"
    print(f"RetroVue ({settings.RETROVUE_MODE}) is starting. Data folder: {settings.DATA_DIR}")
    print(f"  Admin:   {base}/admin/")
    print(f"  API:     {base}/api/docs")
    print(f"  Health:  {base}/healthz")
    if password:
        print(
            f"  First sign-in: user 'admin', password {password} (also in {settings.DATA_DIR / 'admin_password'})"
        )
    sys.stdout.flush()
    return Launcher(embedded_services(args.bind, settings.DATA_DIR)).run()


def wants_demo_station() -> bool:
    """RETROVUE_DEMO=1 always sets up the demo station, 0 never; unset, only a fresh install gets it."""
    from catalog.models import MediaSource
    from retrovue.env import env_bool
    from scheduling.models import Channel

    choice = env_bool("RETROVUE_DEMO", None)
    if choice is not None:
        return choice
    return not Channel.objects.exists() and not MediaSource.objects.exists()


SERVICE_COMMANDS = ("run", "web", "worker", "beat", "playout", "listen", "ts-fanout")


def repair_data_folder() -> None:
    """Make the data folder private before a service starts (see retrovue.core.private_data).

    Loading the settings also sets the umask the service (and whatever it execs) creates files with.
    """
    from django.conf import settings

    from retrovue.core.private_data import make_private

    changed = make_private(settings.DATA_DIR)
    if changed:
        print(
            f"retrovue: made {changed} entries of the data folder {settings.DATA_DIR} private to this user",
            file=sys.stderr,
            flush=True,
        )


def command_exec(argv: list[str]) -> int:
    os.execv(argv[0], argv)  # noqa: S606 — replaces this process: containers signal the real server directly
    return 0  # pragma: no cover


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m retrovue", description="RetroVue station")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="everything on the embedded default")
    run.add_argument("--bind", default=os.environ.get("RETROVUE_BIND", "0.0.0.0:8000"))
    web = commands.add_parser("web", help="the web server (gunicorn)")
    web.add_argument("--bind", default=os.environ.get("RETROVUE_BIND", "0.0.0.0:8000"))
    worker = commands.add_parser("worker", help="a Celery worker")
    worker.add_argument("--queues", default="sync,default")
    worker.add_argument("--name", default="worker")
    worker.add_argument(
        "--concurrency",
        default=None,
        help="default: RETROVUE_PREGEN_CONCURRENCY for the pregen queue, else RETROVUE_WORKER_CONCURRENCY",
    )
    commands.add_parser("beat", help="the Celery beat scheduler")
    playout = commands.add_parser("playout", help="the playout supervisor: one ffmpeg per on-air channel")
    playout.add_argument("--max-channels", type=int, default=None, help="channels this worker may hold")
    playout.add_argument("--channels", default="", help="only these channel numbers, comma-separated")
    playout.add_argument("--worker-id", default=None)
    commands.add_parser("listen", help="the live-update listener: Plex notifications → item syncs")
    fanout = commands.add_parser("ts-fanout", help="MPEG-TS viewers behind nginx: one reader per channel")
    fanout.add_argument("--bind", default="127.0.0.1:8090", help="host:port nginx proxies /iptv/channel/ to")
    fanout.add_argument(
        "--hls-log", default="127.0.0.1:8091", help="UDP host:port for nginx's HLS segment log"
    )
    commands.add_parser("generate-key", help="print a new encryption key")
    catalog_options.add_commands(parser, commands)
    args = parser.parse_args(argv)
    if args.command in catalog_options.COMMANDS:
        return catalog_commands.main(args)
    catalog_options.reject_catalog_options(parser, args)

    from retrovue import launcher

    if args.command in SERVICE_COMMANDS:
        repair_data_folder()
    if args.command == "run":
        return command_run(args)
    if args.command == "listen":
        _django()
        from catalog.live.listener import ListenerService

        return ListenerService().run()
    if args.command == "generate-key":
        from retrovue.crypto import generate_key

        print(generate_key())
        return 0
    if args.command == "web":
        return command_exec(launcher.web_argv(args.bind))
    if args.command == "worker":
        if args.queues == "pregen":  # pre-generation's own worker, whatever --name says
            return command_exec(launcher.pregen_worker_argv(args.concurrency))
        concurrency = args.concurrency or os.environ.get("RETROVUE_WORKER_CONCURRENCY", "2")
        return command_exec(launcher.worker_argv(args.queues, args.name, concurrency))
    if args.command == "ts-fanout":
        return command_exec(launcher.ts_fanout_argv(args.bind, args.hls_log))
    if args.command == "playout":
        extra = ["--channels", args.channels] if args.channels else []
        extra += ["--max-channels", str(args.max_channels)] if args.max_channels is not None else []
        extra += ["--worker-id", args.worker_id] if args.worker_id else []
        return command_exec(launcher.playout_argv(extra))
    settings = _django()
    return command_exec(launcher.beat_argv(settings.DATA_DIR))


if __name__ == "__main__":
    sys.exit(main())
