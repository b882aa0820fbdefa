"""What the web front of api_v3 adds around every answer: CORS and no-cache headers.

* A preflight (`OPTIONS`) is answered before anything else is read, with an empty body
  (api_v3/web/index.php:5-12): any origin, the methods POST, GET, HEAD and OPTIONS, the
  headers a browser uploader sends (`Content-Type` among them, so a JSON body may come
  from another origin), cached for a day.
* Every other answer says `Access-Control-Allow-Origin: *` (KalturaResponseCacher.php:152,
  sent by `checkOrStart` before the request is dispatched), exposes the headers a client
  may read (index.php:3) and forbids caching (KalturaResponseCacher.php:177-179; the CDN
  caching branch above it needs an anonymous GET with `kalsig`, which no upload is).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conformance.endpoints.core import Reply

__all__ = ["API_HEADERS", "PHP_DEFAULT_TYPE", "PREFLIGHT_HEADERS", "preflight"]

_EXPOSE = (
    "Access-Control-Expose-Headers",
    "Server, Content-Length, Content-Range, Date, X-Kaltura, X-Kaltura-Session, X-Me",
)
PREFLIGHT_HEADERS: tuple[tuple[str, str], ...] = (
    _EXPOSE,
    ("Access-Control-Allow-Origin", "*"),
    (
        "Access-Control-Allow-Headers",
        "Origin, X-Requested-With, Content-Type, Accept, Range, Cache-Control",
    ),
    ("Access-Control-Allow-Methods", "POST, GET, HEAD, OPTIONS"),
    ("Access-Control-Max-Age", "86400"),
)
API_HEADERS: tuple[tuple[str, str], ...] = (
    _EXPOSE,
    ("Access-Control-Allow-Origin", "*"),
    ("Expires", "Sun, 19 Nov 2000 08:52:00 GMT"),
    ("Cache-Control", "no-store, no-cache, must-revalidate, post-check=0, pre-check=0"),
    ("Pragma", "no-cache"),
)
# PHP's `default_mimetype` when no serializer sets one (`exit` in a preflight, the PHP
# serializer, a request that dies on its format).
PHP_DEFAULT_TYPE = "text/html; charset=UTF-8"


def preflight() -> Reply:
    """The answer to any `OPTIONS` request (not traced: it never reaches the API)."""
    from conformance.endpoints.core import Reply  # noqa: PLC0415  (core imports this module)

    return Reply(200, PHP_DEFAULT_TYPE, b"", headers=PREFLIGHT_HEADERS)
