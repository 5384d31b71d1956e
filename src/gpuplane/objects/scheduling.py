"""Scheduling constraints shared by pods and nodes: taints, tolerations, node selector terms."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cache


class TaintEffect(StrEnum):
    NO_SCHEDULE = "NoSchedule"
    PREFER_NO_SCHEDULE = "PreferNoSchedule"
    NO_EXECUTE = "NoExecute"


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: TaintEffect = TaintEffect.NO_SCHEDULE

    def __str__(self) -> str:
        # kube-scheduler's wording: {key: value}
        return f"{{{self.key}: {self.value}}}"


@dataclass(frozen=True)
class Toleration:
    """A pod's toleration; an empty key with Exists tolerates every key, an empty effect any."""

    key: str = ""
    operator: str = "Equal"  # "Equal" or "Exists"
    value: str = ""
    effect: TaintEffect | None = None
    toleration_seconds: int | None = None

    def tolerates(self, taint: Taint) -> bool:
        """Kubernetes' ToleratesTaint, rule for rule."""
        if self.effect is not None and self.effect != taint.effect:
            return False
        if self.key and self.key != taint.key:
            return False
        if self.operator == "Exists":
            return True
        return self.value == taint.value


class SelectorOperator(StrEnum):
    IN = "In"
    NOT_IN = "NotIn"
    EXISTS = "Exists"
    DOES_NOT_EXIST = "DoesNotExist"
    GT = "Gt"
    LT = "Lt"


@dataclass(frozen=True)
class NodeSelectorRequirement:
    key: str
    operator: SelectorOperator
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str] | None) -> bool:
        """Kubernetes' label requirement semantics, incl. Gt/Lt on integer label values."""
        labels = labels or {}
        present = self.key in labels
        op = self.operator
        if op is SelectorOperator.EXISTS:
            return present
        if op is SelectorOperator.DOES_NOT_EXIST:
            return not present
        if op is SelectorOperator.IN:
            return present and labels[self.key] in self.values
        if op is SelectorOperator.NOT_IN:
            return not present or labels[self.key] not in self.values
        # Gt / Lt: both sides must parse as integers, else no match (as Kubernetes does).
        if not present or len(self.values) != 1:
            return False
        have, bound = parse_int64(labels[self.key]), parse_int64(self.values[0])
        if have is None or bound is None:
            return False
        return have > bound if op is SelectorOperator.GT else have < bound


_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_DNS_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_INT64 = re.compile(r"[+-]?[0-9]+")


def parse_int64(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 10, 64): optional sign and decimal digits, in int64 range."""
    if not _INT64.fullmatch(text):
        return None
    value = int(text)
    return value if -(2**63) <= value < 2**63 else None


def valid_label_value(value: str) -> bool:
    """apimachinery's IsValidLabelValue: empty, or up to 63 of [-A-Za-z0-9_.], alphanumeric ends."""
    return value == "" or (len(value) <= 63 and _NAME.fullmatch(value) is not None)


def valid_label_key(key: str) -> bool:
    """apimachinery's IsQualifiedName: an optional DNS-subdomain prefix and a 63-char name."""
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN.fullmatch(prefix)):
        return False
    return 0 < len(name) <= 63 and _NAME.fullmatch(name) is not None


@cache
def valid_requirement(requirement: NodeSelectorRequirement) -> bool:
    """Whether labels.NewRequirement accepts a matchExpressions entry.

    The API server checks keys and value counts but not label values, so a pod can carry
    `NotIn ["invalid value: ___@#$%^"]`; kube-scheduler then cannot build the term's selector
    and the whole term matches no node (other terms still count).
    """
    op, values = requirement.operator, requirement.values
    if not valid_label_key(requirement.key):
        return False
    if op in (SelectorOperator.IN, SelectorOperator.NOT_IN) and not values:
        return False
    if op in (SelectorOperator.EXISTS, SelectorOperator.DOES_NOT_EXIST) and values:
        return False
    if op in (SelectorOperator.GT, SelectorOperator.LT) and (
        len(values) != 1 or parse_int64(values[0]) is None
    ):
        return False
    return all(valid_label_value(v) for v in values)


@dataclass(frozen=True)
class NodeSelectorTerm:
    """Requirements ANDed together; the terms of a node selector are ORed."""

    match_expressions: tuple[NodeSelectorRequirement, ...] = ()
    #: matchFields supports only metadata.name, as in Kubernetes.
    match_fields: tuple[NodeSelectorRequirement, ...] = ()

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        # An empty term matches no objects (Kubernetes API docs).
        if not self.match_expressions and not self.match_fields:
            return False
        if not all(valid_requirement(r) for r in self.match_expressions):
            return False
        fields = {"metadata.name": name}
        return all(r.matches(labels) for r in self.match_expressions) and all(
            r.matches(fields) for r in self.match_fields
        )


@dataclass(frozen=True)
class NodeAffinity:
    """requiredDuringSchedulingIgnoredDuringExecution (terms ORed) and preferred terms."""

    required: tuple[NodeSelectorTerm, ...] | None = None
    preferred: tuple[tuple[int, NodeSelectorTerm], ...] = field(default=())

    def matches(self, name: str, labels: dict[str, str]) -> bool:
        if self.required is None:
            return True
        return any(term.matches(name, labels) for term in self.required)

    def preference(self, name: str, labels: dict[str, str]) -> int:
        """The sum of the weights of the preferred terms the node matches."""
        return sum(weight for weight, term in self.preferred if term.matches(name, labels))
