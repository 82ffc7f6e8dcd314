"""Prefix cache over KV tiers: device memory first, then the lower tiers a system has.

Entries are prefixes: a session's context (agentic sessions: the next turn's prompt starts
with it) or one 512-token block of a hash chain (Mooncake traces). Each tier is an LRU with a
byte capacity; what the device tier evicts moves down a tier, what the last tier evicts is
gone. A lookup returns how many tokens of the prompt are cached and in which tier: a device hit
costs nothing, a lower-tier hit costs the reload (bytes / tier bandwidth + tier latency, over
the engine's link), a miss costs prefill. The device tier's room is whatever KV the running
requests do not reserve: admission reclaims it (cached prefixes are evictable, as in vLLM).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["CacheTier", "PrefixCache"]


@dataclass(frozen=True)
class CacheTier:
    """One KV tier: name, capacity (bytes), bandwidth into device memory (bytes/s), latency (s)."""

    name: str
    capacity_bytes: float
    bandwidth_bytes_per_s: float
    latency_s: float = 0.0


class PrefixCache:
    """LRU prefix cache over ``tiers`` (``tiers[0]`` is device memory)."""

    def __init__(self, tiers: Sequence[CacheTier]) -> None:
        self.tiers = tuple(tiers)
        self._lru: list[OrderedDict[Hashable, tuple[int, float]]] = [OrderedDict() for _ in tiers]
        self.used = [0.0 for _ in tiers]
        self.device_limit = self.tiers[0].capacity_bytes if tiers else 0.0
        self.bytes_moved = 0.0

    # -- lookups ------------------------------------------------------------------------
    def find(self, key: Hashable) -> tuple[int, int, float]:
        """(tier, tokens, bytes) of a cached prefix; tier -1 when absent."""
        for level, lru in enumerate(self._lru):
            hit = lru.get(key)
            if hit is not None:
                lru.move_to_end(key)
                return level, hit[0], hit[1]
        return -1, 0, 0.0

    def find_chain(self, keys: Sequence[Hashable], tokens_per_key: int) -> tuple[int, int, float]:
        """Longest cached run of a block chain: (deepest tier used, tokens, bytes)."""
        deepest, tokens, size = -1, 0, 0.0
        for key in keys:
            level, _n, b = self.find(key)
            if level < 0:
                break
            deepest, tokens, size = max(deepest, level), tokens + tokens_per_key, size + b
        return deepest, tokens, size

    def reload_s(self, level: int, size: float) -> float:
        """Seconds to bring ``size`` bytes from tier ``level`` into device memory."""
        if level <= 0:
            return 0.0
        tier = self.tiers[level]
        return tier.latency_s + size / tier.bandwidth_bytes_per_s

    # -- updates ------------------------------------------------------------------------
    def put(self, key: Hashable, tokens: int, size: float) -> None:
        """Store (or refresh) a prefix in device memory, pushing LRU entries down the tiers."""
        for level, lru in enumerate(self._lru):
            old = lru.pop(key, None)
            if old is not None:
                self.used[level] -= old[1]
        if not self._lru:
            return
        self._lru[0][key] = (tokens, size)
        self.used[0] += size
        self.bytes_moved += size
        self._spill(0)

    def set_device_room(self, room: float) -> None:
        """The device tier may use ``room`` bytes (KV not reserved by running requests)."""
        if self._lru:
            self.device_limit = max(min(room, self.tiers[0].capacity_bytes), 0.0)
            self._spill(0)

    def _spill(self, level: int) -> None:
        while level < len(self._lru):
            limit = self.device_limit if level == 0 else self.tiers[level].capacity_bytes
            lru = self._lru[level]
            moved: list[tuple[Hashable, tuple[int, float]]] = []
            while self.used[level] > limit and lru:
                key, entry = lru.popitem(last=False)
                self.used[level] -= entry[1]
                moved.append((key, entry))
            if level + 1 < len(self._lru):
                for key, entry in moved:
                    self._lru[level + 1][key] = entry
                    self.used[level + 1] += entry[1]
                    self.bytes_moved += entry[1]
            level += 1
