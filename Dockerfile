# The NemKonto image: one image for web (gunicorn), Celery worker and Celery beat.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
COPY scripts/build_assets.sh scripts/
RUN mkdir -p nemkonto/static && bash scripts/build_assets.sh

FROM python:3.12-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy \
    UV_PROJECT_ENVIRONMENT=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    DJANGO_SETTINGS_MODULE=nemkonto.settings.production
RUN apt-get update \
    && apt-get install -y --no-install-recommends gettext curl \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir uv \
    && useradd --system --create-home --uid 1000 nemkonto
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
COPY --from=assets /app/nemkonto/static/dkfds nemkonto/static/dkfds
# collectstatic and compilemessages need settings but no secrets or servers: build-time values only.
RUN DJANGO_SETTINGS_MODULE= django-admin compilemessages --ignore=.venv -v 0 \
    && DJANGO_SECRET_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=') \
       NEMKONTO_LOOKUP_HASH_KEY=build-only-$(head -c 48 /dev/urandom | base64 | tr -d '/+=') \
       DATABASE_URL=postgres://build@localhost/build CELERY_BROKER_URL=memory:// \
       python manage.py collectstatic --no-input -v 0
USER nemkonto
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl -fsS http://127.0.0.1:8000/healthz || exit 1
CMD ["gunicorn", "nemkonto.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--threads", "4", "--access-logfile", "-"]
