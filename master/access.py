"""The master's access control: its token book on disk, the owner's credential, sessions.

Files in the state directory (the directory 0700, the files 0600, written atomically):

- ``tokens.json``: every token's record (:class:`shared.access.TokenRecord`: hashes only);
- ``session.key``: the key that signs browsers' session cookies (so they outlive a restart);
- ``admin.token``: the owner's admin token, made on the first start. The CLI run by the same
  user on this host reads it (:func:`shared.credentials.find_token`), so the quick start needs
  no configuration.

SIGHUP reloads ``tokens.json`` (:meth:`MasterAccess.reload`): tokens revoked by editing the
file, or by another process, stop working without a restart.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from pathlib import Path

from shared.access import Principal, Role, Scope, TokenBook, TokenRecord, Unauthenticated
from shared.credentials import ADMIN_FILE
from shared.errors import ConfigError
from shared.files import write_private
from shared.sessions import Sessions

log = logging.getLogger(__name__)

TOKENS_FILE = "tokens.json"
SESSION_KEY_FILE = "session.key"  # signs browsers' session cookies
# what another state directory needs to accept the same owner credential and sessions
CREDENTIAL_FILES = (ADMIN_FILE, TOKENS_FILE, SESSION_KEY_FILE)


class MasterAccess:
    """Authenticates tokens and sessions; makes and revokes tokens (kept on disk).

    The token file is the truth: when it changed on disk (another master on the same state
    directory made or revoked a token, see `worker serve --also-master`), it is read again
    before a token is checked, made or revoked."""

    def __init__(self, state_dir: Path, clock: Callable[[], float] = time.time) -> None:
        self.state_dir = state_dir
        self.clock = clock
        self.book = TokenBook()
        self.sessions = Sessions(secrets.token_bytes(32))  # replaced by the kept key at open()
        self.owner_token = ""  # the admin credential of admin.token
        self._seen: tuple[int, int] | None = None  # the file's (mtime_ns, size) when last read

    @property
    def tokens_path(self) -> Path:
        return self.state_dir / TOKENS_FILE

    def open(self) -> None:
        """Load the token book; make the owner's admin credential if it has none."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.reload()
            key_file = self.state_dir / SESSION_KEY_FILE
            if not key_file.exists():
                write_private(key_file, secrets.token_hex(32) + "\n")
            self.sessions = Sessions(bytes.fromhex(key_file.read_text().strip()))
            admin = self.state_dir / ADMIN_FILE
            token = admin.read_text().strip() if admin.exists() else ""
            try:
                self.book.authenticate(token, self.clock())
            except Unauthenticated:
                _, token = self.book.create(Role.ADMIN, "owner", self.clock())
                self.save()
                write_private(admin, token + "\n")
                log.info("made the owner's admin credential in %s", admin)
            self.owner_token = token
        except OSError as exc:
            raise ConfigError(f"cannot keep tokens in {self.state_dir}: {exc}") from exc

    def reload(self) -> None:
        """Read ``tokens.json`` again (an unreadable file keeps the tokens in memory)."""
        path = self.tokens_path
        if not path.exists():
            return
        try:
            seen = self._stamp()
            self.book = TokenBook.from_json(json.loads(path.read_text()))
            self._seen = seen
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a token list: {exc}") from None

    def save(self) -> None:
        write_private(self.tokens_path, json.dumps(self.book.to_json(), indent=1) + "\n")
        self._seen = self._stamp()

    def _stamp(self) -> tuple[int, int] | None:
        try:
            st = self.tokens_path.stat()
        except OSError:
            return None
        return st.st_mtime_ns, st.st_size

    def _fresh(self) -> None:
        """Read the token file again if it changed since it was last read or written."""
        if self._stamp() != self._seen:
            try:
                self.reload()
            except ConfigError as exc:  # keep serving with the tokens in memory
                log.warning("%s; keeping the tokens read before", exc)
                self._seen = self._stamp()

    # ------------------------------------------------------------------ asking

    def authenticate(self, token: str | None) -> Principal:
        self._fresh()
        return self.book.authenticate(token, self.clock())

    def session(self, cookie: str | None) -> Principal | None:
        """The principal of a browser's session cookie, while its token is still good."""
        now = self.clock()
        token_id = self.sessions.token_id(cookie, now)
        self._fresh()
        record = self.book.records.get(token_id) if token_id else None
        if record is None or record.state(now) != "active":
            return None
        return record.principal()

    # ------------------------------------------------------------------ managing

    def create(
        self, role: Role, user: str, *, expires_in: float = 0.0, scope: Scope | None = None
    ) -> tuple[TokenRecord, str]:
        self._fresh()
        now = self.clock()
        record, token = self.book.create(
            role, user, now, expires_at=now + expires_in if expires_in else 0.0, scope=scope
        )
        self.save()
        log.info(
            "token %s made for %s (%s, %s)",
            record.token_id,
            user,
            role.label,
            (scope or Scope()).describe(),
        )
        return record, token

    def revoke(self, token_id: str) -> TokenRecord:
        self._fresh()
        record = self.book.revoke(token_id, self.clock())
        self.save()
        log.info("token %s (%s) revoked", token_id, record.user)
        return record

    def login_code(self, principal: Principal) -> str:
        return self.sessions.login_code(principal, self.clock())
