"""PharmaCRM settings, read from the environment (12-factor).

Every variable is listed in README.md ("Configuration"). With nothing set, the
app keeps its state under ``var/``: the SQLite database, uploads, the job queue
and a generated secret key that persists between runs.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url
from whitenoise.compress import Compressor

from pharmacrm.keyfiles import read_or_create

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


VAR_DIR = Path(env_str("PHARMACRM_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _persistent_secret_key() -> str:
    """A key generated once and kept in var/, so sessions survive restarts."""
    return read_or_create(VAR_DIR / "secret_key", lambda: secrets.token_urlsafe(50))


SECRET_KEY = env_str("SECRET_KEY") or _persistent_secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# No django.contrib.admin: its edits would bypass the services and the audit trail.
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "huey.contrib.djhuey",
    "pharmacrm.core",
    "pharmacrm.org",
    "pharmacrm.customers",
    "pharmacrm.sales",
    "pharmacrm.samples",
    "pharmacrm.grading",
    "pharmacrm.engagement",
    "pharmacrm.content",
    "pharmacrm.service",
    "pharmacrm.surveys",
    "pharmacrm.privacy",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "pharmacrm.core.middleware.RequestIdMiddleware",
    "pharmacrm.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "pharmacrm.core.middleware.UserLanguageMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "pharmacrm.org.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
    "pharmacrm.core.middleware.DatabaseFullMiddleware",
]

ROOT_URLCONF = "pharmacrm.urls"
WSGI_APPLICATION = "pharmacrm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "pharmacrm.core.context_processors.shell",
            ],
            "builtins": [
                "django.templatetags.i18n",
                "template_partials.templatetags.partials",
                "pharmacrm.core.templatetags.pharmacrm",
            ],
        },
    }
]

# --- Database -----------------------------------------------------------------
# SQLite by default (WAL, busy timeout, IMMEDIATE transactions: RELIABILITY.md
# pitfalls 1-3); PostgreSQL through psycopg 3 when DATABASE_URL is set.
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "pharmacrm.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                    "PRAGMA journal_size_limit=67108864; PRAGMA cache_size=-20000;"
                    # fault-injection tests only (RELIABILITY.md #28b): cap the file to simulate a full disk
                    + (f" PRAGMA max_page_count={env_int('PHARMACRM_SQLITE_MAX_PAGES', 0)};"
                       if env_int("PHARMACRM_SQLITE_MAX_PAGES", 0) > 0 else "")
                ),
            },
            # A file, not :memory:, so concurrency tests see real locking.
            "TEST": {"NAME": str(VAR_DIR / "test.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------
AUTH_USER_MODEL = "org.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "org:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "org:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if env_bool("PHARMACRM_FAST_HASHER"):  # tests only: PBKDF2 costs ~0.3 s per login
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

# Lockout: the 6th attempt within the window after 5 failures is refused.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = env_int("LOGIN_COOLOFF_MINUTES", 15) / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "pharmacrm.org.views.lockout_response"
AXES_VERBOSE = False
# Lock by username, not by IP: a company intranet puts many users behind one NAT
# address, and an IP lockout would lock out a whole office (axes.W006 disagrees).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_ENABLE_ACCESS_FAILURE_LOG = True

# Sessions: absolute lifetime and idle timeout (touched at most once a minute).
SESSION_COOKIE_AGE = env_int("SESSION_MAX_AGE_SECONDS", 12 * 3600)
SESSION_IDLE_TIMEOUT = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
REQUIRE_ADMIN_2FA = env_bool("REQUIRE_ADMIN_2FA", True)
OTP_TOTP_ISSUER = "PharmaCRM"

# --- Production transport security (on unless DEBUG or HTTPS=false) -----------
HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_COOKIE_HTTPONLY = False
if HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain http

# --- I18n ---------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "pharmacrm" / "locale"]
USE_I18N = True
TIME_ZONE = "Asia/Shanghai"
USE_TZ = True

# --- Static and uploads -------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
# Bootstrap and icons come from npm (package-lock.json) at install time.
STATICFILES_DIRS = [
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/signature_pad", BASE_DIR / "node_modules" / "signature_pad" / "dist"),
]
STATICFILES_DIRS = [(prefix, path) for prefix, path in STATICFILES_DIRS if path.exists()]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
# Source maps are for the browser's developer tools only: compressing their 26 MB took two thirds of collectstatic.
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (*Compressor.SKIP_COMPRESS_EXTENSIONS, "map")
if env_bool("PHARMACRM_PLAIN_STATIC"):  # tests: no collectstatic manifest needed
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
# Uploads live outside any public path and are served only by a permission-checked view.
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "uploads")))
MEDIA_URL = "/files/"
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 10 * 1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

# --- Email --------------------------------------------------------------------
EMAIL_URL = env_str("EMAIL_URL")  # smtp://user:pass@host:587 ; var/mail/ and one console line when unset
if EMAIL_URL:
    from urllib.parse import unquote, urlparse

    _mail = urlparse(EMAIL_URL)
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = _mail.hostname or "localhost"
    EMAIL_PORT = _mail.port or 25
    EMAIL_HOST_USER = unquote(_mail.username or "")
    EMAIL_HOST_PASSWORD = unquote(_mail.password or "")
    EMAIL_USE_TLS = _mail.port == 587 or "tls=true" in _mail.query
    EMAIL_USE_SSL = _mail.scheme == "smtps"
else:  # each message kept under var/mail/ and announced in one console line
    EMAIL_BACKEND = "pharmacrm.core.mail.OneLineConsoleBackend"
    EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "pharmacrm@localhost")
# The address users reach the app at, for links in emails.
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000")
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600

# --- Jobs ---------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "pharmacrm",
        "url": REDIS_URL,
        "immediate": env_bool("JOBS_IMMEDIATE", False),
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "pharmacrm",
        "filename": str(VAR_DIR / "jobs.sqlite3"),
        "immediate": env_bool("JOBS_IMMEDIATE", False),
        "consumer": {"workers": 2, "worker_type": "thread"},
    }
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
WORKER_HEARTBEAT_STALE_SECONDS = 180

# --- API ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # masks resident IDs, bank accounts and mobiles in every string for roles without unmasked access (PIPL)
    "DEFAULT_RENDERER_CLASSES": ["pharmacrm.privacy.api.renderers.MaskingJSONRenderer",
                                 "rest_framework.renderers.BrowsableAPIRenderer"],
    "DEFAULT_PAGINATION_CLASS": "pharmacrm.core.api.pagination.PagePagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "pharmacrm.core.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_THROTTLE_RATES": {"anon": env_str("API_ANON_RATE", "30/minute")},
}
SPECTACULAR_SETTINGS = {
    "TITLE": "PharmaCRM API",
    "DESCRIPTION": "药企客户管理系统 REST API. Token auth: POST /api/v1/auth/token/.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "InstitutionStatusEnum": "pharmacrm.customers.choices.InstitutionStatus",
        "ApprovalStatusEnum": "pharmacrm.core.models.ApprovalStatus",
        "AccountRequestStatusEnum": "pharmacrm.org.models.AccountRequest.Status",
        "ReviewStatusEnum": "pharmacrm.customers.choices.ReviewStatus",
        "InstitutionKindEnum": "pharmacrm.customers.choices.InstitutionKind",
        "LicenceKindEnum": "pharmacrm.customers.choices.LicenceKind",
        "ProductCategoryEnum": "pharmacrm.customers.choices.ProductCategory",
        "ProductStatusEnum": "pharmacrm.sales.choices.ProductStatus",
        "InvoiceKindEnum": "pharmacrm.sales.choices.InvoiceKind",
        "OrderStatusEnum": "pharmacrm.sales.choices.OrderStatus",
        "GradingDimensionEnum": "pharmacrm.grading.choices.Dimension",
        "StrategyDimensionEnum": "pharmacrm.grading.choices.StrategyDimension",
        "ContactChannelEnum": "pharmacrm.engagement.choices.Channel",
        "VisitChannelEnum": "pharmacrm.engagement.choices.VISIT_CHANNELS",
        "VisitKindEnum": "pharmacrm.engagement.choices.VisitKind",
        "ContentKindEnum": "pharmacrm.content.choices.ContentKind",
        "ConsentChannelEnum": "pharmacrm.customers.choices.ConsentChannel",
        "CaseKindEnum": "pharmacrm.service.choices.CaseKind",
        "CaseChannelEnum": "pharmacrm.service.choices.CaseChannel",
        "ClockKindEnum": "pharmacrm.service.choices.ClockKind",
        "PvKindEnum": "pharmacrm.service.choices.PvKind",
        "PvSeriousnessEnum": "pharmacrm.service.choices.PvSeriousness",
        "SurveyChannelEnum": "pharmacrm.surveys.choices.SurveyChannel",
        "SubjectRequestKindEnum": "pharmacrm.privacy.models.RequestKind",
        "SubjectRequestStatusEnum": "pharmacrm.privacy.models.RequestStatus",
        "AccessPurposeEnum": "pharmacrm.privacy.models.AccessPurpose",
    },
}

# --- Logging ------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}, "huey": {"level": "WARNING"}},
}
