# Shared by bin/run and bin/test: install what RetroVue needs on a Debian machine, idempotently.
# Each step checks first, so a second run on a prepared machine takes seconds.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${RETROVUE_VENV:-$ROOT/.venv}"
APT_UPDATED=""

say() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    echo "Need root to run: $* (install sudo or run as root)" >&2; return 1; fi
}

apt_install() {
  # apt_install PACKAGE... : installs the Debian packages that are not installed yet.
  local missing=()
  for package in "$@"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "ok installed" || missing+=("$package")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  say "Installing Debian packages: ${missing[*]}"
  if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

need_command() {
  # need_command BINARY PACKAGE : the package is installed only when the binary is missing.
  command -v "$1" >/dev/null 2>&1 || apt_install "$2"
}

ensure_python() {
  need_command python3 python3
  if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then apt_install python3-venv; fi
  python3 - <<'PY' || { echo "RetroVue needs Python 3.11 or newer." >&2; exit 1; }
import sys
sys.exit(0 if sys.version_info >= (3, 11) else 1)
PY
}

ensure_venv() {
  # ensure_venv REQUIREMENTS_FILE : a virtualenv with exactly those pins, reinstalled when they change.
  local requirements="$1"
  ensure_python
  [ -x "$VENV/bin/python" ] || { say "Creating the virtualenv in $VENV"; python3 -m venv "$VENV"; }
  local wanted
  wanted="$(cat "$ROOT/requirements.txt" "$ROOT/$requirements" | sha256sum | cut -d' ' -f1)"
  if [ "$(cat "$VENV/.requirements-$requirements" 2>/dev/null)" != "$wanted" ]; then
    say "Installing Python packages from $requirements"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    "$VENV/bin/python" -m pip install --quiet -r "$ROOT/$requirements"
    echo "$wanted" > "$VENV/.requirements-$requirements"
  fi
}

ensure_postgresql() {
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql
    # A fresh cluster only accepts passwords on TCP: give the postgres role the one the default URL uses.
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
    as_root su postgres -c "psql -q -c \"ALTER USER postgres PASSWORD 'postgres'\"" >/dev/null
  fi
  say "Starting PostgreSQL"
  as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n1)" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && return 0; sleep 1; done
  echo "PostgreSQL did not come up on 127.0.0.1:5432" >&2; return 1
}

ensure_redis() {
  if command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; then
    return 0
  fi
  need_command redis-server redis-server
  say "Starting Redis"
  as_root mkdir -p /var/lib/redis /var/log/redis
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do [ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = "PONG" ] && return 0; sleep 1; done
  echo "Redis did not come up on 127.0.0.1:6379" >&2; return 1
}
