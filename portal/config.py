"""Configuration: the ``Config`` class, overridden by ``instance/config.py`` and the environment.

Environment variables: ``DATABASE_URL`` sets the database; ``SECRET_KEY`` (or ``PORTAL_SECRET_KEY``) the
key that signs sessions; ``PORTAL_<NAME>`` sets ``<NAME>`` (its value read as JSON when it parses as JSON,
so ``PORTAL_ERRAND_LIMIT=8`` is a number).
"""
from __future__ import annotations

import json
import os


class Config:
    SECRET_KEY: str | None = None
    # None means an SQLite file in the instance folder (see create_app).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLITE_BUSY_TIMEOUT_MS = 30_000

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")

    # How many proxies (nginx...) stand in front of the portal and set X-Forwarded-For/-Proto; the client's
    # address, which the throttles and the audit log use, is read through them (docs/DEPLOY.md).
    PROXY_COUNT = 0

    SESSION_COOKIE_NAME = "portal_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # Set to true behind HTTPS (docs/DEPLOY.md); it also turns on HSTS.
    SESSION_COOKIE_SECURE = False
    SESSION_IDLE_MINUTES = 30
    SESSION_ABSOLUTE_HOURS = 12
    # A CSRF token lives as long as the session may.
    WTF_CSRF_TIME_LIMIT = 12 * 3600

    # Failed sign-ins allowed per account, and per address (a whole station behind one NAT shares one), in
    # LOGIN_THROTTLE_MINUTES; more wait until the oldest fall out of the window.
    LOGIN_THROTTLE_ATTEMPTS = 10
    LOGIN_THROTTLE_ADDRESS_ATTEMPTS = 50
    LOGIN_THROTTLE_MINUTES = 15
    # Argon2id at OWASP's recommended minimum (19 MiB, 2 iterations, 1 lane).
    ARGON2 = {"time_cost": 2, "memory_cost": 19_456, "parallelism": 1}

    # Largest request body; import files and scans have their own, smaller limits.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    # Errands: the most a proxy holds open at once; what a round trip off the island costs a resident.
    ERRAND_LIMIT = 8
    # A counter item counts as finished on the spot (当场办结) only when finished within this many minutes of
    # being logged: the same visit to the counter.
    ON_SPOT_MINUTES = 30
    # What one journey off the island (a round trip to an office on the mainland) costs a resident, in parts; the
    # boards and reports print them beside the money saved (docs/METRICS.md, "journeys saved").
    # The ferry there and back: two crossings of 40 minutes (1 h 20 min on the boat), about ¥30 each.
    TRIP_BOAT_FARE_YUAN = 60
    # The bus or a shared taxi between the pier and the district's offices on the mainland, there and back.
    TRIP_MAINLAND_TRANSPORT_YUAN = 40
    # A meal on the mainland: the sailings keep a resident away over midday.
    TRIP_MEALS_YUAN = 30
    # A day's income lost: a fisherman's or a banquet owner's working day, which the journey takes whole.
    TRIP_LOST_INCOME_YUAN = 300
    # The hours the journey takes: 1 h 20 min on the boat, about 1 h 30 min waiting for sailings, 1 h 10 min on the
    # mainland's roads and about 2 h at the office.
    TRIP_HOURS = 6

    # The one address residents, kiosks and wall screens reach the portal at (https://bianmin.example.gov.cn):
    # the links in residents' SMS, the QR codes of cards and receipt slips, wall screens, Open311. Never taken
    # from a request. Empty: no SMS with a link is written and nothing printed names an address (the
    # administrators' messages page says so); `make run` sets it to the address it serves on.
    PUBLIC_BASE_URL = ""
    # The hosts a request may name (Flask's TRUSTED_HOSTS; any other answers 400): PUBLIC_BASE_URL's host and
    # localhost, and those listed here, the names office PCs use on the intranet (PORTAL_TRUSTED_HOSTS='["portal.lan"]').
    TRUSTED_HOSTS: list[str] | None = None

    # Open311: requests a minute per API key, and reads a minute per address without one; who to ask.
    OPEN311_KEY_RATE_PER_MINUTE = 60
    OPEN311_READ_RATE_PER_MINUTE = 120
    OPEN311_CONTACT = "便民服务中心 信息化岗"
    # GeoReport v2 reads (services, requests) take no key, as the standard has them; they carry nothing
    # personal. Set to false to ask a key for reading requests as well.
    OPEN311_KEYLESS_READS = True
    # The one jurisdiction this endpoint serves; a request naming another gets 404.
    OPEN311_JURISDICTION = "xihaian"
    # The public lookup: wrong guesses allowed on one case number from one address, on one case number from
    # anywhere, and from one address (a kiosk serves many residents), in LOOKUP_WINDOW_MINUTES.
    LOOKUP_ATTEMPTS = 5
    LOOKUP_CASE_ATTEMPTS = 20
    LOOKUP_ADDRESS_ATTEMPTS = 20
    LOOKUP_WINDOW_MINUTES = 15

    # Cases finished longer ago than this lose the resident's personal data (`flask purge-personal-data`);
    # set it to what the district's archive rules require.
    RETENTION_YEARS = 5

    # Households of the elderly living alone get a care visit this often.
    CARE_INTERVAL_DAYS = 30

    # Where scans and photos are kept (default: instance/uploads).
    UPLOAD_FOLDER: str | None = None

    # Messages (`flask deliver`, portal/domain/platform/outbox.py; each channel in platform/channels/). The SMS gateway, as the city's provider
    # describes it: where, how, the body's fields (templates of {phone}, {text}, {key}), and the field of the
    # JSON answer that says it was taken ("code=0"; empty: any 2xx), and the most a whole request may take (seconds:
    # connecting, sending and every byte of the answer). Without a URL, SMS wait: `flask deliver` says so and exits
    # 1, and Directory › Messages shows what waits.
    SMS_GATEWAY_URL = ""
    SMS_GATEWAY_METHOD = "POST"
    SMS_GATEWAY_FORMAT = "json"
    SMS_GATEWAY_FIELDS = {"mobile": "{phone}", "content": "{text}", "requestId": "{key}"}
    SMS_GATEWAY_HEADERS: dict[str, str] = {}
    SMS_GATEWAY_SUCCESS = "code=0"
    SMS_GATEWAY_TIMEOUT = 10.0
    # E-mail to staff; without a host, e-mail waits as SMS do. STARTTLS (or TLS from the first byte, SMTP_SSL) checks
    # the server's certificate against the system's CAs.
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_FROM = "portal@localhost"
    SMTP_STARTTLS = False
    SMTP_SSL = False
    SMTP_USER = ""
    SMTP_PASSWORD = ""
    # The gateway's callback for residents' replies (a reply of TD stops their messages): the shared token it sends
    # (header X-Portal-Token, or ?token=; empty: the callback answers 404) and the fields of the number and text.
    SMS_INBOUND_TOKEN = ""
    SMS_INBOUND_FIELDS = {"phone": "mobile", "text": "content"}
    # A message is tried this many times, then given up (listed for administrators); a worker's claim on a
    # message lasts this long, renewed just before each send (at least SMS_GATEWAY_TIMEOUT + 30 s: checked), then
    # another worker may take it.
    OUTBOX_MAX_ATTEMPTS = 8
    OUTBOX_LEASE_SECONDS = 120
    # How long a resident may answer by the link sent with the result; then the clerk calls back.
    RESIDENT_ANSWER_DAYS = 3

    # The room temperature a heated household is owed (℃): a reading below it opens a 温度不达标 case.
    HEATING_STANDARD_CELSIUS = 18
    # The CJK font the printable cards (PDF) are set in: Debian's fonts-wqy-microhei (a collection: face 0).
    CARDS_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

    # Background jobs (portal/domain/platform/jobs.py): the web process runs them itself as soon as one is queued
    # (and `flask jobs run` from cron takes up what a dead process left); a claim lasts this long, renewed at
    # every step; a job that fails is tried this many times.
    JOBS_IN_PROCESS = True
    JOBS_LEASE_SECONDS = 120
    JOBS_MAX_ATTEMPTS = 3

    # True only for a database loaded with `flask demo-data`: shows the demo logins on the login page.
    DEMO_MODE = False


class TestConfig(Config):
    TESTING = True
    SECRET_KEY = "test-secret-key"
    WTF_CSRF_ENABLED = False
    ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
    SQLITE_BUSY_TIMEOUT_MS = 30_000
    PUBLIC_BASE_URL = "https://bianmin.test"
    JOBS_IN_PROCESS = False  # tests run jobs themselves (jobs.work), so that nothing runs behind their back


def from_environment(environ: dict[str, str] | None = None) -> dict[str, object]:
    """Return the settings given by ``DATABASE_URL``, ``SECRET_KEY`` and ``PORTAL_*`` variables."""
    environ = os.environ if environ is None else environ
    settings: dict[str, object] = {}
    for key, raw in environ.items():
        if not key.startswith("PORTAL_"):
            continue
        try:
            settings[key.removeprefix("PORTAL_")] = json.loads(raw)
        except ValueError:
            settings[key.removeprefix("PORTAL_")] = raw
    if environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = environ["DATABASE_URL"]
    if environ.get("SECRET_KEY"):  # the name Flask and the README use; PORTAL_SECRET_KEY wins
        settings.setdefault("SECRET_KEY", environ["SECRET_KEY"])
    return settings


def normalise_database_url(url: str) -> str:
    """Point postgres:// and postgresql:// URLs at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url
