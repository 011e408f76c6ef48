# The emotion role: `docker build -f deploy/emotion.Dockerfile .` from the repository root.
FROM python:3.11.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 app
WORKDIR /app

COPY pyproject.toml README.md ./
COPY musicalface musicalface
COPY services services
COPY training training
RUN pip install ".[emotion]"
# tensorflow-serving-api asks for the full tensorflow; its protos run on tensorflow-cpu.
RUN pip install --no-deps tensorflow-serving-api==2.21.0

USER app

CMD ["musicalface", "emotion", "worker"]
