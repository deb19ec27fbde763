# One image for the API and the worker (two commands, one image).
#   docker build -t tapwork/api:v1.0.0 .                      the runtime image (default target)
#   docker run tapwork/api:v1.0.0                              → tapwork api (port 8000)
#   docker run tapwork/api:v1.0.0 tapwork worker               → the worker
#   docker run tapwork/api:v1.0.0 tapwork migrate              → migrations (once per release)
# Debian-based tags on purpose: no compiler is needed (every dependency ships a wheel) and the
# same file builds against the upstream images and the local stand-ins (docs/runbook.md).

# ---- builder: the locked environment from uv.lock, without dev dependencies or extras ----
FROM python:3.11-slim AS builder
# uv only lives in this stage; the runtime image gets the finished virtualenv.
RUN pip install --no-cache-dir uv==0.13.8
ENV UV_PROJECT_ENVIRONMENT=/opt/venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_NO_CACHE=1
WORKDIR /app
# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY alembic.ini ./
COPY migrations migrations
COPY src src
# The project is installed from /app/src (editable): migrations and alembic.ini are found beside
# it, and `alembic upgrade head` runs from /app as the seed writes it. Bytecode is compiled here
# because the runtime filesystem is read-only.
RUN uv sync --frozen --no-dev \
 && python -m compileall -q src migrations

# ---- runtime: Python, the virtualenv and the code; no uv, no compilers, not root ----
FROM python:3.11-slim AS runtime
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="tapwork-api" \
      org.opencontainers.image.description="TAPWORK API and worker (tapwork api | tapwork worker)" \
      org.opencontainers.image.source="https://github.com/your-org/tapwork" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
# pg_dump/pg_restore for `tapwork backup` and `tapwork restore` (the distribution's client: a
# newer pg_dump reads an older server). The only package added to the base image.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends postgresql-client \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 tapwork \
 && useradd --system --uid 10001 --gid tapwork --home-dir /app --no-create-home \
      --shell /usr/sbin/nologin tapwork
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TAPWORK_ENV=production \
    LOG_JSON=true \
    METRICS_PORT=9100
WORKDIR /app
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /app /app
# The seed's api_logs volume is mounted here; a fresh named volume takes this owner.
RUN mkdir -p /app/logs && chown tapwork:tapwork /app/logs
USER 10001:10001
EXPOSE 8000 9100
# Without curl: the image's own Python asks /health (liveness: the process answers).
HEALTHCHECK --interval=30s --timeout=3s --start-period=40s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status != 200)"]
CMD ["tapwork", "api", "--host", "0.0.0.0", "--port", "8000"]
