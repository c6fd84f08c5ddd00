# One image for the code server, the webserver and the daemon (docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    DAGSTER_HOME=/opt/dagster/home LSE_HOME=/data
WORKDIR /opt/lse

# Dependencies first (hash-checked, from the lock), so code changes rebuild in seconds: the
# runtime plus dagster-k8s, so one image serves docker-compose and Kubernetes (deploy/helm).
COPY requirements-image.lock ./
RUN pip install --no-cache-dir --no-deps --require-hashes -r requirements-image.lock

COPY pyproject.toml README.md workspace.yaml ./
COPY lse_assets ./lse_assets
COPY resources ./resources
COPY alembic ./alembic
RUN pip install --no-cache-dir --no-deps . \
    && mkdir -p "$DAGSTER_HOME" /data
COPY deploy/dagster.yaml deploy/workspace.grpc.yaml "$DAGSTER_HOME"/

EXPOSE 3000 4000
