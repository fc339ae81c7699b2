"""How many WebSocket connections the master keeps open, in all and per client address. Pure:
the web server asks before each upgrade and says when a connection is gone."""

from __future__ import annotations

from collections import Counter


class ConnectionCaps:
    """Open connections under two caps: ``total`` and ``per_address`` (one client address;
    0: no cap per address)."""

    def __init__(self, total: int, per_address: int) -> None:
        if total < 1 or per_address < 0:
            raise ValueError("the total cap must be at least 1, the cap per address >= 0")
        self.total = total
        self.per_address = per_address
        self.open = 0
        self._by_address: Counter[str] = Counter()

    def admit(self, address: str) -> str | None:
        """Count a new connection from ``address`` and return None, or return why it is
        refused (counting nothing)."""
        if self.open >= self.total:
            return f"too many WebSocket connections (the master's limit is {self.total})"
        if self.per_address and self._by_address[address] >= self.per_address:
            return (
                f"too many WebSocket connections from {address} "
                f"(the limit is {self.per_address} per client address)"
            )
        self.open += 1
        self._by_address[address] += 1
        return None

    def release(self, address: str) -> None:
        """A connection :meth:`admit` counted is closed."""
        left = self._by_address[address] - 1
        if left > 0:
            self._by_address[address] = left
        else:
            del self._by_address[address]
        self.open -= 1

    def from_address(self, address: str) -> int:
        """Open connections from ``address``."""
        return self._by_address[address]
