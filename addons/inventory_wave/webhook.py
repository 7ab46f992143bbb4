"""Outbound webhooks signed per the Standard Webhooks convention (D2).

Pure functions, no Tryton import: the models of ``shipping.py`` store the
events and call these to sign, send and schedule them.

Reference: Standard Webhooks specification (standardwebhooks.com, spec v1):

* headers ``webhook-id`` (a stable message id: the receiver de-duplicates on
  it), ``webhook-timestamp`` (seconds since the epoch of *this attempt*) and
  ``webhook-signature``: ``v1,`` + base64(HMAC-SHA256(key, "{id}.{timestamp}.
  {body}"));
* the secret is shown as ``whsec_`` + base64(key); the key has 24 to 64
  bytes;
* delivery is at least once, retried with back-off on a timeout or any
  status other than 2xx.

>>> secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'
>>> sign(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330,
...     b'{"test": 2432232314}')
'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE='
"""
import base64
import binascii
import hashlib
import hmac
import secrets
import time
import urllib.error
import urllib.request
from urllib.parse import urlsplit

SECRET_PREFIX = 'whsec_'

#: Seconds to wait before attempt n + 1 after n failed attempts: the
#: schedule of the Standard Webhooks reference implementation (immediately,
#: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h); after the last one the event
#: is given up (about a day and a half of retries).
RETRY_SCHEDULE = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600,
    10 * 3600)
MAX_ATTEMPTS = len(RETRY_SCHEDULE)
#: A receiver should refuse a timestamp further than this from its clock.
TOLERANCE = 5 * 60


class WebhookError(ValueError):
    """A secret or URL that cannot be used, or a signature that fails;
    ``code`` names the reason for translated messages"""

    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def generate_secret(size=24):
    "Return a new random secret in the ``whsec_`` form"
    return SECRET_PREFIX + base64.b64encode(
        secrets.token_bytes(size)).decode('ascii')


def secret_key(secret):
    """Return the key bytes of a ``whsec_…`` secret.

    >>> len(secret_key(generate_secret()))
    24
    """
    if not secret or not secret.startswith(SECRET_PREFIX):
        raise WebhookError("the secret must start with 'whsec_'")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookError("the secret is not valid base64")
    if not 24 <= len(key) <= 64:
        raise WebhookError("the secret key must have 24 to 64 bytes")
    return key


def sign(secret, message_id, timestamp, body):
    "Return the ``webhook-signature`` value of one attempt"
    if isinstance(body, str):
        body = body.encode('utf-8')
    content = f'{message_id}.{int(timestamp)}.'.encode('ascii') + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return 'v1,' + base64.b64encode(digest).decode('ascii')


def headers(secret, message_id, timestamp, body):
    "Return the HTTP headers of one attempt"
    return {
        'Content-Type': 'application/json',
        'User-Agent': 'inventory-flow-webhooks/1',
        'webhook-id': message_id,
        'webhook-timestamp': str(int(timestamp)),
        'webhook-signature': sign(secret, message_id, timestamp, body),
        }


def verify(secret, received_headers, body, now=None, tolerance=TOLERANCE):
    """Check a received webhook as a receiver does; return its id or raise
    WebhookError.  ``received_headers`` is any mapping (case-insensitive
    names are looked up in lower case)."""
    lower = {k.lower(): v for k, v in received_headers.items()}
    try:
        message_id = lower['webhook-id']
        timestamp = int(lower['webhook-timestamp'])
        signatures = lower['webhook-signature'].split()
    except (KeyError, ValueError):
        raise WebhookError("missing or malformed webhook headers")
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise WebhookError("the timestamp is outside the tolerance")
    expected = sign(secret, message_id, timestamp, body)
    # several space-separated signatures are allowed (key rotation)
    if not any(hmac.compare_digest(expected, s) for s in signatures):
        raise WebhookError("no signature matches")
    return message_id


def check_url(url):
    """Raise WebhookError unless url is an absolute http(s) URL with a host
    and without credentials.

    >>> check_url('https://shop.example.com/hooks/tryton')
    >>> check_url('ftp://shop.example.com/')
    Traceback (most recent call last):
    ...
    inventory_wave.webhook.WebhookError: ...
    """
    if not isinstance(url, str) or len(url) > 2000 or any(
            ord(c) <= 32 for c in url):
        raise WebhookError("the URL must be one line without spaces",
            'url_spaces')
    try:
        parts = urlsplit(url)
        parts.port  # raises on a bad port
    except ValueError:
        raise WebhookError("the URL cannot be read", 'url_unreadable')
    if parts.scheme not in {'http', 'https'}:
        raise WebhookError("the URL must start with http:// or https://",
            'url_scheme')
    if not parts.hostname:
        raise WebhookError("the URL has no host", 'url_host')
    if parts.username or parts.password:
        raise WebhookError("the URL must not carry a user or password",
            'url_credentials')


def next_delay(attempts):
    """Return the seconds to wait after ``attempts`` failed attempts, or
    None when the event is given up.

    >>> [next_delay(n) for n in (1, 2, 3)]
    [5, 300, 1800]
    >>> next_delay(MAX_ATTEMPTS) is None
    True
    """
    if attempts < 1:
        return 0
    if attempts >= MAX_ATTEMPTS:
        return None
    return RETRY_SCHEDULE[attempts]


def post(url, body, request_headers, timeout=10):
    """Send one attempt; return (status, error text).  A status of 0 means
    no HTTP answer (refused connection, timeout, DNS)."""
    if isinstance(body, str):
        body = body.encode('utf-8')
    request = urllib.request.Request(
        url, data=body, headers=request_headers, method='POST')
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, ''
    except urllib.error.HTTPError as error:
        return error.code, f'HTTP {error.code} {error.reason}'[:200]
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, 'reason', error)
        return 0, str(reason)[:200] or error.__class__.__name__
