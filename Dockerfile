# agents-mcp as an HTTP sidecar: streamable HTTP MCP on 0.0.0.0:8000/mcp.
#
#   docker build -t agents-mcp .
#   docker run -p 8000:8000 -e ELEVENLABS_API_KEY -e AGENTS_MCP_AUTH_TOKEN \
#     -v agents-mcp-data:/data agents-mcp
#
# The server listens on all interfaces inside the container, so it refuses to start without
# AGENTS_MCP_AUTH_TOKEN (clients send `Authorization: Bearer <token>`). Clients that reach it by
# a name other than localhost/127.0.0.1 need that name in AGENTS_MCP_ALLOWED_HOSTS.
# Offline try-out: add `--sandbox` after the image name's arguments, e.g.
#   docker run -p 8000:8000 -e AGENTS_MCP_AUTH_TOKEN=... agents-mcp --transport http \
#     --host 0.0.0.0 --port 8000 --sandbox

# --- build: wheels for the app and its dependencies (no compilers reach the final image) --------
FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY agents_mcp ./agents_mcp
COPY config ./config
# with the `postgres` extra (psycopg 3), so replicas can share a database (AGENTS_MCP_DATABASE_URL)
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[postgres]"

# --- run ---------------------------------------------------------------------------------------
FROM python:3.12-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    AGENTS_MCP_DATA_DIR=/data \
    AGENTS_MCP_LOG_JSON=1
RUN useradd --create-home --uid 10001 --user-group agents \
    && mkdir /data && chown agents:agents /data
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index /wheels/*.whl && rm -rf /wheels
USER agents
WORKDIR /home/agents
VOLUME ["/data"]
EXPOSE 8000
# No curl in slim images: Python asks /healthz (no auth needed) and fails on anything but 200.
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request as u; sys.exit(u.urlopen('http://127.0.0.1:8000/healthz', timeout=3).status != 200)"]
# SIGTERM (docker stop) drains: new calls get 503, running simulations are stopped and their
# partial results stored, and the process exits well inside docker's 10 s stop timeout.
STOPSIGNAL SIGTERM
ENTRYPOINT ["agents-mcp", "serve"]
CMD ["--transport", "http", "--host", "0.0.0.0", "--port", "8000"]
