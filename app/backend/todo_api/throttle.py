"""Failed logins are counted per account and per client address in a sliding window; past the limit, login
answers 429 with Retry-After, even for the right password, until the oldest counted failure leaves the window.

Counts live in the process: with N replicas an attacker gets at most N times the limit. At most `max_keys`
accounts and addresses are tracked (the least recently failed are forgotten first), so memory stays bounded."""
from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict, deque


class LoginThrottle:
    def __init__(self, per_account: int, per_address: int, window_seconds: float, max_keys: int = 100_000,
                 clock=time.monotonic):
        self.limits = {"account": per_account, "address": per_address}
        self.window = window_seconds
        self.max_keys = max_keys
        self.clock = clock
        self.failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self.lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self.failures.get(key, deque())
        while times and times[0] <= now - self.window:
            times.popleft()
        return times

    def retry_after(self, account: str, address: str) -> int | None:
        """Seconds to wait when either key is at its limit, else None."""
        now = self.clock()
        wait = 0.0
        with self.lock:
            for key in (("account", account), ("address", address)):
                times = self._recent(key, now)
                if len(times) >= self.limits[key[0]]:
                    wait = max(wait, times[-self.limits[key[0]]] + self.window - now)
        return max(1, math.ceil(wait)) if wait > 0 else None

    def failed(self, account: str, address: str) -> None:
        now = self.clock()
        with self.lock:
            for key in (("account", account), ("address", address)):
                times = self._recent(key, now)
                times.append(now)
                self.failures[key] = times
                self.failures.move_to_end(key)
            while len(self.failures) > self.max_keys:
                self.failures.popitem(last=False)

    def succeeded(self, account: str) -> None:
        with self.lock:
            self.failures.pop(("account", account), None)
