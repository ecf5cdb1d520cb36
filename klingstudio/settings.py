"""Kling Studio settings: every knob a deployer turns is an environment variable.

Defaults run on a laptop with nothing installed but pip (SQLite, the django-q2 ORM broker, local
media, the built-in ShortAPI simulator). `KLING_PRODUCTION=1` switches on the hardening that
`manage.py check --deploy` asks for. A bad value stops start-up with a message naming the variable.
"""

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name, default=""):
    return os.environ.get(name, default).strip()


def env_bool(name, default=False):
    value = env_str(name).lower()
    if not value:
        return default
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no), not {value!r}.")


def env_int(name, default, minimum=0):
    value = env_str(name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {number}.")
    return number


def env_list(name, default):
    value = env_str(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else default


def env_url(name, default=""):
    value = env_str(name, default).rstrip("/")
    if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
        raise ImproperlyConfigured(f"{name} must be an http(s) URL such as https://example.com, "
                                   f"not {value!r}.")
    return value


def env_choice(name, default, choices):
    value = env_str(name, default).lower()
    if value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, not {value!r}.")
    return value


PRODUCTION = env_bool("KLING_PRODUCTION")
DEBUG = env_bool("DEBUG", default=False)
if PRODUCTION and DEBUG:
    raise ImproperlyConfigured("DEBUG must be off when KLING_PRODUCTION is on.")

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if PRODUCTION:
        raise ImproperlyConfigured("SECRET_KEY must be set when KLING_PRODUCTION is on: use a "
                                   "long random string.")
    SECRET_KEY = "insecure-local-only-key-change-me-for-any-shared-deployment-0123456789"

# The address people and ShortAPI reach this app at: callbacks and signed image URLs use it.
# Empty means ShortAPI cannot reach the app: images travel inline and jobs are polled.
PUBLIC_BASE_URL = env_url("PUBLIC_BASE_URL")

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
if PUBLIC_BASE_URL and urlsplit(PUBLIC_BASE_URL).hostname not in ALLOWED_HOSTS:
    ALLOWED_HOSTS.append(urlsplit(PUBLIC_BASE_URL).hostname)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL] if PUBLIC_BASE_URL else [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "axes",
    # before django_q: jobs' `qcluster` (the workers plus the dispatcher) overrides django_q's,
    # as staticfiles' `runserver` overrides Django's
    "jobs",
    "django_q",
    "spend",
    "teams",
    "sequences",
    "simulator",
    "webhooks",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # last, as django-axes asks: it turns a locked-out sign-in into the lockout page
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "klingstudio.urls"
WSGI_APPLICATION = "klingstudio.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "spend.approvals.menu",
            ],
        },
    },
]

VAR_DIR = Path(env_str("KLING_VAR_DIR") or BASE_DIR / "var")
try:
    DATABASES = {
        "default": dj_database_url.parse(
            env_str("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=60
        )
    }
except ValueError as error:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL I understand: {error}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL and IMMEDIATE transactions let the web process and the ORM broker's workers share one
    # SQLite file without "database is locked". Connections are kept (a SQLite connection holds
    # no lock between transactions), so a request does not pay for opening one.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    DATABASES["default"]["TEST"] = {"NAME": env_str("KLING_TEST_SQLITE") or None}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in ("redis", "rediss", "unix"):
    raise ImproperlyConfigured(f"REDIS_URL must start with redis://, not {REDIS_URL!r}.")

# Task settings are chosen, not defaulted: a submit task must never run twice because it was slow
# (retry well above timeout), and a task that raised is acknowledged rather than redelivered: the
# job row's state machine, not the broker, decides whether ShortAPI is called again.
TASK_TIMEOUT = env_int("KLING_TASK_TIMEOUT", 90, minimum=10)
Q_CLUSTER = {
    "name": env_str("KLING_QUEUE_NAME", "klingstudio"),
    "workers": env_int("KLING_WORKERS", 2, minimum=1),
    "timeout": TASK_TIMEOUT,
    "retry": TASK_TIMEOUT * 3,
    "max_attempts": 1,
    "ack_failures": True,
    "catch_up": False,
    # successes are not kept (each would cost the monitor a write and a prune); failures are,
    # in the admin under "Failed tasks"
    "save_limit": -1,
    "poll": 0.5,
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
# Free heavy work (sequence exports, reading a kept video's facts) has a queue and workers of its
# own, so it never holds up ShortAPI's tasks: `Q_CLUSTER_NAME=<name>-free manage.py qcluster`
# runs them (runstudio starts one). An export may run for EXPORT_TIMEOUT; retry stays above it.
KLING_FREE_QUEUE = f"{Q_CLUSTER['name']}-free"
KLING_EXPORT_TIMEOUT = env_int("KLING_EXPORT_TIMEOUT", 20 * 60, minimum=60)
Q_CLUSTER["ALT_CLUSTERS"] = {KLING_FREE_QUEUE: {
    "workers": env_int("KLING_FREE_WORKERS", 1, minimum=1),
    "timeout": KLING_EXPORT_TIMEOUT,
    "retry": KLING_EXPORT_TIMEOUT * 2,
}}
# The cache holds rate-limit counts and ShortAPI's health: Redis across hosts (its keys named
# after the queue, so two studios can share one Redis), else files the processes of one machine
# share.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                      "LOCATION": REDIS_URL, "KEY_PREFIX": Q_CLUSTER["name"]} if REDIS_URL else
          {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
           "LOCATION": str(VAR_DIR / "cache")}}

# Password guessing: django-axes locks a username out from an address after repeated failures,
# on the sign-in page and the admin's alike.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend",
                           "django.contrib.auth.backends.ModelBackend"]
AXES_FAILURE_LIMIT = env_int("KLING_SIGN_IN_ATTEMPTS", 5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("KLING_SIGN_IN_LOCKOUT_MINUTES", 15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_CLIENT_IP_CALLABLE = "lib.ratelimit.client_ip"
# The header a proxy in front sets to the client's address (e.g. X-Forwarded-For); empty:
# REMOTE_ADDR. Only set it behind a proxy that overwrites it: a client can send any header.
KLING_CLIENT_IP_HEADER = env_str("KLING_CLIENT_IP_HEADER")
# Rate limits: video submissions per person and per address in 10 minutes, ShortAPI callbacks
# per address in a minute.
KLING_COMPOSE_PER_PERSON = env_int("KLING_COMPOSE_PER_PERSON", 30, minimum=1)
KLING_COMPOSE_PER_ADDRESS = env_int("KLING_COMPOSE_PER_ADDRESS", 90, minimum=1)
KLING_CALLBACKS_PER_ADDRESS = env_int("KLING_CALLBACKS_PER_ADDRESS", 1200, minimum=1)
# Free heavy work, per person: sequences kept, takes in one sequence, an export's length in
# minutes, exports asked for in an hour.
KLING_SEQUENCES_PER_PERSON = env_int("KLING_SEQUENCES_PER_PERSON", 100, minimum=1)
KLING_TAKES_PER_SEQUENCE = env_int("KLING_TAKES_PER_SEQUENCE", 60, minimum=1)
KLING_EXPORT_MAX_MINUTES = env_int("KLING_EXPORT_MAX_MINUTES", 15, minimum=1)
KLING_EXPORTS_PER_HOUR = env_int("KLING_EXPORTS_PER_HOUR", 10, minimum=1)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "gallery"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION
if not PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Media is never served as a public directory: frames and videos go through owner-checked views.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or VAR_DIR / "media")
# Object storage: with a bucket named, frames, element images, posters and kept videos go to an
# S3-compatible bucket (django-storages), private, and browsers get short-lived presigned links
# after the same ownership check; several hosts then share no disk.
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
OBJECT_STORAGE = bool(AWS_STORAGE_BUCKET_NAME)
AWS_S3_ENDPOINT_URL = env_url("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME") or None
KLING_PRESIGNED_URL_SECONDS = env_int("KLING_PRESIGNED_URL_SECONDS", 300, minimum=60)
# A kept video streams up in 8 MB parts, two at a time, and at most two more read ahead: a
# bounded buffer (about 40 MB), never the whole video.
S3_TRANSFER = {"multipart_threshold": 8 * 2**20, "multipart_chunksize": 8 * 2**20,
               "max_concurrency": 2}
S3_TRANSFER_QUEUE = 2


def s3_transfer_config():
    from boto3.s3.transfer import TransferConfig

    config = TransferConfig(**S3_TRANSFER)
    # boto3 takes these only as attributes; without them it reads the whole stream ahead
    config.max_request_queue_size = config.max_submission_queue_size = S3_TRANSFER_QUEUE
    return config

if OBJECT_STORAGE:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "region_name": AWS_S3_REGION_NAME,
            "default_acl": None,
            "querystring_auth": True,
            "querystring_expire": KLING_PRESIGNED_URL_SECONDS,
            "signature_version": "s3v4",
            "addressing_style": "path" if AWS_S3_ENDPOINT_URL else None,
            # names are never reused, so no existence check before each write
            "file_overwrite": True,
            "transfer_config": s3_transfer_config(),
        },
    }
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# A composer submission carries at most 14 images (two frames, three elements of four); the web
# server refuses a larger request before reading it (klingstudio/wsgi.py).
DATA_UPLOAD_MAX_NUMBER_FILES = 16
KLING_MAX_REQUEST_MB = env_int("KLING_MAX_REQUEST_MB", 64, minimum=11)

# ShortAPI. Without a key the built-in simulator stands in for it.
SHORTAPI_KEY = env_str("SHORTAPI_KEY")
SHORTAPI_SIMULATED = not SHORTAPI_KEY
if SHORTAPI_SIMULATED:
    SHORTAPI_KEY = "local-simulator-key"
SHORTAPI_BASE_URL = env_url(
    "SHORTAPI_BASE_URL",
    "http://127.0.0.1:8001" if SHORTAPI_SIMULATED else "https://api.shortapi.ai",
)
SHORTAPI_TIMEOUT = env_int("SHORTAPI_TIMEOUT", 30, minimum=1)
# How frames travel when ShortAPI cannot fetch them from PUBLIC_BASE_URL: a data: URI (what
# public ShortAPI scripts send) or raw base64 (what Kling's own API takes).
KLING_IMAGE_TRANSPORT = env_choice(
    "KLING_IMAGE_TRANSPORT", "auto", ("auto", "url", "data-uri", "base64")
)
# Whether ShortAPI on the internet reaches PUBLIC_BASE_URL: `auto` checks (https, public
# addresses); `yes`/`no` overrides, e.g. behind split-horizon DNS. See jobs/reachability.py.
KLING_PUBLIC_URL_REACHABLE = env_choice("KLING_PUBLIC_URL_REACHABLE", "auto", ("auto", "yes", "no"))
KLING_IMAGE_URL_MAX_AGE = env_int("KLING_IMAGE_URL_MAX_AGE", 24 * 3600, minimum=60)
KLING_VIDEO_MAX_BYTES = env_int("KLING_VIDEO_MAX_BYTES", 500 * 1024 * 1024, minimum=1024)
# Polling: a job is first asked about after KLING_POLL_FIRST_SECONDS, then less and less often up
# to every KLING_POLL_MAX_SECONDS (with callbacks, every KLING_POLL_MAX_SECONDS from the start);
# a job past its time limit every KLING_POLL_OVERDUE_SECONDS. The dispatcher in each qcluster
# looks for due work every KLING_DISPATCH_SECONDS.
KLING_POLL_FIRST_SECONDS = env_int("KLING_POLL_FIRST_SECONDS", 2, minimum=1)
KLING_POLL_MAX_SECONDS = env_int("KLING_POLL_MAX_SECONDS", 60, minimum=1)
KLING_POLL_OVERDUE_SECONDS = env_int("KLING_POLL_OVERDUE_SECONDS", 600, minimum=1)
KLING_DISPATCH_SECONDS = env_int("KLING_DISPATCH_SECONDS", 1, minimum=1)
# Outbound requests ignore HTTP(S)_PROXY and friends unless this is on.
KLING_OUTBOUND_ENV_PROXY = env_bool("KLING_OUTBOUND_ENV_PROXY")
# Budgets: spending is limited per period; people are warned past this share of their budget.
KLING_BUDGET_PERIOD = env_choice("KLING_BUDGET_PERIOD", "monthly", ("daily", "weekly", "monthly"))
KLING_BUDGET_WARN_PERCENT = env_int("KLING_BUDGET_WARN_PERCENT", 80, minimum=1)
# A job ShortAPI has not finished after this long is given up (and not counted as spent).
KLING_JOB_TIME_LIMIT_MINUTES = env_int("KLING_JOB_TIME_LIMIT_MINUTES", 60, minimum=1)
# Video downloads never go to internal addresses; these hosts are exempt (the simulator's host
# is added by itself when no SHORTAPI_KEY is set).
KLING_DOWNLOAD_ALLOWED_HOSTS = env_list("KLING_DOWNLOAD_ALLOWED_HOSTS", [])
SIMULATOR_MEDIA_DIR = VAR_DIR / "simulator"
# Webhooks (webhooks/): never sent to internal addresses, except to these hosts ("name" for any
# port, or "name:port"), the operator's choice. Each try has KLING_WEBHOOK_TIMEOUT seconds; a try
# that fails is tried again after each of KLING_WEBHOOK_RETRY_SECONDS in turn (Standard
# Webhooks' schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), then the endpoint is switched off.
KLING_WEBHOOK_ALLOWED_HOSTS = env_list("KLING_WEBHOOK_ALLOWED_HOSTS", [])
KLING_WEBHOOK_TIMEOUT = env_int("KLING_WEBHOOK_TIMEOUT", 10, minimum=1)
try:
    KLING_WEBHOOK_RETRY_SECONDS = [int(value) for value in env_list(
        "KLING_WEBHOOK_RETRY_SECONDS", ["5", "300", "1800", "7200", "18000", "36000", "36000"])]
except ValueError:
    raise ImproperlyConfigured("KLING_WEBHOOK_RETRY_SECONDS must be whole seconds separated by "
                               "commas, such as 5,300,1800.") from None
if len(KLING_WEBHOOK_RETRY_SECONDS) > 20 or any(s < 0 for s in KLING_WEBHOOK_RETRY_SECONDS):
    raise ImproperlyConfigured("KLING_WEBHOOK_RETRY_SECONDS must be at most 20 numbers of "
                               "seconds, none negative.")
# endpoints one person, or one team, may register
KLING_WEBHOOKS_PER_OWNER = env_int("KLING_WEBHOOKS_PER_OWNER", 10, minimum=1)
# Settled deliveries (and their tries) are kept this many days for the endpoints' pages, then
# forgotten, so the tables do not grow without end.
KLING_WEBHOOK_KEEP_DAYS = env_int("KLING_WEBHOOK_KEEP_DAYS", 30, minimum=1)

# E-mail, for people who ask to hear when a video finishes (jobs/notify.py). Without EMAIL_HOST
# (or EMAIL_BACKEND) messages are printed to the worker's console instead of sent.
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends." + (
    "smtp.EmailBackend" if env_str("EMAIL_HOST") else "console.EmailBackend"))
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 20, minimum=1)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Kling Studio <kling-studio@localhost>")

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
# Links to other sites carry no URL of ours: a token in a path never reaches their logs.
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Presigned links point at the bucket's endpoint (any https one, for AWS itself).
STORAGE_ORIGINS = ([AWS_S3_ENDPOINT_URL or "https:"] if OBJECT_STORAGE else [])
# No inline script or style on any page. Videos may play from ShortAPI's own copy (any https
# origin, and the simulator's) until ours is kept.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "blob:", *STORAGE_ORIGINS],
        "media-src": [SELF, "blob:", "https:", SHORTAPI_BASE_URL, *STORAGE_ORIGINS],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}
if PRODUCTION:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

# Every record passes through one handler that redacts secret path segments (lib/redact.py);
# Django's own request loggers are routed there instead of to handlers of their own.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "lib.redact.RedactTokens"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["redact"]}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django.server": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "axes": {"level": "WARNING"},
    },
}
