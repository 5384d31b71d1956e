"""CDI specs: valid against the published CDI JSON schema, complete, and written atomically."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from gpuplane.node import FakeBackend, cdi_spec, write_spec
from gpuplane.node.cdi import validate_spec
from node_helpers import A100

from helpers import TESTS

SCHEMA_DIR = TESTS / "data" / "cdi"

INVENTORY = f"""
node: n1
gpus:
  - {{model: {A100}, count: 1, mig: all-balanced}}
  - {{model: {A100}, count: 1}}
"""


def validator(definition: str | None = None) -> jsonschema.Draft7Validator:
    schema = json.loads((SCHEMA_DIR / "schema.json").read_text())
    defs = json.loads((SCHEMA_DIR / "defs.json").read_text())
    registry: Registry[Any] = Registry().with_resources(
        [
            ("defs.json", Resource.from_contents(defs, default_specification=DRAFT7)),
            ("schema.json", Resource.from_contents(schema, default_specification=DRAFT7)),
        ]
    )
    if definition is not None:
        schema = {"$ref": f"defs.json#/definitions/{definition}"}
    return jsonschema.Draft7Validator(schema, registry=registry)


def check(spec: dict[str, Any]) -> None:
    validator().validate(spec)
    validate_spec(spec)  # the CDI library's own checks (names, version, edits)


def test_spec_validates_against_the_cdi_schema() -> None:
    spec = cdi_spec(FakeBackend(text=INVENTORY).inventory())
    check(spec)
    # Device names starting with a digit ("0", "0:1") need 0.5.0; the CDI library refuses
    # the spec when it declares less.
    assert spec["cdiVersion"] == "0.5.0" and spec["kind"] == "nvidia.com/gpu"
    spec["cdiVersion"] = "0.3.0"
    with pytest.raises(ValueError, match=r"must be at least v0\.5\.0"):
        validate_spec(spec)


def test_a_node_without_gpus_gets_no_spec_the_cdi_library_would_refuse() -> None:
    inventory = FakeBackend(text=INVENTORY).inventory()
    spec = cdi_spec(dataclasses.replace(inventory, gpus=()))
    assert [d["name"] for d in spec["devices"]] == ["all"]
    assert spec["cdiVersion"] == "0.3.0"  # no name starts with a digit
    with pytest.raises(ValueError, match="'all' has no container edits"):
        validate_spec(spec)


def test_schema_check_is_not_vacuous() -> None:
    spec = cdi_spec(FakeBackend(text=INVENTORY).inventory())
    del spec["kind"]
    with pytest.raises(jsonschema.ValidationError):
        validator().validate(spec)
    spec = cdi_spec(FakeBackend(text=INVENTORY).inventory())
    spec["devices"][0]["containerEdits"]["deviceNodes"][0] = {"hostPath": "/dev/nvidia0"}
    with pytest.raises(jsonschema.ValidationError, match="'path' is a required property"):
        validator().validate(spec)


def test_every_gpu_and_mig_device_is_named_by_index_and_uuid() -> None:
    inventory = FakeBackend(text=INVENTORY).inventory()
    spec = cdi_spec(inventory)
    edits = {d["name"]: d["containerEdits"] for d in spec["devices"]}
    gpu0, gpu1 = inventory.gpus
    assert edits["0"] == edits[gpu0.uuid] == {"deviceNodes": [{"path": "/dev/nvidia0"}]}
    assert edits["1"] == edits[gpu1.uuid]
    assert len(gpu0.mig_devices) == 4
    for position, mig in enumerate(gpu0.mig_devices):
        assert edits[f"0:{position}"] == edits[mig.uuid]
        paths = [node["path"] for node in edits[mig.uuid]["deviceNodes"]]
        assert paths == [
            "/dev/nvidia0",
            f"/dev/nvidia-caps/nvidia-cap{mig.gi_cap_minor}",
            f"/dev/nvidia-caps/nvidia-cap{mig.ci_cap_minor}",
        ]
    all_paths = [node["path"] for node in edits["all"]["deviceNodes"]]
    assert all_paths == ["/dev/nvidia0", "/dev/nvidia1"]
    common = spec["containerEdits"]
    assert common["env"] == ["NVIDIA_VISIBLE_DEVICES=void"]
    assert [n["path"] for n in common["deviceNodes"]] == [
        "/dev/nvidiactl",
        "/dev/nvidia-uvm",
        "/dev/nvidia-uvm-tools",
    ]
    # 2 GPUs + 4 MIG devices, each twice, and "all".
    assert len(spec["devices"]) == 13


def test_host_root_adds_host_paths_and_raises_the_version() -> None:
    spec = cdi_spec(FakeBackend(text=INVENTORY).inventory(), host_root="/host")
    check(spec)
    assert spec["cdiVersion"] == "0.5.0"
    node = spec["devices"][0]["containerEdits"]["deviceNodes"][0]
    assert node == {"path": "/dev/nvidia0", "hostPath": "/host/dev/nvidia0"}


def test_write_spec_is_atomic_and_leaves_no_temporary_files(tmp_path: Path) -> None:
    spec = cdi_spec(FakeBackend(text=INVENTORY).inventory())
    target = tmp_path / "cdi"
    path = write_spec(spec, target)
    assert path == target / "gpuplane-nvidia.com-gpu.json"
    assert json.loads(path.read_text()) == spec
    write_spec(spec, target)
    assert [p.name for p in target.iterdir()] == [path.name]
    assert path.stat().st_mode & 0o777 == 0o644


def test_write_spec_refuses_a_spec_the_cdi_library_would_refuse(tmp_path: Path) -> None:
    spec = cdi_spec(FakeBackend(text=INVENTORY).inventory())
    spec["devices"].append(dict(spec["devices"][0]))  # the same name twice
    with pytest.raises(ValueError, match="twice"):
        write_spec(spec, tmp_path)
    assert list(tmp_path.iterdir()) == []
