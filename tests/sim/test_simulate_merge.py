"""Variants as overrides: merged onto the base by key and by name, errors traced to the override."""

from __future__ import annotations

from gpuplane.sim.twin.merge import deep_merge, trace_to_override

BASE = {
    "placement": "most-allocated",
    "cluster": {
        "name": "c",
        "nodePools": [
            {"name": "a", "count": 2, "sharing": {"mode": "exclusive"}},
            {"name": "b", "count": 3},
        ],
    },
    "tags": [1, 2],
}


def test_mappings_merge_key_by_key_and_named_lists_item_by_name() -> None:
    override = {"cluster": {"nodePools": [{"name": "b", "count": 5}, {"name": "c", "count": 1}]}}
    merged = deep_merge(BASE, override)
    pools = merged["cluster"]["nodePools"]
    assert [p["name"] for p in pools] == ["a", "b", "c"]
    assert pools[0] == BASE["cluster"]["nodePools"][0]
    assert pools[1] == {"name": "b", "count": 5}
    assert merged["cluster"]["name"] == "c" and merged["placement"] == "most-allocated"
    # Neither input changes.
    assert BASE["cluster"]["nodePools"][1] == {"name": "b", "count": 3}


def test_other_values_and_unnamed_lists_are_replaced() -> None:
    merged = deep_merge(BASE, {"placement": "fgd", "tags": [3]})
    assert merged["placement"] == "fgd" and merged["tags"] == [3]


def test_an_error_path_maps_back_to_the_overrides_own_items() -> None:
    override = {"cluster": {"nodePools": [{"name": "b", "sharing": {"mdoe": "mig"}}]}}
    mine, rest = trace_to_override(BASE, override, ["cluster", "nodePools", 1, "sharing", "mdoe"])
    assert mine == ["cluster", "nodePools", 0, "sharing", "mdoe"] and rest == []


def test_an_error_in_what_the_base_supplied_is_split_off() -> None:
    override = {"cluster": {"nodePools": [{"name": "a", "count": 9}]}}
    mine, rest = trace_to_override(BASE, override, ["cluster", "nodePools", 0, "sharing", "mode"])
    assert mine == ["cluster", "nodePools", 0] and rest == ["sharing", "mode"]
