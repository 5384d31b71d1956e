"""Reading taints, tolerations and node affinity, with Kubernetes' validation rules."""

from __future__ import annotations

from gpuplane.objects.scheduling import (
    NodeAffinity,
    NodeSelectorRequirement,
    NodeSelectorTerm,
    SelectorOperator,
    Taint,
    TaintEffect,
    Toleration,
)
from gpuplane.objects.yamlio import Field

_EFFECTS = ", ".join(effect.value for effect in TaintEffect)
_OPERATORS = ", ".join(op.value for op in SelectorOperator)


def _effect(field: Field) -> TaintEffect | None:
    text = field.string()
    if not text:
        return None
    try:
        return TaintEffect(text)
    except ValueError:
        raise field.error(f"unsupported effect {text!r}: supported values: {_EFFECTS}") from None


def read_taints(field: Field) -> tuple[Taint, ...]:
    """spec.taints of a Node: key and effect required."""
    taints = []
    for item in field.each():
        effect = _effect(item["effect"])
        if effect is None:
            raise item["effect"].error(f"required value: one of {_EFFECTS}")
        taints.append(Taint(item["key"].required_string(), item["value"].string(), effect))
    return tuple(taints)


def read_tolerations(field: Field) -> tuple[Toleration, ...]:
    """spec.tolerations of a pod, refusing what the API server refuses."""
    return tuple(_toleration(item) for item in field.each())


def _toleration(item: Field) -> Toleration:
    key = item["key"].string()
    operator = item["operator"].string() or "Equal"
    value = item["value"].string()
    effect = _effect(item["effect"])
    seconds = item["tolerationSeconds"].optional_integer()
    if operator not in ("Equal", "Exists"):
        raise item["operator"].error(
            f"unsupported operator {operator!r}: supported values: Equal, Exists"
        )
    if not key and operator != "Exists":
        raise item["operator"].error(
            "operator must be Exists when `key` is empty, "
            'which means "match all values and all keys"'
        )
    if operator == "Exists" and value:
        raise item["value"].error("value must be empty when `operator` is 'Exists'")
    if seconds is not None and effect is not TaintEffect.NO_EXECUTE:
        raise item["effect"].error("effect must be 'NoExecute' when `tolerationSeconds` is set")
    return Toleration(key, operator, value, effect, seconds)


def read_node_affinity(affinity: Field) -> NodeAffinity:
    """affinity.nodeAffinity: required terms (ORed) and weighted preferred terms."""
    node_affinity = affinity["nodeAffinity"]
    required_field = node_affinity["requiredDuringSchedulingIgnoredDuringExecution"]
    required: tuple[NodeSelectorTerm, ...] | None = None
    if required_field.present:
        terms = required_field["nodeSelectorTerms"]
        required = tuple(_term(term) for term in terms.each())
        if not required:
            raise terms.error("must have at least one node selector term")
    preferred = []
    for item in node_affinity["preferredDuringSchedulingIgnoredDuringExecution"].each():
        weight_field = item["weight"]
        weight = weight_field.optional_integer()
        if weight is None or not 1 <= weight <= 100:
            raise weight_field.error(f"must be in the range 1-100, got {weight_field.value!r}")
        preference = item["preference"]
        if not preference.present:
            raise preference.error("required value")
        preferred.append((weight, _term(preference)))
    return NodeAffinity(required=required, preferred=tuple(preferred))


def _term(term: Field) -> NodeSelectorTerm:
    expressions = tuple(_requirement(item) for item in term["matchExpressions"].each())
    fields = tuple(_field_requirement(item) for item in term["matchFields"].each())
    return NodeSelectorTerm(match_expressions=expressions, match_fields=fields)


def _operator(field: Field) -> SelectorOperator:
    text = field.required_string()
    try:
        return SelectorOperator(text)
    except ValueError:
        raise field.error(
            f"not a valid selector operator {text!r}: supported values: {_OPERATORS}"
        ) from None


def _requirement(item: Field) -> NodeSelectorRequirement:
    key = item["key"].required_string()
    operator = _operator(item["operator"])
    values_field = item["values"]
    values = values_field.strings()
    if operator in (SelectorOperator.IN, SelectorOperator.NOT_IN) and not values:
        raise values_field.error("must be specified when `operator` is 'In' or 'NotIn'")
    if operator in (SelectorOperator.EXISTS, SelectorOperator.DOES_NOT_EXIST) and values:
        raise values_field.error(
            "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
        )
    if operator in (SelectorOperator.GT, SelectorOperator.LT):
        if len(values) != 1:
            raise values_field.error(
                "must be specified single value when `operator` is 'Lt' or 'Gt'"
            )
        try:
            int(values[0])
        except ValueError:
            raise values_field.each()[0].error(
                f"must be an integer for `operator` {operator.value!r}, got {values[0]!r}"
            ) from None
    return NodeSelectorRequirement(key, operator, values)


def _field_requirement(item: Field) -> NodeSelectorRequirement:
    key_field = item["key"]
    if key_field.required_string() != "metadata.name":
        raise key_field.error(
            f"not a valid field selector key {key_field.value!r}: only metadata.name is supported"
        )
    requirement = _requirement(item)
    if requirement.operator not in (SelectorOperator.IN, SelectorOperator.NOT_IN):
        raise item["operator"].error("field selectors support only the operators In and NotIn")
    if len(requirement.values) != 1:
        raise item["values"].error(
            "must be only one value when `operator` is 'In' or 'NotIn' for node field selector"
        )
    return requirement
