# The plekwijzer API image: one `plekwijzer serve` process per container; run several behind a
# proxy (docker-compose.yml) for the production shape.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# Dependencies first, so that a code change does not reinstall them.
COPY pyproject.toml README.md ./
COPY backend/__init__.py backend/__init__.py
COPY solver/__init__.py solver/__init__.py
RUN pip install -e . && rm -rf /root/.cache

COPY backend backend
COPY solver solver
COPY frontend frontend

RUN useradd --system --uid 10001 plekwijzer
USER plekwijzer

ENV PLEKWIJZER_ENVIRONMENT=production
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["plekwijzer", "serve", "--host", "0.0.0.0", "--port", "8000"]
