"""Faults a test scripts into the fake: each rule fires on the next matching requests, in order."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class Fault:
    """One scripted fault.

    verb: "list", "watch", "get", "create", "update", "patch", "delete", "bind", "evict" or "*".
    plural: the kind's plural ("pods") or "*".
    action:
      "status": answer `code` (429, 500, 409, ...), with Retry-After: `retry_after` if set;
      "gone": a watch answers an ERROR event with 410 Gone (too old resource version);
      "close": a watch sends `after_events` events, then the connection is cut mid-stream;
      "delay": sleep `delay` seconds, then serve the request normally.
    skip: how many matching requests it lets through before it fires.
    times: how many matching requests it fires on.
    """

    verb: str
    action: str
    plural: str = "*"
    code: int = 500
    retry_after: int | None = None
    after_events: int = 0
    delay: float = 0.0
    skip: int = 0
    times: int = 1

    def matches(self, verb: str, plural: str) -> bool:
        return self.verb in ("*", verb) and self.plural in ("*", plural)


@dataclass
class FaultPlan:
    """The rules, consumed in the order they were added; `fired` records what fired, for asserts."""

    rules: list[Fault] = field(default_factory=list)
    fired: list[tuple[str, str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, fault: Fault) -> Fault:
        if fault.action not in ("status", "gone", "close", "delay"):
            raise ValueError(f"unknown fault action {fault.action!r}")
        with self.lock:
            self.rules.append(fault)
        return fault

    def take(self, verb: str, plural: str) -> Fault | None:
        """The first rule matching this request, counted as fired."""
        with self.lock:
            for rule in self.rules:
                if rule.times > 0 and rule.matches(verb, plural):
                    if rule.skip > 0:
                        rule.skip -= 1
                        continue
                    rule.times -= 1
                    self.fired.append((verb, plural, rule.action))
                    return rule
            return None

    def pending(self) -> int:
        with self.lock:
            return sum(rule.times for rule in self.rules)
