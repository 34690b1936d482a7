# The cockpit from its wheel. Stage 1 builds the project's wheel and a wheel of every dependency;
# stage 2 installs only from those wheels (no compiler, no index), so the image is what `pip install`
# of the wheel gives anyone. Run `cockpit db upgrade && cockpit regions load-defaults` once against
# the database, then start this image for the web app and once more with `cockpit worker`.
#   docker build -t hotline-cockpit .
#   docker run -p 8050:8050 -e COCKPIT_DATABASE_URL=postgresql+psycopg://... \
#       -e COCKPIT_REDIS_URL=redis://... -e COCKPIT_SECRET_KEY=... hotline-cockpit

FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels hotline-cockpit \
    && rm -rf /wheels \
    && useradd --create-home --uid 10001 cockpit
USER cockpit
WORKDIR /home/cockpit
ENV COCKPIT_VAR_DIR=/home/cockpit/var
EXPOSE 8050
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8050/healthz', timeout=4)"
CMD ["gunicorn", "--workers", "4", "--bind", "0.0.0.0:8050", "app:server"]
