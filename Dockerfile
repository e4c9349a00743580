# leadcache: `leadcache serve` (background sync, metrics and health) in a small image.
# The database lives in the /app/data volume; it must be local disk, never NFS/EFS
# (docs/deploy.md).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LEAD_CACHE_DB_PATH=/app/data/leads_cache.db \
    LEAD_CACHE_LOG_FORMAT=json

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY src ./src
RUN pip install -c constraints.txt '.[s3,postgres]' \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin leadcache \
    && mkdir -p /app/data \
    && chown leadcache:leadcache /app/data

USER leadcache
VOLUME /app/data
EXPOSE 9464

CMD ["leadcache", "serve"]
