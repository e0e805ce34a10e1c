# syntax=docker/dockerfile:1
#
# Portagent's container image, in three stages:
#   web      builds the browser UI (web/) into service/web/dist with Node
#   wheel    builds the Python wheel, which carries service/web/dist as package data
#   runtime  installs only that wheel (no compilers, no Node, no test dependencies)
#
#   docker build -t portagent .
#   docker run -p 5200:5200 -e LLM_PROVIDER_KEY=sk-ant-... -v ./data:/home/agentx/.agentx portagent
#
# Base images are pinned by full tag in the FROM lines (Dependabot's "docker" ecosystem reads
# them and proposes bumps). To bump by hand: pick the new tag on Docker Hub (keep both Python
# stages on the same one, and the Node major at an LTS that web/package.json's "engines"
# accepts), change the FROM lines, and let CI build and smoke-test the image. For
# byte-for-byte reproducible builds append the digest as well
# (`python:3.12.12-slim-trixie@sha256:...`, from `docker buildx imagetools inspect TAG`).
FROM node:22.21.1-trixie-slim AS web
WORKDIR /src/web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY web/ ./
# vite writes the bundle to ../service/web/dist (see web/vite.config.ts).
RUN npm run build


FROM python:3.12.12-slim-trixie AS wheel
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
COPY pyproject.toml README.md LICENSE ./
COPY service/ service/
COPY --from=web /src/service/web/dist/ service/web/dist/
# Build the wheel, and refuse an image whose wheel lacks the UI.
RUN python -m pip wheel --no-deps --wheel-dir /dist . \
    && python -c "import glob, sys, zipfile; \
names = zipfile.ZipFile(glob.glob('/dist/portagent-*.whl')[0]).namelist(); \
sys.exit(0 if 'service/web/dist/index.html' in names else 'the wheel has no service/web/dist/index.html')"


FROM python:3.12.12-slim-trixie AS runtime

# VERSION and REVISION come from the release workflow (docker/metadata-action).
ARG VERSION=0.0.0-dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="Portagent" \
      org.opencontainers.image.description="A self-hosted, multi-user gateway to Claude agents" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"

# bubblewrap sandboxes the agent's tools where the container runtime allows user namespaces.
# Docker's default seccomp profile (and many Kubernetes setups) refuse them: then
# AGENT_SANDBOX=auto (the default) logs a warning and runs tools as plain processes of the
# agentx user, and AGENT_SANDBOX=bwrap refuses to start. See docs/security.md ("In Docker").
# tini is PID 1: it forwards SIGTERM to portagent and reaps the orphans that tools leave.
# Debian package versions are not pinned: the base image tag fixes the Debian release, and
# pinning exact versions breaks the build whenever Debian ships a security update.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends bubblewrap tini \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 1001 agentx \
    && useradd --uid 1001 --gid 1001 --home-dir /home/agentx --create-home \
       --shell /bin/bash agentx \
    && mkdir -p /home/agentx/.agentx \
    && chown 1001:1001 /home/agentx/.agentx \
    && chmod 0700 /home/agentx/.agentx

# Only the wheel: it is bind-mounted for this step and never stored in a layer.
RUN --mount=type=bind,from=wheel,source=/dist,target=/tmp/dist \
    pip install --no-cache-dir --disable-pip-version-check /tmp/dist/portagent-*.whl \
    && portagent -V

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/home/agentx \
    DATA_DIR=/home/agentx/.agentx \
    HOST=0.0.0.0 \
    PORT=5200 \
    NODE_ENV=production

USER 1001:1001
WORKDIR /home/agentx
VOLUME ["/home/agentx/.agentx"]
EXPOSE 5200

# Python's urllib, so the image needs no wget or curl. A non-2xx answer or no answer fails.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s%s/health' % (os.environ.get('PORT', '5200'), os.environ.get('BASE_PATH', '')), timeout=4)"]

# Exec form under tini: SIGTERM reaches portagent, which stops cleanly within a few seconds.
ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["portagent"]
