"""Browser sessions and single-use login codes. Pure: no I/O.

A browser never holds a token: it logs in once, with a single-use login code (the link
``master serve`` prints: ``/login?code=...``, valid ``CODE_TTL`` seconds) or with a token typed
into the login page, and then carries a session cookie (HttpOnly, SameSite=Strict; Secure
when the master serves HTTPS). The cookie is ``<token id>.<expiry>.<nonce>.<HMAC-SHA256>``,
signed with the master's session key (kept in its state directory), so a session survives a
master restart (the page reconnects by itself) and the master stores nothing per browser. It
stands for its token: a revoked or expired token ends its sessions at once (the caller checks
the token on every use). Logging out forgets the cookie's nonce for the rest of the master's
life, and the browser drops it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from shared.access import Principal

CODE_TTL = 600.0
SESSION_TTL = 12 * 3600.0
COOKIE = "logcast_session"


@dataclass(slots=True)
class _Code:
    principal: Principal
    expires_at: float


class Sessions:
    """Login codes (in memory) and signed session cookies of one master."""

    def __init__(
        self, key: bytes, code_ttl: float = CODE_TTL, session_ttl: float = SESSION_TTL
    ) -> None:
        if len(key) < 32:
            raise ValueError("a session key is at least 32 bytes")
        self._key = key
        self.code_ttl = code_ttl
        self.session_ttl = session_ttl
        self._codes: dict[str, _Code] = {}
        self._logged_out: set[str] = set()

    def login_code(self, principal: Principal, now: float) -> str:
        """A new single-use code that logs a browser in as ``principal``."""
        for code in [c for c, e in self._codes.items() if e.expires_at <= now]:
            del self._codes[code]
        code = secrets.token_urlsafe(24)
        self._codes[code] = _Code(principal, now + self.code_ttl)
        return code

    def redeem(self, code: str, now: float) -> Principal | None:
        """The principal of ``code`` (which is then used up), or None."""
        entry = self._codes.pop(code, None)
        if entry is None or entry.expires_at <= now:
            return None
        return entry.principal

    def open(self, principal: Principal, now: float) -> str:
        """A new session for ``principal``: the cookie's value."""
        body = f"{principal.token_id}.{int(now + self.session_ttl)}.{secrets.token_hex(8)}"
        return f"{body}.{self._sign(body)}"

    def token_id(self, value: str | None, now: float) -> str | None:
        """The token a session cookie stands for, while it is valid (signed by this master's
        key, not expired, not logged out), else None."""
        if not value or value.count(".") != 3:
            return None
        body, _, signature = value.rpartition(".")
        if not hmac.compare_digest(signature, self._sign(body)):
            return None
        token_id, expires, nonce = body.split(".")
        if not expires.isdigit() or int(expires) <= now or nonce in self._logged_out:
            return None
        return token_id

    def close(self, value: str | None) -> None:
        """Log a session out (its cookie stops working on this master)."""
        if value and value.count(".") == 3:
            self._logged_out.add(value.split(".")[2])

    def _sign(self, body: str) -> str:
        mac = hmac.new(self._key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def cookie_value(header: str | None, name: str = COOKIE) -> str | None:
    """The value of cookie ``name`` in a ``Cookie`` header."""
    if not header:
        return None
    for part in header.split(";"):
        key, _, value = part.strip().partition("=")
        if key == name and value:
            return value
    return None


def set_cookie(session_id: str, *, secure: bool = False, max_age: float = SESSION_TTL) -> str:
    """The ``Set-Cookie`` value of a new session (``secure``: served over HTTPS, so the
    browser sends it back over HTTPS only)."""
    flags = "; Secure" if secure else ""
    return (
        f"{COOKIE}={session_id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={int(max_age)}{flags}"
    )


def clear_cookie(*, secure: bool = False) -> str:
    """The ``Set-Cookie`` value that makes the browser drop its session cookie."""
    flags = "; Secure" if secure else ""
    return f"{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{flags}"
