"""ispbills settings, read from the environment (see docs/deploy.md for every variable)."""

from pathlib import Path

from config import database
from config.env import ConfigError, env_bool, env_int, env_list, env_str, local_secret

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(env_str("ISPBILLS_DATA_DIR", str(BASE_DIR / "var"))).resolve()

DEBUG = env_bool("ISPBILLS_DEBUG", False)
database_url = env_str("DATABASE_URL")
EMBEDDED_DATABASE = not database_url

SECRET_KEY = env_str("ISPBILLS_SECRET_KEY")
if not SECRET_KEY:
    if not EMBEDDED_DATABASE:
        raise ConfigError(
            "ISPBILLS_SECRET_KEY is not set. With an external database (DATABASE_URL) set it "
            "to a long random string (or ISPBILLS_SECRET_KEY_FILE to a file holding one)."
        )
    # A local install on the embedded database keeps a generated key in its data dir.
    SECRET_KEY = local_secret(DATA_DIR / "secret_key")

# Fernet key(s) for secrets at rest (service passwords, router, NAS, gateway, SMTP
# credentials); the first one encrypts. A local install keeps a generated one in its data dir.
FIELD_ENCRYPTION_KEYS = env_list("ISPBILLS_FIELD_ENCRYPTION_KEYS")
if not FIELD_ENCRYPTION_KEYS:
    if not EMBEDDED_DATABASE:
        raise ConfigError(
            "ISPBILLS_FIELD_ENCRYPTION_KEYS is not set. Generate one with: python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        )
    FIELD_ENCRYPTION_KEYS = [local_secret(DATA_DIR / "field_key", fernet=True)]

ALLOWED_HOSTS = env_list("ISPBILLS_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("ISPBILLS_CSRF_TRUSTED_ORIGINS")
SITE_URL = env_str("ISPBILLS_SITE_URL", "http://127.0.0.1:8000")
# Where the demo's fake payment providers run (``ispbills fake_gateways``, started by
# ``ispbills run``); the demo ISP's gateway accounts point there.
FAKE_GATEWAYS_URL = env_str("ISPBILLS_FAKE_GATEWAYS_URL", "http://127.0.0.1:8010")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "procrastinate.contrib.django",
    "ispbills.core",
    "ispbills.tenancy",
    "ispbills.catalog",
    "ispbills.customers",
    "ispbills.radius",
    "ispbills.network",
    "ispbills.billing",
    "ispbills.payments",
    "ispbills.accounting",
    "ispbills.expenses",
    "ispbills.cards",
    "ispbills.reports",
    "ispbills.web",
    "ispbills.api",
    "ispbills.demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "ispbills.tenancy.middleware.TenantContextMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
                "ispbills.web.context_processors.shell",
            ],
        },
    },
]

DATABASES = {
    "default": database.from_url(database_url) if database_url else database.embedded(DATA_DIR)
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "tenancy.User"
AUTHENTICATION_BACKENDS = ["ispbills.tenancy.auth.UsernameOrMobileBackend"]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "web:login"
LOGIN_REDIRECT_URL = "web:dashboard"
LOGOUT_REDIRECT_URL = "web:login"
# Failed logins allowed per username and per source address inside the window.
# Days a reseller may stay below its floor (zero prepaid, minus its credit limit) before the
# daily settlement check disables it until it adds funds.
RESELLER_GRACE_DAYS = env_int("ISPBILLS_RESELLER_GRACE_DAYS", 7)
LOGIN_THROTTLE_ATTEMPTS = env_int("ISPBILLS_LOGIN_THROTTLE_ATTEMPTS", 5)
LOGIN_THROTTLE_IP_ATTEMPTS = env_int("ISPBILLS_LOGIN_THROTTLE_IP_ATTEMPTS", 20)
LOGIN_THROTTLE_WINDOW_SECONDS = env_int("ISPBILLS_LOGIN_THROTTLE_WINDOW", 900)

# Recharge cards (docs/cards.md): wrong PINs allowed inside the window per customer, per
# source address and per card distributor before redemption is locked for them; locked
# attempts answer 429 until the failures age out of the window.
CARD_LOCKOUT_WINDOW_SECONDS = env_int("ISPBILLS_CARD_LOCKOUT_WINDOW", 900)
CARD_LOCKOUT_CUSTOMER_ATTEMPTS = env_int("ISPBILLS_CARD_LOCKOUT_CUSTOMER_ATTEMPTS", 5)
CARD_LOCKOUT_IP_ATTEMPTS = env_int("ISPBILLS_CARD_LOCKOUT_IP_ATTEMPTS", 20)
CARD_LOCKOUT_DISTRIBUTOR_ATTEMPTS = env_int("ISPBILLS_CARD_LOCKOUT_DISTRIBUTOR_ATTEMPTS", 20)
# Batches up to this many cards get their voucher sheets at once; larger ones through a job.
CARD_DIRECT_PDF_LIMIT = env_int("ISPBILLS_CARD_DIRECT_PDF_LIMIT", 200)

SECURE_COOKIES = env_bool("ISPBILLS_SECURE_COOKIES", not DEBUG and SITE_URL.startswith("https"))
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("ISPBILLS_SESSION_AGE", 12 * 3600)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if SECURE_COOKIES:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("bn", "বাংলা")]
LOCALE_PATHS = [BASE_DIR / "ispbills" / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True
DEFAULT_TENANT_TIMEZONE = "Asia/Dhaka"
DEFAULT_CURRENCY = "BDT"

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
TRUSTED_PROXY = env_bool("ISPBILLS_TRUSTED_PROXY", False)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
MEDIA_ROOT = DATA_DIR / "media"
EXPORT_ROOT = DATA_DIR / "exports"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "ispbills.api.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "ispbills.api.pagination.KeysetPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "ispbills.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "ispbills API",
    "DESCRIPTION": "REST API of the ispbills ISP management platform. Authenticate with "
    "`Authorization: Bearer <token>` (create one with `ispbills token create USERNAME`).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": "/api/v[0-9]",
    "ENUM_NAME_OVERRIDES": {
        "OperatorKindEnum": "ispbills.tenancy.models.Operator.Kind",
        "ZoneKindEnum": "ispbills.customers.models.Zone.Kind",
        "CustomFieldKindEnum": "ispbills.customers.models.CustomField.Kind",
        "NasDeviceKindEnum": "ispbills.radius.models.NasDevice.Kind",
        "DisconnectKindEnum": "ispbills.radius.models.Disconnect.Kind",
        "TransferRequestKindEnum": "ispbills.accounting.models.TransferRequest.Kind",
        "FundsMethodEnum": "ispbills.accounting.funds.FUNDS_METHOD_CHOICES",
        "IpPoolPurposeEnum": "ispbills.network.models.IpPool.Purpose",
        "PaymentAttemptPurposeEnum": "ispbills.payments.models.PaymentAttempt.Purpose",
        "PaymentAttemptStateEnum": "ispbills.payments.models.PaymentAttempt.State",
        "CardStateEnum": "ispbills.cards.models.Card.State",
    },
}

# RADIUS: seconds a Disconnect/CoA packet waits for the router's answer before it is sent
# again, and seconds without an interim update after which an open session counts as ended.
RADIUS_DYNAUTH_TIMEOUT = env_int("ISPBILLS_RADIUS_DYNAUTH_TIMEOUT", 3)
RADIUS_STALE_AFTER = env_int("ISPBILLS_RADIUS_STALE_AFTER", 960)

PROCRASTINATE_AUTODISCOVER_MODULE_NAME = "tasks"
PROCRASTINATE_IMPORT_PATHS = ["config.schedule"]
PROCRASTINATE_ON_APP_READY = "ispbills.core.jobs.on_app_ready"

DJANGO_TABLES2_TEMPLATE = "django_tables2/bootstrap5.html"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("ISPBILLS_LOG_LEVEL", "INFO")},
    "loggers": {
        "procrastinate": {"level": "WARNING"},
        "django.server": {"level": "WARNING"},
        # httpx logs every request URL at INFO; gateway URLs can carry credentials in their
        # query string (SSLCommerz, bKash's TrxID check). Exchanges are stored redacted instead.
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}
