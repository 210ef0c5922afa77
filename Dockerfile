# RetroVue's one image: web, workers, playout and beat all run from it (see docker-compose.yml).
# Build: docker build -t retrovue .
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

# Debian's ffmpeg, the same package bin/run installs on a host.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ffmpeg \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 retrovue \
    && useradd --system --uid 10001 --gid retrovue --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin retrovue

WORKDIR /app

# Dependencies first, so editing code does not reinstall them. Same file and command as the README.
COPY requirements.txt ./
RUN python -m venv /opt/venv \
    && pip install -r requirements.txt

# The code stays owned by root: the app user can run it but not rewrite it.
COPY . .

# Paths are part of the image, not secrets: compose mounts its volumes at these places and
# deploy/nginx.conf serves /srv/retrovue/hls, /srv/retrovue/artwork and /srv/retrovue/media.
# Secrets come only at run time (.env).
ENV DJANGO_SETTINGS_MODULE=retrovue.settings \
    RETROVUE_MODE=production \
    RETROVUE_DATA_DIR=/data \
    RETROVUE_HLS_ROOT=/srv/retrovue/hls \
    RETROVUE_ARTWORK_ROOT=/srv/retrovue/artwork \
    RETROVUE_MEDIA_ROOT=/srv/retrovue/media \
    RETROVUE_STATIC_ROOT=/app/staticfiles \
    RETROVUE_BIND=0.0.0.0:8000

# Production settings refuse to load without their secrets and servers, and collectstatic needs
# neither: these build-only stand-ins live for this one command (they are not ENV, so no container
# sees them). The encryption key is 32 zero bytes, valid in form and worthless as a key.
RUN RETROVUE_SECRET_KEY=build-only-not-a-secret-build-only-not-a-secret-build-only \
    RETROVUE_ENCRYPTION_KEYS=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= \
    RETROVUE_ALLOWED_HOSTS=build.invalid \
    DATABASE_URL=postgresql://build@build.invalid/build \
    CELERY_BROKER_URL=redis://build.invalid:6379/0 \
    python manage.py collectstatic --noinput

# An empty named volume mounted on these folders copies their owner, so the app user can write.
# /data is the service's alone (0700); what nginx reads lives beside it under /srv/retrovue.
RUN mkdir -p /data /srv/retrovue/hls /srv/retrovue/artwork /srv/retrovue/media \
    && chown retrovue:retrovue /data /srv/retrovue/hls /srv/retrovue/artwork /srv/retrovue/media \
    && chmod 0700 /data

USER retrovue
EXPOSE 8000

# `python -m retrovue` execs the real server, so it is PID 1 and gets the container's signals.
CMD ["python", "-m", "retrovue", "web"]
