"""docker-compose.yml, the Dockerfile and deploy/env.example, checked without a Docker engine.

No engine runs where the tests do, so `docker compose config` cannot vouch for the stack; these
tests read the files the way Compose and Docker would and hold them to what RetroVue really
accepts: its argparse subcommands, its settings' variables, its nginx config.
"""

from __future__ import annotations

import fnmatch
import json
import re
import shlex
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

import retrovue.__main__ as retrovue_cli

PROJECT_ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (PROJECT_ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
SHARED_ENV = COMPOSE["x-retrovue-env"]
DOCKERFILE = (PROJECT_ROOT / "Dockerfile").read_text()
ENV_EXAMPLE = (PROJECT_ROOT / "deploy" / "env.example").read_text()
NGINX_CONF = (PROJECT_ROOT / "deploy" / "nginx.conf").read_text()
PRODUCTION_DOC = (PROJECT_ROOT / "docs" / "production.md").read_text()

STACK = (
    "postgres",
    "redis",
    "migrate",
    "web",
    "worker",
    "sync",
    "pregen",
    "playout",
    "tsfanout",
    "beat",
    "nginx",
)
APP_SERVICES = ("migrate", "web", "worker", "sync", "pregen", "playout", "tsfanout", "beat")
LONG_RUNNING_APP_SERVICES = ("web", "worker", "sync", "pregen", "playout", "tsfanout", "beat")
SECRET_NAME = re.compile(r"SECRET|PASSWORD|ENCRYPTION_KEY")
REQUIRED_INTERPOLATION = re.compile(r"\$\{(?P<name>[A-Z0-9_]+):\?[^}]+\}")
INTERPOLATED_NAME = re.compile(r"\$\{(?P<name>[A-Z0-9_]+)")


def _dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with continuation lines joined and comments dropped."""
    joined = re.sub(
        r"\\\n", " ", "\n".join(line for line in DOCKERFILE.splitlines() if not line.lstrip().startswith("#"))
    )
    instructions = []
    for line in joined.splitlines():
        if line.strip():
            keyword, _, arguments = line.strip().partition(" ")
            instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _volume_mounts(service: str) -> dict[str, tuple[str, str]]:
    """Container path -> (source, mode) for a service's short-syntax volumes."""
    mounts = {}
    for entry in SERVICES[service].get("volumes", []):
        source, target, *mode = entry.rsplit(":", 2) if entry.count(":") >= 2 else [*entry.split(":"), "rw"]
        mounts[target] = (source, mode[0] if mode else "rw")
    return mounts


def _parse_retrovue_command(argv: list[str], monkeypatch) -> list[str]:
    """Run `python -m retrovue <argv>` through its real argparse, capturing what it would exec."""
    captured = []
    monkeypatch.setattr(retrovue_cli, "command_exec", lambda exec_argv: captured.append(exec_argv) or 0)
    monkeypatch.setattr(retrovue_cli, "command_run", lambda args: captured.append(["run", args.bind]) or 0)
    assert retrovue_cli.main(argv) == 0
    assert len(captured) == 1
    return captured[0]


def _station_sources() -> list[Path]:
    """The station's own code: manage.py, the project package and the local Django apps."""
    packages = {"retrovue"} | {
        app.split(".")[0] for app in settings.INSTALLED_APPS if (PROJECT_ROOT / app.split(".")[0]).is_dir()
    }
    sources = [PROJECT_ROOT / "manage.py"]
    for package in sorted(packages):
        sources += [path for path in (PROJECT_ROOT / package).rglob("*.py") if "migrations" not in path.parts]
    return [path for path in sources if path.name != "settings_test.py"]


def _variables_the_code_reads() -> set[str]:
    patterns = (
        re.compile(r"""env_[a-z]+\(\s*["']([A-Z][A-Z0-9_]+)["']"""),
        re.compile(r"""os\.environ(?:\.get|\.setdefault)?[\(\[]\s*["']([A-Z][A-Z0-9_]+)["']"""),
        re.compile(r"""os\.getenv\(\s*["']([A-Z][A-Z0-9_]+)["']"""),
    )
    names = set()
    for path in _station_sources():
        text = path.read_text()
        for pattern in patterns:
            names.update(pattern.findall(text))
    return names


def test_compose_defines_every_service_of_the_stack():
    assert set(STACK) <= set(SERVICES)
    assert SERVICES["postgres"]["image"].startswith("postgres:16")
    assert SERVICES["redis"]["image"].startswith("redis:7")


def test_every_app_service_gets_the_one_shared_environment():
    assert "x-retrovue-env: &retrovue-env" in COMPOSE_TEXT
    for service in APP_SERVICES:
        # An alias loads as the very same mapping: no service can drift from the others.
        assert SERVICES[service]["environment"] is SHARED_ENV, service
    assert SHARED_ENV["RETROVUE_MODE"] == "production"


def test_every_long_running_service_has_a_healthcheck():
    for name, service in SERVICES.items():
        if service.get("restart") == "no":
            continue  # a one-shot job: its exit code is what others wait on
        test = service.get("healthcheck", {}).get("test")
        assert test and test != ["NONE"], f"{name} has no healthcheck"


def test_app_services_wait_for_healthy_servers_and_finished_migrations():
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in LONG_RUNNING_APP_SERVICES:
        depends_on = SERVICES[service]["depends_on"]
        assert depends_on["postgres"]["condition"] == "service_healthy", service
        assert depends_on["redis"]["condition"] == "service_healthy", service
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", service
    assert SERVICES["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"


def test_migrate_service_runs_a_real_management_command():
    command = SERVICES["migrate"]["command"]
    assert command[:3] == ["python", "manage.py", "migrate"]
    assert "migrate" in get_commands()
    assert "--noinput" in command


@pytest.mark.parametrize("service", LONG_RUNNING_APP_SERVICES)
def test_app_service_command_is_a_retrovue_subcommand_that_parses(service, monkeypatch):
    command = SERVICES[service]["command"]
    assert command[:3] == ["python", "-m", "retrovue"]
    exec_argv = _parse_retrovue_command(command[3:], monkeypatch)
    expected = {"web": "gunicorn", "playout": "playout", "tsfanout": "playout.ts_fanout"}.get(
        service, "celery"
    )
    assert exec_argv[1:3] == ["-m", expected]


def test_worker_consumes_its_queues_and_playout_runs_the_supervisor(monkeypatch):
    worker = _parse_retrovue_command(SERVICES["worker"]["command"][3:], monkeypatch)
    monkeypatch.undo()
    playout = _parse_retrovue_command(SERVICES["playout"]["command"][3:], monkeypatch)
    assert worker[worker.index("--queues") + 1] == "default"  # alerts never wait behind a deep sync
    monkeypatch.undo()
    sync = _parse_retrovue_command(SERVICES["sync"]["command"][3:], monkeypatch)
    assert sync[sync.index("--queues") + 1] == "sync"
    monkeypatch.undo()
    pregen = _parse_retrovue_command(SERVICES["pregen"]["command"][3:], monkeypatch)
    assert pregen[pregen.index("--queues") + 1] == "pregen"
    assert pregen[pregen.index("--pool") + 1] == "threads"
    assert playout[1:3] == ["-m", "playout"]


def test_playout_healthcheck_reads_the_supervisor_heartbeat_on_the_data_volume():
    check = " ".join(SERVICES["playout"]["healthcheck"]["test"])
    assert "/data/playout/heartbeat" in check
    assert _volume_mounts("playout")["/data"][0] == "data"


@pytest.mark.parametrize("service", ["worker", "sync", "pregen"])
def test_worker_healthcheck_pings_the_node_name_the_worker_takes(service, monkeypatch):
    exec_argv = _parse_retrovue_command(SERVICES[service]["command"][3:], monkeypatch)
    node = exec_argv[exec_argv.index("--hostname") + 1]
    name, _, host = node.partition("@")
    assert host == "%h"  # Celery's %h is the container's hostname, which $HOSTNAME holds
    check = SERVICES[service]["healthcheck"]["test"]
    assert check[0] == "CMD-SHELL"
    assert re.search(rf"inspect ping .*-d {name}@\$\$HOSTNAME\b", check[1]), check[1]


def test_web_healthcheck_asks_healthz_on_the_port_web_listens_on(monkeypatch):
    exec_argv = _parse_retrovue_command(SERVICES["web"]["command"][3:], monkeypatch)
    port = exec_argv[exec_argv.index("--bind") + 1].rpartition(":")[2]
    check = " ".join(SERVICES["web"]["healthcheck"]["test"])
    assert f"http://127.0.0.1:{port}/healthz" in check
    # Production refuses unknown Host headers, so the probe must present an allowed one.
    assert "RETROVUE_ALLOWED_HOSTS" in check
    assert SERVICES["web"]["expose"] == [port]


def test_hls_volume_is_written_by_playout_and_only_read_by_nginx():
    hls_root = SHARED_ENV["RETROVUE_HLS_ROOT"]
    assert SERVICES["playout"]["environment"]["RETROVUE_HLS_ROOT"] == hls_root
    assert _volume_mounts("playout")[hls_root] == ("hls", "rw")
    assert _volume_mounts("nginx")[hls_root] == ("hls", "ro")
    assert "hls" in COMPOSE["volumes"]
    # nginx serves /hls/ from the folder the volume is mounted on.
    assert f"alias {hls_root}/;" in NGINX_CONF
    for service in ("web", "worker", "sync", "beat"):
        assert _volume_mounts(service).get(hls_root, ("hls", "ro"))[1] == "ro", service


def test_data_volume_is_shared_by_every_long_running_app_service():
    data_dir = SHARED_ENV["RETROVUE_DATA_DIR"]
    assert "data" in COMPOSE["volumes"]
    for service in LONG_RUNNING_APP_SERVICES:
        assert _volume_mounts(service)[data_dir] == ("data", "rw"), service


def test_nginx_service_runs_the_shipped_config_in_front_of_web(monkeypatch):
    mounts = _volume_mounts("nginx")
    assert mounts["/etc/nginx/nginx.conf"] == ("./deploy/nginx.conf", "ro")
    web_argv = _parse_retrovue_command(SERVICES["web"]["command"][3:], monkeypatch)
    web_port = web_argv[web_argv.index("--bind") + 1].rpartition(":")[2]
    assert re.search(rf"^\s*server web:{web_port};", NGINX_CONF, re.MULTILINE)
    listen_port = re.search(r"^\s*listen (\d+);", NGINX_CONF, re.MULTILINE).group(1)
    assert any(str(port).endswith(f":{listen_port}") for port in SERVICES["nginx"]["ports"])
    assert "/nginx-health" in " ".join(SERVICES["nginx"]["healthcheck"]["test"])


def test_nginx_sends_mpeg_ts_viewers_and_hls_segment_lines_to_the_ts_fanout_service(monkeypatch):
    fanout = _parse_retrovue_command(SERVICES["tsfanout"]["command"][3:], monkeypatch)
    port = fanout[fanout.index("--bind") + 1].rpartition(":")[2]
    hls_log_port = fanout[fanout.index("--hls-log") + 1].rpartition(":")[2]
    assert re.search(rf"^\s*server tsfanout:{port};", NGINX_CONF, re.MULTILINE)
    assert f"syslog:server=tsfanout:{hls_log_port}," in NGINX_CONF
    channel_location = NGINX_CONF.split("iptv/channel/ {", 1)[1].split("}", 1)[0]
    assert "proxy_pass http://retrovue_ts_fanout;" in channel_location
    assert "proxy_buffering off;" in channel_location
    assert SERVICES["nginx"]["depends_on"]["tsfanout"]["condition"] == "service_healthy"


def test_compose_file_holds_no_literal_secrets():
    environments = [SHARED_ENV, *(service.get("environment", {}) for service in SERVICES.values())]
    for environment in environments:
        for name, value in environment.items():
            if SECRET_NAME.search(name):
                assert REQUIRED_INTERPOLATION.fullmatch(str(value)), (
                    f"{name} must come from .env, not {value!r}"
                )
            userinfo = re.match(r"^[a-z+]+://([^@/]*)@", str(value))
            if userinfo and ":" in userinfo.group(1):
                password = userinfo.group(1).partition(":")[2]
                assert REQUIRED_INTERPOLATION.fullmatch(password), f"{name} has a literal password"
    for secret in ("RETROVUE_SECRET_KEY", "RETROVUE_ENCRYPTION_KEYS", "RETROVUE_ALLOWED_HOSTS"):
        assert REQUIRED_INTERPOLATION.fullmatch(SHARED_ENV[secret]), secret
    # Nothing shaped like a key (Fernet keys, long random tokens) anywhere in the file.
    assert not re.search(r"[A-Za-z0-9+/_-]{40,}={0,2}", COMPOSE_TEXT)


def test_dockerfile_builds_from_debian_python_with_ffmpeg_as_a_non_root_user(monkeypatch):
    instructions = _dockerfile_instructions()
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    assert any("apt-get install" in run and "ffmpeg" in shlex.split(run) for run in runs)
    users = [arguments for keyword, arguments in instructions if keyword == "USER"]
    assert users and users[-1] not in ("root", "0")
    cmd = json.loads(next(arguments for keyword, arguments in reversed(instructions) if keyword == "CMD"))
    assert cmd == ["python", "-m", "retrovue", "web"]
    _parse_retrovue_command(cmd[3:], monkeypatch)


def test_dockerfile_installs_the_requirements_file_the_run_path_uses():
    # bin/run (the README's run command) builds its virtualenv from this file.
    run_script = (PROJECT_ROOT / "bin" / "run").read_text()
    requirements = re.search(r"ensure_venv (\S+)", run_script).group(1)
    readme = PROJECT_ROOT / "README.md"
    if readme.exists() and "pip install -r" in readme.read_text():
        assert f"pip install -r {requirements}" in readme.read_text()
    instructions = _dockerfile_instructions()
    assert ("COPY", f"{requirements} ./") in instructions
    runs = [arguments for keyword, arguments in instructions if keyword == "RUN"]
    assert any(f"pip install -r {requirements}" in run for run in runs)


def test_dockerfile_collects_static_files_in_production_mode_at_build_time():
    instructions = _dockerfile_instructions()
    env_lines = " ".join(arguments for keyword, arguments in instructions if keyword == "ENV")
    assert "RETROVUE_MODE=production" in env_lines
    assert "RETROVUE_STATIC_ROOT=" in env_lines  # the same folder at build time and at run time
    assert any(
        "manage.py collectstatic --noinput" in arguments
        for keyword, arguments in instructions
        if keyword == "RUN"
    )


def test_dockerfile_bakes_no_secret_into_the_image():
    for keyword, arguments in _dockerfile_instructions():
        if keyword in ("ENV", "ARG"):
            for name in (
                "SECRET",
                "ENCRYPTION",
                "PASSWORD",
                "DATABASE_URL",
                "CELERY_BROKER_URL",
                "ALLOWED_HOSTS",
            ):
                assert name not in arguments, f"{keyword} {arguments}"
        if keyword in ("COPY", "ADD"):
            assert ".env" not in shlex.split(arguments), f"{keyword} {arguments}"


def _dockerignore_excludes(path: str) -> bool:
    excluded = False
    for raw in (PROJECT_ROOT / ".dockerignore").read_text().splitlines():
        rule = raw.strip()
        if not rule or rule.startswith("#"):
            continue
        negate = rule.startswith("!")
        pattern = rule.lstrip("!").strip("/")
        candidates = {pattern, pattern.removeprefix("**/")}
        if any(fnmatch.fnmatchcase(path, candidate) for candidate in candidates):
            excluded = not negate
    return excluded


@pytest.mark.parametrize("path", [".env", ".env.production", ".venv", "data", ".git"])
def test_build_context_leaves_out_secrets_and_local_state(path):
    assert _dockerignore_excludes(path)


def test_build_context_keeps_what_the_image_needs():
    for path in ("requirements.txt", "manage.py", "retrovue", "deploy/env.example"):
        assert not _dockerignore_excludes(path), path


def test_env_example_lists_every_variable_the_code_and_compose_read():
    names = _variables_the_code_reads() | set(INTERPOLATED_NAME.findall(COMPOSE_TEXT))
    assert {"RETROVUE_SECRET_KEY", "DATABASE_URL", "RETROVUE_WEB_THREADS"} <= names  # the scan works
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", ENV_EXAMPLE, re.MULTILINE))
    assert sorted(names - documented) == []


def test_env_example_commits_no_values_for_secrets():
    for line in ENV_EXAMPLE.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.partition("=")
            assert value == "", f"{name} should be left blank for the operator to fill in"
    for required in (
        "RETROVUE_SECRET_KEY",
        "RETROVUE_ENCRYPTION_KEYS",
        "RETROVUE_ALLOWED_HOSTS",
        "POSTGRES_PASSWORD",
    ):
        assert re.search(rf"^{required}=$", ENV_EXAMPLE, re.MULTILINE), required


def test_production_doc_configuration_reference_covers_every_variable():
    names = _variables_the_code_reads() | set(INTERPOLATED_NAME.findall(COMPOSE_TEXT))
    rows = set(re.findall(r"^\|\s*`([A-Z][A-Z0-9_]+)`", PRODUCTION_DOC, re.MULTILINE))
    assert sorted(names - rows) == []


def test_a_second_playout_machine_stands_apart_but_reads_the_shared_store_and_is_reached_through_its_origin():
    machine_b, origin_b = SERVICES["playout-b"], SERVICES["origin-b"]
    # Only on request: `docker compose up` runs one playout machine.
    assert machine_b["profiles"] == origin_b["profiles"] == ["second-playout-machine"]
    assert machine_b["command"] == SERVICES["playout"]["command"]
    # The shared environment, and only what makes it another machine.
    env = machine_b["environment"]
    assert {name: value for name, value in env.items() if SHARED_ENV.get(name) != value} == {
        "RETROVUE_DATA_DIR": "/data-b",
        "RETROVUE_PREGEN_ROOT": "/srv/retrovue/pregen",
        "RETROVUE_PLAYOUT_ORIGIN": "http://origin-b:8081",
    }
    assert set(SHARED_ENV) <= set(env)
    mounts = {
        entry["target"] if isinstance(entry, dict) else entry.split(":")[1]: entry
        for entry in machine_b["volumes"]
    }
    # Its own data folder and HLS root, on volumes no other machine writes.
    assert mounts["/data-b"] == "playout-b-data:/data-b"
    assert mounts[SHARED_ENV["RETROVUE_HLS_ROOT"]] == f"playout-b-hls:{SHARED_ENV['RETROVUE_HLS_ROOT']}"
    # The store the pregen worker writes (RETROVUE_DATA_DIR/pregen on the data volume), read-only.
    store = mounts["/srv/retrovue/pregen"]
    assert (store["source"], store["volume"]["subpath"], store["read_only"]) == ("data", "pregen", True)
    assert _volume_mounts("pregen")[SHARED_ENV["RETROVUE_DATA_DIR"]] == ("data", "rw")
    assert "RETROVUE_PREGEN_ROOT" not in SHARED_ENV  # so the workers' store is DATA_DIR/pregen
    # The origin serves that HLS root with the shipped origin config, on the port the env names.
    origin_conf = (PROJECT_ROOT / "deploy" / "nginx-origin.conf").read_text()
    assert "./deploy/nginx-origin.conf:/etc/nginx/nginx.conf:ro" in origin_b["volumes"]
    assert f"playout-b-hls:{SHARED_ENV['RETROVUE_HLS_ROOT']}:ro" in origin_b["volumes"]
    assert f"alias {SHARED_ENV['RETROVUE_HLS_ROOT']}/;" in origin_conf
    assert re.search(r"^\s*listen 8081;", origin_conf, re.M) and origin_b["expose"] == ["8081"]
    # The front door finds `origin-b` by name through Docker's DNS.
    assert re.search(r"^\s*resolver 127\.0\.0\.11\b", NGINX_CONF, re.M)
    assert {"playout-b-data", "playout-b-hls"} <= set(COMPOSE["volumes"])
