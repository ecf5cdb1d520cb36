# Kling Studio: one image, two roles.
#   web (default):  gunicorn behind your TLS proxy, static files served by whitenoise
#   workers:        docker run ... kling-studio python manage.py qcluster
#   free work:      docker run -e Q_CLUSTER_NAME=klingstudio-free ... kling-studio python manage.py qcluster
#   migrations:     docker run --rm ... kling-studio python manage.py migrate
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    KLING_PRODUCTION=1 \
    KLING_VAR_DIR=/data \
    STATIC_ROOT=/app/staticfiles \
    WEB_CONCURRENCY=2 \
    KLING_MAX_REQUEST_MB=64

WORKDIR /app

# Unprivileged user (uid 1000, so a bind-mounted /data is easy to chown) and the data directory it
# owns. Its home holds gunicorn's control socket.
RUN useradd --create-home --uid 1000 --user-group --shell /usr/sbin/nologin kling \
 && install -d -o kling -g kling /data

# Every requirement ships as a binary wheel (PyAV bundles FFmpeg): no compiler, no apt packages.
# Only what runs: the test tools live in requirements-dev.txt and stay out of the image.
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt

# App code stays root-owned and read-only to the app user.
COPY . .

# Hashed, compressed static files for whitenoise. KLING_PRODUCTION=1 requires a SECRET_KEY; this
# throwaway one exists only for this step and is not stored in the image.
RUN SECRET_KEY=collectstatic-build-only-not-a-secret python manage.py collectstatic --noinput

USER kling
# SQLite database, uploaded frames, downloaded videos (KLING_VAR_DIR).
VOLUME ["/data"]
EXPOSE 8000

# Asks /health/ as the first ALLOWED_HOSTS name, marked as HTTPS so that SECURE_SSL_REDIRECT
# does not answer with a redirect. Disable it for worker containers.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import http.client, os, sys; h = (os.environ.get('ALLOWED_HOSTS') or 'localhost').split(',')[0].strip().lstrip('.'); c = http.client.HTTPConnection('127.0.0.1', 8000, timeout=4); c.request('GET', '/health/', headers={'Host': 'localhost' if h == '*' else h, 'X-Forwarded-Proto': 'https'}); sys.exit(c.getresponse().status != 200)"]

# klingstudio/gunicorn.py: 4 threads per worker (WEB_CONCURRENCY workers), the access log on
# stdout with every secret path segment redacted. The server refuses a request over
# KLING_MAX_REQUEST_MB before reading it (klingstudio/wsgi.py).
CMD ["gunicorn", "klingstudio.wsgi", "-c", "python:klingstudio.gunicorn", "--bind", "0.0.0.0:8000"]
