"""A node's sharing mode from the NVIDIA device plugin's ConfigMap, as the plugin reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpuplane.catalog import lookup
from gpuplane.catalog.resources import GPU, GPU_SHARED
from gpuplane.cluster.load import load_cluster
from gpuplane.errors import InputError, Location, ManifestError
from gpuplane.objects import read_text
from gpuplane.sharing import (
    EXCLUSIVE_NODE,
    DevicePluginConfig,
    DevicePluginConfigMap,
    GpuSharing,
    MigStrategy,
    NodeSharing,
    ReplicatedResource,
    SharingConfig,
    SharingKind,
    resolve_uuids,
    select_config,
    sharing_from_device_plugin_config,
    with_mig_gpus,
)

A100 = lookup("NVIDIA-A100-SXM4-80GB")
CONFIG_LABEL = "nvidia.com/device-plugin.config"

CONFIGMAP = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: plugin-configs, namespace: gpu-operator}
data:
  default: |
    version: v1
    flags: {migStrategy: none}
  ts4: |
    version: v1
    sharing:
      timeSlicing:
        renameByDefault: true
        failRequestsGreaterThanOne: true
        resources:
        - name: nvidia.com/gpu
          replicas: 4
  mps2: |
    version: v1
    sharing:
      mps:
        resources:
        - name: nvidia.com/gpu
          replicas: 2
          devices: [0, "1"]
  mixed: |
    version: v1
    flags: {migStrategy: mixed}
"""


def configmaps(text: str = CONFIGMAP) -> list[DevicePluginConfigMap]:
    return read_text(text, "cm.yaml").device_plugin_configs


def ts(
    replicas: int, devices: str | int | tuple[str, ...] = "all", rename: str | None = None
) -> DevicePluginConfig:
    resource = ReplicatedResource(GPU, replicas, rename=rename, devices=devices)
    return DevicePluginConfig("c", time_slicing=SharingConfig(resources=(resource,)))


# --- choosing the config ----------------------------------------------------------------------


def test_the_node_label_names_the_config() -> None:
    config = select_config({CONFIG_LABEL: "ts4"}, configmaps())
    assert config is not None and config.name == "ts4"


def test_without_the_label_the_default_config_applies() -> None:
    config = select_config({}, configmaps())
    assert config is not None and config.name == "default"
    # An explicit default (the chart's config.default) comes first.
    config = select_config({}, configmaps(), default="mixed")
    assert config is not None and config.name == "mixed"


def test_a_single_config_is_the_default_and_otherwise_there_is_none() -> None:
    one = DevicePluginConfigMap("cm", "ns", {"only": ts(2)})
    assert select_config({}, [one]) == ts(2)
    two = DevicePluginConfigMap("cm", "ns", {"a": ts(2), "b": ts(3)})
    assert select_config({}, [two]) is None
    assert select_config({}, []) is None


def test_a_label_naming_a_missing_config_names_the_node_and_the_key() -> None:
    with pytest.raises(InputError) as err:
        select_config(
            {CONFIG_LABEL: "t4"},
            configmaps(),
            node="gpu-7",
            where=Location("nodes.yaml", 3, "metadata.labels"),
        )
    text = str(err.value)
    assert "node gpu-7 asks for device plugin config 't4'" in text
    assert "nodes.yaml:3: metadata.labels.nvidia.com/device-plugin.config" in text
    assert "configs found: default, mixed, mps2, ts4" in text
    with pytest.raises(InputError, match="'nope' \\(the default config\\)"):
        select_config({}, configmaps(), default="nope")


def test_a_config_name_in_two_configmaps_is_ambiguous() -> None:
    a = DevicePluginConfigMap("a", "ns", {"x": ts(2)})
    b = DevicePluginConfigMap("b", "ns", {"x": ts(3)})
    with pytest.raises(InputError, match="the device plugin reads one ConfigMap"):
        select_config({}, [a, b])


# --- what a config means ----------------------------------------------------------------------


def test_time_slicing_all_gpus_renamed_by_default() -> None:
    config = configmaps()[0].configs["ts4"]
    sharing = sharing_from_device_plugin_config(config, 8, A100)
    assert sharing == NodeSharing(
        GpuSharing(
            SharingKind.TIME_SLICING,
            replicas=4,
            resource=GPU_SHARED,
            fail_requests_greater_than_one=True,
        )
    )


def test_fail_requests_greater_than_one_defaults_off_for_time_slicing() -> None:
    sharing = sharing_from_device_plugin_config(ts(3), 2, A100)
    assert sharing.default == GpuSharing(SharingKind.TIME_SLICING, replicas=3)


def test_rename_is_ignored_as_the_device_plugin_does() -> None:
    sharing = sharing_from_device_plugin_config(ts(2, rename="a100.shared"), 2, A100)
    assert sharing.default.resource == "nvidia.com/gpu"


@pytest.mark.parametrize("devices", [3, 8, 9, ("8",), ("0:1",), ("0", "1")])
def test_devices_are_ignored_as_the_device_plugin_does(devices: int | tuple[str, ...]) -> None:
    sharing = sharing_from_device_plugin_config(ts(2, devices=devices), 8, A100)
    assert sharing == NodeSharing(GpuSharing(SharingKind.TIME_SLICING, replicas=2))


def test_mig_strategy_comes_from_the_flags() -> None:
    config = configmaps()[0].configs["mixed"]
    assert sharing_from_device_plugin_config(config, 8, A100) == NodeSharing(
        mig_strategy=MigStrategy.MIXED
    )


def test_replicated_mig_resources_are_not_supported_yet() -> None:
    resource = ReplicatedResource("nvidia.com/mig-1g.10gb", 2)
    config = DevicePluginConfig(
        "m", mig_strategy="mixed", time_slicing=SharingConfig(resources=(resource,))
    )
    with pytest.raises(ManifestError, match=r"replicating MIG devices .* not supported yet"):
        sharing_from_device_plugin_config(config, 8, A100)
    # Without the mixed strategy no such resource exists, and the plugin skips the entry.
    config = DevicePluginConfig("m", time_slicing=SharingConfig(resources=(resource,)))
    assert sharing_from_device_plugin_config(config, 8, A100) == EXCLUSIVE_NODE


def test_configs_the_plugin_would_refuse_are_refused() -> None:
    both = DevicePluginConfig(
        "b",
        time_slicing=SharingConfig(resources=(ReplicatedResource(GPU, 2),)),
        mps=SharingConfig(resources=(ReplicatedResource(GPU, 2),)),
    )
    with pytest.raises(ManifestError, match="mutually exclusive"):
        sharing_from_device_plugin_config(both, 8, A100)
    many = DevicePluginConfig("m", mps=SharingConfig(resources=(ReplicatedResource(GPU, 64),)))
    with pytest.raises(ManifestError, match="exceed the 48 MPS clients"):
        sharing_from_device_plugin_config(many, 8, A100)
    twice = DevicePluginConfig(
        "t",
        time_slicing=SharingConfig(
            resources=(ReplicatedResource(GPU, 2), ReplicatedResource(GPU, 3, devices=("1",)))
        ),
    )
    with pytest.raises(ManifestError, match=r"nvidia\.com/gpu appears in two resources entries"):
        sharing_from_device_plugin_config(twice, 8, A100)


# --- loading a cluster: labels, then ConfigMaps -----------------------------------------------


def node(name: str, labels: dict[str, str], gpus: str = "8", resource: str = GPU) -> str:
    rows = ["---", "apiVersion: v1", "kind: Node", "metadata:", f"  name: {name}", "  labels:"]
    rows += ['    nvidia.com/gpu.product: "NVIDIA-A100-SXM4-80GB"']
    rows += [f'    {key}: "{value}"' for key, value in labels.items()]
    rows += ["status:", "  allocatable:", '    cpu: "64"', "    memory: 512Gi"]
    rows += [f'    {resource}: "{gpus}"']
    return "\n".join(rows) + "\n"


def write(tmp_path: Path, *docs: str) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(CONFIGMAP + "".join(docs), encoding="utf-8")
    return path


def test_configmaps_apply_to_nodes_by_label_or_default(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        node("shared", {CONFIG_LABEL: "ts4"}),
        node("plain", {}),
        node("gfd-says", {"nvidia.com/gpu.replicas": "2"}, "16", GPU_SHARED),
    )
    shared, plain, gfd_says = load_cluster(path)
    assert shared.sharing.default.replicas == 4 and shared.gpu_count == 8
    assert plain.sharing == EXCLUSIVE_NODE  # the "default" config shares nothing
    # Labels the device plugin wrote describe what runs: they win over the ConfigMap.
    assert gfd_says.sharing.default == GpuSharing(
        SharingKind.TIME_SLICING, replicas=2, resource=GPU_SHARED
    )
    assert gfd_says.gpu_count == 8


def test_mig_gpus_known_from_mig_config_take_the_configs_strategy(tmp_path: Path) -> None:
    labels = {CONFIG_LABEL: "mixed", "nvidia.com/mig.config": "all-1g.10gb"}
    labels["nvidia.com/gpu.count"] = "8"
    (n,) = load_cluster(write(tmp_path, node("mig", labels, "0")))
    assert n.sharing == NodeSharing(
        GpuSharing(SharingKind.MIG, mig_layout=("1g.10gb",) * 7), mig_strategy=MigStrategy.MIXED
    )
    labels[CONFIG_LABEL] = "mps2"
    with pytest.raises(ManifestError, match="does not share MIG devices with MPS"):
        load_cluster(write(tmp_path, node("mig", labels, "0")))


def test_a_missing_config_stops_loading_and_names_the_node(tmp_path: Path) -> None:
    path = write(tmp_path, node("gpu-3", {CONFIG_LABEL: "t4"}))
    with pytest.raises(InputError, match="node gpu-3 asks for device plugin config 't4'"):
        load_cluster(path)


def test_mig_gpus_the_driver_reports_override_the_config_gpu_by_gpu() -> None:
    # The node agent's view: GPU 1 is in MIG mode, the config replicates the whole GPUs.
    config = NodeSharing(
        default=GpuSharing(SharingKind.TIME_SLICING, replicas=3), mig_strategy=MigStrategy.MIXED
    )
    layout = (("3g.40gb", 4), ("1g.10gb", 0))
    sharing = with_mig_gpus(config, {1: layout}, 3)
    assert sharing.for_gpu(0) == config.default == sharing.for_gpu(2)
    assert sharing.for_gpu(1) == GpuSharing(SharingKind.MIG, mig_layout=("3g.40gb", "1g.10gb"))
    assert sharing.mig_strategy is MigStrategy.MIXED
    assert with_mig_gpus(config, {}, 3) == NodeSharing(config.default, {}, MigStrategy.MIXED)


def test_mig_gpus_refuse_what_the_plugin_refuses() -> None:
    single = NodeSharing(mig_strategy=MigStrategy.SINGLE)
    with pytest.raises(InputError, match=r"found GPU 0: 1g\.10gb; GPU 1: MIG off"):
        with_mig_gpus(single, {0: (("1g.10gb", 0),)}, 2)
    with pytest.raises(InputError, match="GPU 1: no MIG devices"):
        with_mig_gpus(single, {0: (("1g.10gb", 0),), 1: ()}, 2)
    mps = NodeSharing(GpuSharing(SharingKind.MPS, replicas=2), mig_strategy=MigStrategy.MIXED)
    with pytest.raises(InputError, match="MPS does not share MIG devices"):
        with_mig_gpus(mps, {0: ()}, 2)


def test_gpu_uuids_in_devices_become_indices_and_unknown_ones_are_refused() -> None:
    entry = ReplicatedResource(GPU, 2, devices=("GPU-b", "0"))
    config = DevicePluginConfig("ts", time_slicing=SharingConfig(resources=(entry,)))
    resolved = resolve_uuids(config, {"GPU-a": 0, "GPU-b": 1})
    assert resolved.time_slicing is not None
    assert resolved.time_slicing.resources[0].devices == ("1", "0")
    with pytest.raises(InputError, match=r"'GPU-b' in nvidia\.com/gpu's devices is not a GPU"):
        resolve_uuids(config, {"GPU-a": 0})


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("gpu", True),
        ("nvidia.com/gpu.shared", True),
        ("mig-1g.10gb.me", True),
        ("mig-1g.10gb+me", False),
        ("GPU", False),
        ("other.com/gpu", False),
        ("a" * 52, True),
        ("a" * 53, False),
    ],
)
def test_resource_names_are_dns_subdomains_of_at_most_63_characters(name: str, valid: bool) -> None:
    from gpuplane.sharing.plugin_config import resource_name

    if valid:
        assert resource_name(name).startswith("nvidia.com/")
    else:
        with pytest.raises(ValueError):
            resource_name(name)
