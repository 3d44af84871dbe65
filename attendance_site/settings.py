"""Roll Call settings. Everything a deployment changes comes from the environment.

Defaults are the embedded set-up (SQLite, a filesystem Celery broker under var/) so that the
site runs on a fresh machine with no database or broker server.
"""

import os
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

from recognition.sealing import parse_keys

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("ROLLCALL_VAR_DIR", BASE_DIR / "var"))


TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def env_value(name):
    """The variable's value with its spaces trimmed, or None when it is unset."""
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_bool(name, default):
    """A yes-or-no setting. Anything but the words below is refused at start-up, an empty value
    too: a typo must not turn DEBUG on, or TLS off, without anybody noticing."""
    value = env_value(name)
    if value is None:
        return default
    if value.lower() in TRUE_WORDS:
        return True
    if value.lower() in FALSE_WORDS:
        return False
    raise ImproperlyConfigured(
        f"{name}={value!r} is not yes or no: set it to one of {', '.join(TRUE_WORDS)} or {', '.join(FALSE_WORDS)}."
    )


def env_number(name, default, kind, minimum=None):
    """A number setting (kind: int or float); unset or empty, the default. A value that is not a
    number, or below the minimum, is refused at start-up, naming the variable."""
    value = env_value(name)
    if not value:
        return default if default is None else kind(default)
    try:
        number = kind(value)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise ImproperlyConfigured(f"{name}={value!r} is not {what}.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} is below {minimum}, the least it can be.")
    return number


def env_int(name, default, minimum=None):
    return env_number(name, default, int, minimum)


def env_float(name, default, minimum=None):
    return env_number(name, default, float, minimum)


def env_choice(name, default, choices):
    """One of a fixed set of values (a language code, ...); unset or empty, the default. Any other
    value is refused at start-up, naming the variable and what it may be."""
    value = env_value(name)
    if not value:
        return default
    if value not in choices:
        raise ImproperlyConfigured(f"{name}={value!r} is not one of {', '.join(choices)}.")
    return value


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


NEW_KEY_HINT = (
    'Make a key with: python -c "from recognition.sealing import new_key; print(new_key())" '
    "(docs/configuration.md, FACE_DATA_KEY)."
)
DEV_SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"
DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", DEV_SECRET_KEY)
if not DEBUG and (SECRET_KEY == DEV_SECRET_KEY or len(SECRET_KEY) < 50):
    raise ImproperlyConfigured(
        "DEBUG is off but SECRET_KEY is the development key or shorter than 50 characters. "
        "Set SECRET_KEY to a long random value, e.g. the output of "
        "python -c 'import secrets; print(secrets.token_urlsafe(64))'."
    )
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "attendance_site.apps.RollCallAdminConfig",  # django.contrib.admin, its login limited like the site's
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI's files, served from here: /api/docs/ loads nothing from elsewhere
    "csp",
    "access",  # who may do what, for both apps: roles, classroom cameras' device tokens
    "students",
    "recognition",
]

MIDDLEWARE = [
    # /healthz for load balancers, before the host check and the HTTPS redirect (attendance_site/health.py).
    "attendance_site.health.HealthCheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The page's language: the chooser's cookie, else the browser's Accept-Language, else
    # LANGUAGE_CODE. After the session (Django's order), before CommonMiddleware.
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A logged-in person's own language (their preference, access/languages.py) beats the browser's.
    "access.languages.PreferredLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "attendance_site.errors.FriendlyErrorPages",  # our 403/404 pages for views, DEBUG on or off
]

# /healthz answers within this many seconds, each of its checks (database, broker, storage)
# bounded by it, so a balancer's probe gets an answer even when one of them hangs.
HEALTH_TIMEOUT_SECONDS = env_float("HEALTH_TIMEOUT_SECONDS", 1.5)

ROOT_URLCONF = "attendance_site.urls"
WSGI_APPLICATION = "attendance_site.wsgi.application"

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
                "access.roles.school_admin_link",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.config(
        env="DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["ENGINE"] = "attendance_site.sqlite3"  # makes the file's folder on first use
    # The web server and the worker write to the same file: wait for the lock instead of
    # failing, and take the write lock at BEGIN so two writers never deadlock on upgrade.
    DATABASES["default"]["OPTIONS"] = {"timeout": 30, "transaction_mode": "IMMEDIATE"}
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # A file, not the in-memory default: the fault tests run real worker processes, which must
    # open the same test database as pytest.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
# The cache holds rate-limit counters: every web server must see the same ones, so production
# points CACHE_URL at Redis (e.g. redis://redis-host:6379/1).
CACHE_URL = os.environ.get("CACHE_URL", "")
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    if CACHE_URL
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}
LOGIN_RATE_LIMIT = env_int("LOGIN_RATE_LIMIT", 10)  # attempts per minute per address and per user name
# How many proxies in front of the web servers (the HTTPS load balancer: 1) append the client's
# address to X-Forwarded-For; login limits count per client address read through them
# (attendance_site/ratelimit.py). 0: the header is ignored, every client is its TCP peer.
TRUSTED_PROXY_HOPS = env_int("TRUSTED_PROXY_HOPS", 0, minimum=0)
UPLOAD_RATE_LIMIT = env_int("UPLOAD_RATE_LIMIT", 60)  # uploads per minute per user or device
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A school admin holds every permission in /admin/ through their role, not through
# per-model permissions (access/roles.py).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "access.roles.SchoolAdminBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# The languages of the site (locale/<code>/LC_MESSAGES/django.po). A browser asking for any
# English gets en-gb (British dates); a browser asking for none of these gets LANGUAGE_CODE.
LANGUAGES = [("en-gb", "English"), ("vi", "Tiếng Việt")]
LANGUAGE_CODE = env_choice("LANGUAGE_CODE", "en-gb", [code for code, _name in LANGUAGES])
LOCALE_PATHS = [BASE_DIR / "locale"]
# The language absence notices to guardians are written in; each student's record may name
# another (Student.email_language).
GUARDIAN_EMAIL_LANGUAGE = env_choice("GUARDIAN_EMAIL_LANGUAGE", LANGUAGE_CODE, [code for code, _name in LANGUAGES])
TIME_ZONE = os.environ.get("TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic fills it for production; with DEBUG on, WhiteNoise serves from the apps' folders.
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Face photos and captures are biometric data of minors: there is no MEDIA_URL route; every
# file goes out through a view that checks who asks.
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Photos in S3-compatible object storage (django-storages) when S3_BUCKET is set, so that any
# number of web servers and workers share them without a shared folder; MEDIA_ROOT otherwise.


def object_storage(bucket, endpoint_url=None, region=None, access_key=None, secret_key=None):
    """STORAGES["default"] for photos in an S3 bucket. Objects are private and no URL to them is
    ever signed: every face image goes out through a permission-checked view that streams it
    (recognition/views.py private_file). Without keys, boto3 finds its own (an instance role,
    AWS_* variables, ~/.aws)."""
    from botocore.config import Config

    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint_url,
            "region_name": region,
            "access_key": access_key,
            "secret_key": secret_key,
            "default_acl": "private",
            "querystring_auth": False,
            # Names are random (recognition/models.py): no exists() round trip before each upload.
            "file_overwrite": True,
            # A store that does not answer fails an upload in seconds instead of holding a web
            # thread for boto3's default minute.
            "client_config": Config(
                connect_timeout=5,
                read_timeout=30,
                retries={"mode": "standard", "max_attempts": 3},
                # Servers of one's own (MinIO, Ceph, Garage) have no per-bucket host names.
                s3={"addressing_style": "path" if endpoint_url else "auto"},
            ),
        },
    }


S3_BUCKET = os.environ.get("S3_BUCKET", "")
if S3_BUCKET:
    STORAGES["default"] = object_storage(
        S3_BUCKET,
        endpoint_url=os.environ.get("S3_ENDPOINT_URL") or None,  # unset: AWS itself
        region=os.environ.get("S3_REGION") or None,
        access_key=os.environ.get("S3_ACCESS_KEY_ID") or None,
        secret_key=os.environ.get("S3_SECRET_ACCESS_KEY") or None,
    )

# Content-Security-Policy of every page (django-csp): scripts and styles come only from our own
# static files, never inline, so a script smuggled into a page (or a file a browser is tricked
# into opening as one) does not run. The Django admin works under it unchanged. Face image
# responses tighten it further (recognition/views.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_CONTENT_TYPE_NOSNIFF = True

REST_FRAMEWORK = {
    # Device tokens first: DRF answers 401 (with WWW-Authenticate: Token) only when the first
    # class names a scheme, else 403. So a missing, wrong or revoked credential is 401, and 403
    # means "known, but not allowed". A request without a Token header falls through to the
    # login session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "access.devices.DeviceTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Roll Call API",
    "VERSION": "1.0.0",
    "DESCRIPTION": (
        "Teachers' pages use their login session. Classroom cameras send `Authorization: Token <token>` with a "
        "device token an administrator creates in the admin (Device tokens): it reaches only its room's or "
        "course's sessions. The schema itself: [/api/schema/](/api/schema/) (YAML; `?format=json` for JSON)."
    ),
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Without deep links each operation's summary is one button: with them it holds a link too,
    # an interactive element inside another that screen readers cannot reach (axe-core's
    # nested-interactive); the operations still open and close.
    "SWAGGER_UI_SETTINGS": {"deepLinking": False},
    "ENUM_NAME_OVERRIDES": {
        "AttendanceStatusEnum": "students.models.AttendanceRecord.STATUS_CHOICES",
        "AttendanceSourceEnum": "students.models.AttendanceRecord.SOURCE_CHOICES",
        "CaptureStatusEnum": "recognition.models.Capture.STATUS_CHOICES",
        "CaptureSourceEnum": "recognition.models.Capture.SOURCE_CHOICES",
    },
}

# Celery. The default broker is kombu's filesystem transport: no server needed. Its folders are
# made when the Celery app is configured (attendance_site/celery.py), by web and worker alike.
BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://localhost/")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
else:
    # With acks_late a message held by a worker that died comes back after this many
    # seconds; captures take seconds, so five minutes is ample and loses no time in practice.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 300)}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Google Sheets mirror of attendance (students/sheets.py). The service account's JSON key file;
# its e-mail is shown in the course admin so the school knows whom to share the sheets with.
GOOGLE_SERVICE_ACCOUNT_FILE = os.environ.get("GOOGLE_SERVICE_ACCOUNT_FILE", "")
# Defaults for courses whose own sheet settings are blank; "{code}" is the course code.
GOOGLE_SHEETS_CHECKMARK_SPREADSHEET_ID = os.environ.get("GOOGLE_SHEETS_CHECKMARK_SPREADSHEET_ID", "")
GOOGLE_SHEETS_CHECKMARK_WORKSHEET = os.environ.get("GOOGLE_SHEETS_CHECKMARK_WORKSHEET", "{code} check marks")
GOOGLE_SHEETS_TIMESTAMP_SPREADSHEET_ID = os.environ.get(
    "GOOGLE_SHEETS_TIMESTAMP_SPREADSHEET_ID", GOOGLE_SHEETS_CHECKMARK_SPREADSHEET_ID
)
GOOGLE_SHEETS_TIMESTAMP_WORKSHEET = os.environ.get("GOOGLE_SHEETS_TIMESTAMP_WORKSHEET", "{code} timestamps")
# Only the tests point this elsewhere: at their local fake of the Sheets API.
GOOGLE_SHEETS_API_URL = os.environ.get("GOOGLE_SHEETS_API_URL", "https://sheets.googleapis.com/v4/spreadsheets")
# A course syncs a few seconds after its attendance changes, so a burst of changes is one write
# (Google allows 60 writes a minute per service account).
SHEETS_SYNC_DELAY_SECONDS = env_float("SHEETS_SYNC_DELAY_SECONDS", 5)
SHEETS_HTTP_TIMEOUT_SECONDS = env_float("SHEETS_HTTP_TIMEOUT_SECONDS", 30)
# A failed write retries after a random wait of half to all of min(MAX, BASE * 2**retries) seconds;
# it retries until it lands, unless SHEETS_SYNC_MAX_RETRIES caps the attempts.
SHEETS_RETRY_BASE_SECONDS = env_float("SHEETS_RETRY_BASE_SECONDS", 2)
SHEETS_RETRY_MAX_SECONDS = env_float("SHEETS_RETRY_MAX_SECONDS", 240)
SHEETS_SYNC_MAX_RETRIES = env_int("SHEETS_SYNC_MAX_RETRIES", None, minimum=0)
# Re-sync every course now and then: catches enrolment and session edits made in the admin,
# hand edits in the sheets, and a change whose sync task was lost with a broker.
SHEETS_RECONCILE_SECONDS = env_float("SHEETS_RECONCILE_SECONDS", 3600)

# Signing in (students/login.py, students/signin.py). Forgotten passwords are reset by e-mail
# (see "E-mail" below).
PASSWORD_RESET_RATE_LIMIT = env_int("PASSWORD_RESET_RATE_LIMIT", 5)  # per hour per address and per e-mail
# How long a link to choose a password works: a reset (Forgot password?) and a new teacher's
# invitation, which may be read days later. Each e-mail states its own (students/passwords.py).
PASSWORD_RESET_TIMEOUT = int(env_float("PASSWORD_RESET_HOURS", 3, minimum=0) * 3600)
INVITATION_TIMEOUT = int(env_float("INVITATION_DAYS", 3, minimum=0) * 86400)

# Optional sign-in with the school's Google Workspace or Microsoft 365 account, through
# django-allauth's OpenID Connect client. It only signs in existing logins whose e-mail address
# the provider has verified and whose domain is one of SIGNIN_EMAIL_DOMAINS; it never creates a
# login. Only the provider routes are mounted (/accounts/oidc/<google|microsoft>/login/): the
# password login stays /login/, and allauth's own login, signup and reset pages are not routed.
INSTALLED_APPS += [
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "allauth.socialaccount.providers.openid_connect",
]
MIDDLEWARE += ["allauth.account.middleware.AccountMiddleware"]
SIGNIN_EMAIL_DOMAINS = [domain.lower() for domain in env_list("SIGNIN_EMAIL_DOMAINS", [])]
SCHOOL_SIGNIN_APPS = []
if os.environ.get("GOOGLE_OIDC_CLIENT_ID"):
    SCHOOL_SIGNIN_APPS.append(
        {
            "provider_id": "google",
            "name": "Google",
            "client_id": os.environ["GOOGLE_OIDC_CLIENT_ID"],
            "secret": os.environ.get("GOOGLE_OIDC_CLIENT_SECRET", ""),
            "settings": {"server_url": "https://accounts.google.com", "oauth_pkce_enabled": True},
        }
    )
if os.environ.get("MICROSOFT_OIDC_CLIENT_ID"):
    MICROSOFT_OIDC_TENANT = os.environ.get("MICROSOFT_OIDC_TENANT", "")
    if not MICROSOFT_OIDC_TENANT or MICROSOFT_OIDC_TENANT in ("common", "organizations", "consumers"):
        raise ImproperlyConfigured(
            "MICROSOFT_OIDC_CLIENT_ID is set: set MICROSOFT_OIDC_TENANT to the school's own tenant "
            "(its directory id or domain), so that only the school's accounts can sign in."
        )
    SCHOOL_SIGNIN_APPS.append(
        {
            "provider_id": "microsoft",
            "name": "Microsoft",
            "client_id": os.environ["MICROSOFT_OIDC_CLIENT_ID"],
            "secret": os.environ.get("MICROSOFT_OIDC_CLIENT_SECRET", ""),
            # Microsoft says an address is verified in the ID token's xms_edov claim, which its
            # userinfo endpoint does not return: read the ID token alone.
            "settings": {
                "server_url": f"https://login.microsoftonline.com/{MICROSOFT_OIDC_TENANT}/v2.0",
                "oauth_pkce_enabled": True,
                "fetch_userinfo": False,
            },
        }
    )
if SCHOOL_SIGNIN_APPS and not SIGNIN_EMAIL_DOMAINS:
    raise ImproperlyConfigured(
        "Sign-in with Google or Microsoft is configured: set SIGNIN_EMAIL_DOMAINS to the school's "
        "e-mail domains (comma-separated), the only ones it accepts."
    )
SOCIALACCOUNT_PROVIDERS = {"openid_connect": {"APPS": SCHOOL_SIGNIN_APPS}}
SOCIALACCOUNT_ADAPTER = "students.signin.SchoolAccountAdapter"
SOCIALACCOUNT_EMAIL_VERIFICATION = "none"  # the provider verified the address; the adapter checks it said so
SOCIALACCOUNT_EMAIL_AUTHENTICATION = False  # the adapter matches addresses itself, without touching passwords
SOCIALACCOUNT_STORE_TOKENS = False
# A link, not a form: the page's Content-Security-Policy (form-action 'self') would stop a form
# that redirects to the provider.
SOCIALACCOUNT_LOGIN_ON_GET = True
ACCOUNT_ADAPTER = "students.signin.NoSignupAccountAdapter"

# Face data sealed at rest (recognition/sealing.py): descriptors and face images are stored
# encrypted with this key, comma-separated new,old while `manage.py rotate_face_key` moves
# everything to the new one. Required with DEBUG off; unset, development stores plain data.
FACE_DATA_KEY = env_value("FACE_DATA_KEY") or ""
if FACE_DATA_KEY:
    try:
        parse_keys(FACE_DATA_KEY)
    except ValueError as error:
        raise ImproperlyConfigured(f"FACE_DATA_KEY is not a list of keys: {error}. {NEW_KEY_HINT}") from None
elif not DEBUG:
    raise ImproperlyConfigured(
        "DEBUG is off but FACE_DATA_KEY is not set: children's face descriptors and images would be "
        f"stored unencrypted. {NEW_KEY_HINT}"
    )

# Face recognition.
FACE_EMBEDDER = os.environ.get("FACE_EMBEDDER", "auto")
FACENET_WEIGHTS = os.environ.get("FACENET_WEIGHTS") or None
FACE_MATCH_THRESHOLD = env_float("FACE_MATCH_THRESHOLD", None)
# One torch thread per worker process: with two threads on two cores, torch's OpenMP threads
# spin-wait and ran 10-20x slower whenever another process held a core. Scale with processes.
FACE_TORCH_THREADS = env_int("FACE_TORCH_THREADS", 1)
# Where the face networks run: auto (a CUDA GPU when torch sees one, else the CPU), cpu or cuda.
# The worker logs which as it loads the engine (at start-up); cuda without a GPU is an error there.
FACE_DEVICE = os.environ.get("FACE_DEVICE", "auto")
if FACE_DEVICE not in ("auto", "cpu", "cuda"):
    raise ImproperlyConfigured(f"FACE_DEVICE={FACE_DEVICE!r} is not a face device: set it to auto, cpu or cuda.")
# OS niceness (0-19) that recognition worker processes take as they start (worker_process_init):
# with 10, batch recognition yields the CPU to web requests on a machine both share (README,
# Production). 0, the default, leaves the priority alone (tests run workers inside pytest).
WORKER_NICE = env_int("WORKER_NICE", 0)
# Every worker writes its heartbeat this often (recognition/heartbeat.py); the admin's Workers
# page shows one stopped after three missed beats.
WORKER_HEARTBEAT_SECONDS = env_float("WORKER_HEARTBEAT_SECONDS", 10)
UPLOAD_MAX_BYTES = env_int("UPLOAD_MAX_BYTES", 20_000_000)
DATA_UPLOAD_MAX_MEMORY_SIZE = UPLOAD_MAX_BYTES + 1024 * 1024
# The most pixels a photo may have (read from its header, before any decoding): the worker's
# time and memory grow with the pixels, not the bytes (a 1.6 kB WebP can hold 40 MP). 25 MP
# takes a 24 MP phone photo (5712x4284), a 12 MP one (4032x3024) and a 4K camera frame.
MAX_PHOTO_PIXELS = env_int("MAX_PHOTO_PIXELS", 25_000_000)
# A capture whose recognition was started this many times without finishing (its worker died:
# out of memory, killed) is given up as failed, with the reason, instead of being handed out again.
CAPTURE_MAX_ATTEMPTS = env_int("CAPTURE_MAX_ATTEMPTS", 3)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# A OneRoster bundle (students/oneroster/reading.py): the most its files may unpack to, all together;
# a zip that inflates to more is refused (a zip bomb).
ONEROSTER_MAX_BYTES = env_int("ONEROSTER_MAX_BYTES", 50_000_000)
# Class photos and face crops are deleted after this many days; attendance records stay. A week:
# a teacher who sees a class once a week can still check last week's photo at the next lesson,
# and a class photo holds the faces of everyone in the room, consent or not
# (docs/privacy-and-consent.md).
CAPTURE_RETENTION_DAYS = env_int("CAPTURE_RETENTION_DAYS", 7, minimum=1)
# The descriptor and crop of a face that marks nobody are deleted when its session is closed,
# and at the latest this many hours after it ended if nobody closes it (recognition/retention.py).
UNKNOWN_FACE_HOURS = env_float("UNKNOWN_FACE_HOURS", 24, minimum=0)
# How often beat looks for them: a close forgets them at once, the sweep within this of the limit.
UNCLAIMED_FACES_SWEEP_SECONDS = 600.0
ATTENDANCE_THRESHOLD_PERCENT = env_float("ATTENDANCE_THRESHOLD_PERCENT", 80)
# The school admins' "today" page (students/reports.py): students absent this many held sessions
# in a row, and students whose attendance over all their courses is below this percentage
# (chronic absence: missing 10% or more).
ABSENCE_STREAK = env_int("ABSENCE_STREAK", 3, minimum=1)
CHRONIC_ABSENCE_BELOW = env_float("CHRONIC_ABSENCE_BELOW", 90, minimum=0)
# The longest a class session may be (students/schedule.py): a room's camera sends its snapshots
# to the session in its room at the time, so a session spanning years would take them all.
MAX_SESSION_HOURS = env_float("MAX_SESSION_HOURS", 12)

# E-mail (Django's e-mail framework). Printed to the console until EMAIL_HOST names the school's
# SMTP server; then sent through it, with STARTTLS unless EMAIL_USE_TLS=0.
EMAIL_HOST = os.environ.get("EMAIL_HOST", "")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
# Without a timeout a server that accepts the connection and never answers would hold a web
# thread (a password reset waits on it) or a beat run, and every notice behind it, for ever.
EMAIL_TIMEOUT = env_float("EMAIL_TIMEOUT", 20)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Roll Call <rollcall@localhost>")
EMAIL_BACKEND = (
    "django.core.mail.backends.smtp.EmailBackend" if EMAIL_HOST else "django.core.mail.backends.console.EmailBackend"
)

# Notices (students/notices.py): absence notices to guardians, reminders and a weekly digest to
# teachers, recorded before they are sent and sent once.
# Unset, each e-mail and the privacy page say "the school" and "the school office" in their own language.
SCHOOL_NAME = os.environ.get("SCHOOL_NAME", "")
# Whom families ask about their data and its deletion, shown on the privacy page (/privacy/):
# the school's data protection officer, e.g. "Jo Bloggs, dpo@school.example, 01234 567890".
DPO_CONTACT = os.environ.get("DPO_CONTACT", "")
NOTICE_CONTACT = os.environ.get("NOTICE_CONTACT", "")
# Absence notices wait this long after a close: a photo taken before the close may still be
# recognised and turn the absence into present or late.
NOTICE_ABSENCE_DELAY_MINUTES = env_float("NOTICE_ABSENCE_DELAY_MINUTES", 15)
# A teacher is reminded this long after a session ended with no photo and no mark, the same day.
NOTICE_REMINDER_AFTER_MINUTES = env_float("NOTICE_REMINDER_AFTER_MINUTES", 30)
NOTICE_DIGEST_WEEKDAY = os.environ.get("NOTICE_DIGEST_WEEKDAY", "mon")
NOTICE_DIGEST_HOUR = env_int("NOTICE_DIGEST_HOUR", 7)
# A notice the server refused is tried again after min(MAX, BASE * 2**(attempts - 1)) seconds,
# by the next beat run after that; after NOTICE_MAX_ATTEMPTS it is given up (shown in the admin).
NOTICE_RETRY_BASE_SECONDS = env_float("NOTICE_RETRY_BASE_SECONDS", 60)
NOTICE_RETRY_MAX_SECONDS = env_float("NOTICE_RETRY_MAX_SECONDS", 3600)
NOTICE_MAX_ATTEMPTS = env_int("NOTICE_MAX_ATTEMPTS", 10)
NOTICE_RUN_SECONDS = env_float("NOTICE_RUN_SECONDS", 60)


def weekly_digest_time():
    try:
        return crontab(minute=0, hour=NOTICE_DIGEST_HOUR, day_of_week=NOTICE_DIGEST_WEEKDAY)
    except ValueError as error:
        raise ImproperlyConfigured(
            f"NOTICE_DIGEST_WEEKDAY={NOTICE_DIGEST_WEEKDAY!r} and NOTICE_DIGEST_HOUR={NOTICE_DIGEST_HOUR} are not a "
            f"time of the week ({error}): a day as mon, tue, ... sun, and an hour from 0 to 23."
        ) from None


def beat_schedule():
    """Every task that runs on its own, and how often, in one place (celery beat runs them)."""
    return {
        "reconcile-google-sheets": {"task": "students.tasks.reconcile_sheets", "schedule": SHEETS_RECONCILE_SECONDS},
        "delete-expired-captures": {"task": "recognition.tasks.delete_expired_captures", "schedule": 6 * 3600.0},
        "forget-unclaimed-faces": {
            "task": "recognition.tasks.forget_unclaimed_faces",
            "schedule": UNCLAIMED_FACES_SWEEP_SECONDS,
        },
        "send-notices": {"task": "students.tasks.send_notices", "schedule": NOTICE_RUN_SECONDS},
        "weekly-attendance-digest": {"task": "students.tasks.send_weekly_digests", "schedule": weekly_digest_time()},
    }


CELERY_BEAT_SCHEDULE = beat_schedule()
# Beat's crontab hours are the school's, not UTC.
CELERY_TIMEZONE = TIME_ZONE

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
