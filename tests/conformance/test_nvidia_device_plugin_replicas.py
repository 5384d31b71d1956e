"""NVIDIA k8s-device-plugin's config tables: device references, `devices` and resources.

Ported from NVIDIA/k8s-device-plugin, api/config/v1/replicas_test.go at commit
1b826acc6af3079d8923bac395c3124b8861a9a6 (TestReplicatedDeviceRef, TestUnmarshalReplicatedDevices,
TestUnmarshalReplicatedResource). Upstream names its cases "test case <i>"; the ids keep them.
The inputs go through gpuplane's ConfigMap reader, as a user's config would.
"""

from __future__ import annotations

import pytest

from gpuplane.errors import InputError
from gpuplane.objects import read_text
from gpuplane.sharing.plugin_config import device_ref_kind

UUID = "4cf8db2d-06c0-7d70-1a51-e59b25b2c16c"

DEVICE_REFS = [
    ("test case 0", "0", "gpu-index"),
    ("test case 1", "0:0", "mig-index"),
    ("test case 2", f"GPU-{UUID}", "uuid"),
    ("test case 3", "MIG-3eb87630-93d5-b2b6-b8ff-9b359caf4ee2", "uuid"),
    ("test case 4", "MIG-GPU-662077db-fa3f-0d8f-9502-21ab0ef058a2/10/0", "uuid"),
]


@pytest.mark.parametrize(
    ("ref", "kind"), [c[1:] for c in DEVICE_REFS], ids=[c[0] for c in DEVICE_REFS]
)
def test_replicated_device_ref(ref: str, kind: str) -> None:
    assert device_ref_kind(ref) == kind


def configmap(entry: str) -> str:
    return (
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dp, namespace: gpu-operator}\n"
        "data:\n  c: |\n    version: v1\n    sharing:\n      timeSlicing:\n"
        f"        resources: [{entry}]\n"
    )


# (upstream name, devices value as written, what gpuplane reads; None for an error)
DEVICES = [
    ("test case 1", '"not-all"', None),
    ("test case 2", "-2", None),
    ("test case 3", "2.0", None),
    ("test case 4", "[-1]", None),
    ("test case 5", '["-1"]', None),
    ("test case 6", '["invalid-UUID"]', None),
    ("test case 7", '["GPU-UUID"]', None),
    ("test case 8", '["MIG-UUID"]', None),
    ("test case 9", f'["MIG-GPU-{UUID}"]', None),
    ("test case 10", '"all"', "all"),
    ("test case 11", "2", 2),
    ("test case 12", "[0]", ("0",)),
    ("test case 13", '["0"]', ("0",)),
    ("test case 14", '["0:0"]', ("0:0",)),
    ("test case 15", f'["GPU-{UUID}"]', (f"GPU-{UUID}",)),
    ("test case 16", f'["MIG-{UUID}"]', (f"MIG-{UUID}",)),
    ("test case 17", f'["MIG-GPU-{UUID}/0/0"]', (f"MIG-GPU-{UUID}/0/0",)),
    ("test case 18", f'[0, "0:0", "GPU-{UUID}"]', ("0", "0:0", f"GPU-{UUID}")),
    ("test case 19", f'["0", "0:0", "GPU-{UUID}"]', ("0", "0:0", f"GPU-{UUID}")),
]


@pytest.mark.parametrize(
    ("text", "expected"), [c[1:] for c in DEVICES], ids=[c[0] for c in DEVICES]
)
def test_unmarshal_replicated_devices(text: str, expected: object) -> None:
    manifest = configmap(f'{{"name": "nvidia.com/gpu", "replicas": 2, "devices": {text}}}')
    if expected is None:
        with pytest.raises(InputError):
            read_text(manifest, "cm.yaml")
        return
    (cm,) = read_text(manifest, "cm.yaml").device_plugin_configs
    config = cm.configs["c"]
    assert config.time_slicing is not None
    # Valid, but the plugin clears `devices` on loading (DisableResourceNamingInConfig) and
    # warns: every GPU is replicated. gpuplane does the same.
    assert config.time_slicing.resources[0].devices == "all"
    assert any("'devices'" in w for w in config.warnings) == (expected != "all")


# (upstream name, resource entry, (name, replicas, rename) read; None for an error)
RESOURCES = [
    ("test case 1", "{}", None),
    ("test case 2", '{"name": "valid",}', None),
    ("test case 3", '{"name": "valid", "devices": "all",}', None),
    ("test case 4", '{"name": "valid", "devices": "all", "rename": "valid-shared",}', None),
    (
        "test case 5",
        '{"name": "valid", "devices": "all", "replicas": 2}',
        ("nvidia.com/valid", 2, None),
    ),
    (
        "test case 6",
        '{"name": "valid", "devices": "all", "replicas": 2, "rename": "valid-shared"}',
        ("nvidia.com/valid", 2, "ignored"),
    ),
    ("test case 7", '{"name": "valid", "replicas": -1,}', None),
    ("test case 8", '{"name": "valid", "replicas": 0,}', None),
    ("test case 9", '{"name": "valid", "replicas": 2}', ("nvidia.com/valid", 2, None)),
    (
        "test case 10",
        '{"name": "valid", "replicas": 2, "rename": "valid-shared"}',
        ("nvidia.com/valid", 2, "ignored"),
    ),
    ("test case 11", '{"name": "$invalid$", "replicas": 2, "rename": "valid-shared"}', None),
    ("test case 12", '{"name": "valid", "replicas": 2, "rename": "$invalid$"}', None),
]


@pytest.mark.parametrize(
    ("entry", "expected"), [c[1:] for c in RESOURCES], ids=[c[0] for c in RESOURCES]
)
def test_unmarshal_replicated_resource(entry: str, expected: tuple[str, int, str] | None) -> None:
    manifest = configmap(entry)
    if expected is None:
        with pytest.raises(InputError):
            read_text(manifest, "cm.yaml")
        return
    (cm,) = read_text(manifest, "cm.yaml").device_plugin_configs
    config = cm.configs["c"]
    assert config.time_slicing is not None
    (resource,) = config.time_slicing.resources
    name, replicas, rename = expected
    assert (resource.name, resource.replicas) == (name, replicas)
    # Intentional: upstream's unmarshal keeps `rename`; the plugin then clears it on loading
    # (DisableResourceNamingInConfig), which gpuplane applies at once, with its warning.
    assert resource.rename is None
    assert any("'rename'" in w for w in config.warnings) == (rename == "ignored")
