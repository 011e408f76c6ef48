# The player role: `docker build -f deploy/player.Dockerfile .` from the repository root.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 app
WORKDIR /app

COPY pyproject.toml README.md ./
COPY musicalface musicalface
COPY services services
COPY training training
RUN pip install ".[player]"
# The token volume mounts here; a new volume takes this folder's owner.
RUN mkdir /tokens && chown app /tokens

USER app

CMD ["musicalface", "player", "run"]
