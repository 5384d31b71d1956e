"""Objects from an API server (decoded JSON) read exactly as the same objects from files."""

from __future__ import annotations

from dataclasses import fields, is_dataclass, replace

import pytest
import yaml

from gpuplane.errors import InputError, Location
from gpuplane.objects import read_api_objects, read_manifests

from helpers import EXAMPLES


def without_source(obj: object) -> object:
    """The object with every `source` Location in it blanked: files have lines, JSON has not."""
    if not is_dataclass(obj) or isinstance(obj, type):
        return obj
    changes = {
        f.name: Location() if f.name == "source" else without_source(getattr(obj, f.name))
        for f in fields(obj)
    }
    return replace(obj, **changes)


@pytest.mark.parametrize(
    "folder", [EXAMPLES / "sharing" / "workloads", EXAMPLES / "workloads", EXAMPLES / "queueing"]
)
def test_the_same_objects_read_the_same_from_json(folder):
    paths = sorted(p for p in folder.glob("*.yaml"))
    from_files = read_manifests(paths)
    docs = [d for p in paths for d in yaml.safe_load_all(p.read_text()) if d]
    from_api = read_api_objects(docs)
    for kind in ("pods", "jobs", "nodes", "cluster_queues", "local_queues", "resource_flavors"):
        a, b = getattr(from_files, kind, None), getattr(from_api, kind, None)
        assert [without_source(x) for x in a or []] == [without_source(x) for x in b or []], kind
    assert len(from_api.warnings) == len(from_files.warnings)


def test_an_api_object_error_names_the_object_and_the_field():
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "namespace": "team"},
        "spec": {"containers": [{"name": "c", "resources": {"limits": {"nvidia.com/gpu": "x"}}}]},
    }
    with pytest.raises(InputError) as err:
        read_api_objects([pod])
    where = str(err.value.where)
    assert where.startswith("Pod team/p: spec.containers[0].resources.limits"), where
