"""A node's sharing mode from the labels GFD and the device plugin write, and back."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.catalog import GpuModel, all_models, lookup
from gpuplane.catalog.labels import (
    COUNT,
    DEVICE_SPLIT_COUNT,
    DYNAMIC_MIG,
    GPU_SCHEDULER_POLICY,
    MIG_CONFIG,
    MIG_STRATEGY,
    PRODUCT,
    REPLICAS,
    SHARING,
    SHARING_STRATEGY,
)
from gpuplane.catalog.mig import named_layout
from gpuplane.catalog.resources import GPU, GPU_SHARED
from gpuplane.errors import InputError, ManifestError
from gpuplane.objects import Node, read_text
from gpuplane.sharing import (
    EXCLUSIVE_NODE,
    FractionPolicy,
    GpuSharing,
    MigStrategy,
    NodeSharing,
    SharingKind,
    advertised,
    gfd_labels,
    node_devices,
    physical_gpu_count,
    sharing_from_labels,
)

A100 = lookup("NVIDIA-A100-SXM4-80GB")


def node_yaml(labels: dict[str, str], allocatable: dict[str, str]) -> str:
    rows = ["apiVersion: v1", "kind: Node", "metadata:", "  name: n1", "  labels:"]
    rows += [f'    {key}: "{value}"' for key, value in labels.items()]
    rows += ["status:", "  allocatable:", '    cpu: "64"', "    memory: 512Gi"]
    rows += [f'    {key}: "{value}"' for key, value in allocatable.items()]
    return "\n".join(rows) + "\n"


def read_node(labels: dict[str, str], allocatable: dict[str, str]) -> Node:
    (node,) = read_text(node_yaml(labels, allocatable), "node.yaml").nodes
    return node


def fails(labels: dict[str, str], allocatable: dict[str, str] | None = None) -> InputError:
    text = node_yaml(labels, allocatable or {GPU: "8"})
    with pytest.raises(InputError) as err:
        read_text(text, "node.yaml")
    return err.value


def line_of(labels: dict[str, str], label: str) -> int:
    text = node_yaml(labels, {})
    return next(i for i, row in enumerate(text.splitlines(), 1) if row.strip().startswith(label))


def gfd(product: str = "NVIDIA-A100-SXM4-80GB", **extra: str) -> dict[str, str]:
    return {PRODUCT: product, "nvidia.com/gpu.memory": "81920", **extra}


# --- each mode -------------------------------------------------------------------------------


def test_labels_without_sharing_say_nothing_and_the_node_is_exclusive() -> None:
    assert sharing_from_labels({PRODUCT: "NVIDIA-A100-SXM4-80GB"}, 8, model=A100) is None
    node = read_node(gfd(), {GPU: "8"})
    assert node.sharing == EXCLUSIVE_NODE and node.gpu_count == 8


def test_time_slicing_not_renamed_keeps_nvidia_gpu_and_counts_physical_gpus() -> None:
    labels = gfd(
        "NVIDIA-A100-SXM4-80GB-SHARED",
        **{REPLICAS: "4", SHARING_STRATEGY: "time-slicing", COUNT: "8"},
    )
    node = read_node(labels, {GPU: "32"})
    assert node.gpu_count == 8
    assert node.gpu_model == "NVIDIA-A100-SXM4-80GB"
    assert node.sharing == NodeSharing(GpuSharing(SharingKind.TIME_SLICING, replicas=4))


def test_time_slicing_without_the_suffix_is_renamed() -> None:
    labels = gfd(**{REPLICAS: "4", SHARING_STRATEGY: "time-slicing"})
    node = read_node(labels, {GPU_SHARED: "32"})
    # No nvidia.com/gpu.count: the physical count is the replicas' count over the replicas.
    assert node.gpu_count == 8
    assert node.sharing.default == GpuSharing(
        SharingKind.TIME_SLICING, replicas=4, resource=GPU_SHARED
    )


def test_a_custom_rename_is_found_among_what_the_node_advertises() -> None:
    labels = gfd(**{REPLICAS: "2", SHARING_STRATEGY: "time-slicing"})
    node = read_node(labels, {"nvidia.com/a100-shared": "16", "rdma/ib": "1"})
    assert node.gpu_count == 8
    assert node.sharing.default.resource == "nvidia.com/a100-shared"


def test_mps_refuses_multi_replica_requests_as_the_plugin_does() -> None:
    labels = gfd(
        "NVIDIA-A100-SXM4-80GB-SHARED", **{REPLICAS: "4", SHARING_STRATEGY: "mps", COUNT: "2"}
    )
    node = read_node(labels, {GPU: "8"})
    assert node.gpu_count == 2
    assert node.sharing.default == GpuSharing(
        SharingKind.MPS, replicas=4, fail_requests_greater_than_one=True
    )


def test_old_gfd_counted_replicas_and_wrote_no_sharing_strategy() -> None:
    labels = gfd("NVIDIA-A100-SXM4-80GB-SHARED", **{REPLICAS: "4", COUNT: "32"})
    node = read_node(labels, {GPU: "32"})
    assert node.gpu_count == 8
    assert node.sharing.default.kind is SharingKind.TIME_SLICING


def test_mig_single_counts_mig_devices_in_nvidia_gpu() -> None:
    labels = {
        PRODUCT: "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb",
        "nvidia.com/gpu.memory": "9728",
        COUNT: "56",
        REPLICAS: "1",
        SHARING_STRATEGY: "none",
        MIG_STRATEGY: "single",
        MIG_CONFIG: "all-1g.10gb",
        "nvidia.com/mig.config.state": "success",
    }
    node = read_node(labels, {GPU: "56"})
    assert node.gpu_count == 8
    # GFD's memory label is the MIG device's here; the node keeps the whole GPU's.
    assert node.gpu_memory_mib == 81920
    assert node.sharing == NodeSharing(
        GpuSharing(SharingKind.MIG, mig_layout=("1g.10gb",) * 7), mig_strategy=MigStrategy.SINGLE
    )
    del labels[COUNT]
    assert read_node(labels, {GPU: "56"}).gpu_count == 8


def test_mig_single_with_media_extensions_reads_the_sanitised_profile() -> None:
    labels = {PRODUCT: "NVIDIA-A100-SXM4-80GB-MIG-1g.10gbme", MIG_STRATEGY: "single"}
    node = read_node(labels, {GPU: "8"})
    assert node.gpu_count == 8
    assert node.sharing.default.mig_layout == ("1g.10gb+me",)


def test_mig_mixed_all_balanced_from_gfd_counts() -> None:
    labels = gfd(
        **{
            COUNT: "8",
            REPLICAS: "0",
            MIG_STRATEGY: "mixed",
            "nvidia.com/mig-1g.10gb.count": "16",
            "nvidia.com/mig-2g.20gb.count": "8",
            "nvidia.com/mig-3g.40gb.count": "8",
        }
    )
    node = read_node(labels, {GPU: "0", "nvidia.com/mig-1g.10gb": "16"})
    assert node.gpu_count == 8
    assert node.sharing == NodeSharing(
        GpuSharing(SharingKind.MIG, mig_layout=named_layout(A100, "all-balanced")),
        mig_strategy=MigStrategy.MIXED,
    )


@pytest.mark.parametrize(
    ("config", "layout"),
    [
        ("all-1g.10gb", ("1g.10gb",) * 7),
        ("all-balanced", ("1g.10gb", "1g.10gb", "2g.20gb", "3g.40gb")),
        ("all-1g.10gb.me", ("1g.10gb+me",)),
        ("all-enabled", ()),
    ],
)
def test_mig_mixed_from_mig_parted_config_names(config: str, layout: tuple[str, ...]) -> None:
    labels = gfd(**{COUNT: "4", MIG_STRATEGY: "mixed", MIG_CONFIG: config})
    node = read_node(labels, {GPU: "0"})
    assert node.gpu_count == 4
    assert node.sharing.default == GpuSharing(SharingKind.MIG, mig_layout=layout)
    assert node.sharing.mig_strategy is MigStrategy.MIXED


def test_a_mig_config_not_yet_applied_does_not_count() -> None:
    labels = gfd(**{MIG_STRATEGY: "single", MIG_CONFIG: "all-1g.10gb"})
    labels["nvidia.com/mig.config.state"] = "pending"
    node = read_node(labels, {GPU: "8"})
    assert node.gpu_count == 8
    assert node.sharing == NodeSharing(mig_strategy=MigStrategy.SINGLE)
    labels[MIG_CONFIG] = "all-disabled"
    labels["nvidia.com/mig.config.state"] = "success"
    assert read_node(labels, {GPU: "8"}).sharing.kinds(8) == {SharingKind.EXCLUSIVE}


def test_mig_config_without_a_strategy_advertises_nothing_yet() -> None:
    # The device plugin's default migStrategy is none: a ConfigMap may still supply one.
    labels = gfd(**{COUNT: "8", MIG_CONFIG: "all-1g.10gb"})
    node = read_node(labels, {GPU: "0"})
    assert node.gpu_count == 8
    assert node.sharing.mig_strategy is MigStrategy.NONE
    assert node.sharing.default.mig_layout == ("1g.10gb",) * 7


def test_fractional_and_its_policy_are_gpuplane_labels() -> None:
    # Each GPU is advertised as its split count of devices (10 unless labelled otherwise).
    node = read_node(gfd(**{SHARING: "fractional", GPU_SCHEDULER_POLICY: "spread"}), {GPU: "80"})
    assert node.gpu_count == 8
    assert node.sharing == NodeSharing(
        GpuSharing(SharingKind.FRACTIONAL, fraction_policy=FractionPolicy.SPREAD)
    )
    node = read_node(gfd(**{SHARING: "fractional"}), {GPU: "80"})
    assert node.sharing.default.fraction_policy is FractionPolicy.BINPACK
    assert node.sharing.default.split_count == 10


def test_the_split_count_is_a_label_and_divides_allocatable() -> None:
    labels = gfd(**{SHARING: "fractional", DEVICE_SPLIT_COUNT: "4"})
    node = read_node(labels, {GPU: "16"})
    assert (node.gpu_count, node.sharing.default.split_count) == (4, 4)
    # GFD's count is the physical one and wins over allocatable.
    assert read_node({**labels, COUNT: "2"}, {GPU: "8"}).gpu_count == 2
    err = fails(gfd(**{SHARING: "fractional"}), {GPU: "8"})
    assert "advertises each GPU as 10 devices" in str(err) and "not a multiple" in str(err)
    # Written back by the agent's labels, read the same.
    fractional = NodeSharing(GpuSharing(SharingKind.FRACTIONAL, split_count=4))
    written = gfd_labels(A100, 4, fractional)
    assert written[DEVICE_SPLIT_COUNT] == "4"
    assert sharing_from_labels(written, 4, model=A100) == fractional


def test_dynamic_mig_is_mixed_and_may_start_empty() -> None:
    node = read_node(gfd(**{COUNT: "8", DYNAMIC_MIG: "true"}), {GPU: "0"})
    assert node.sharing == NodeSharing(
        GpuSharing(SharingKind.MIG), mig_strategy=MigStrategy.MIXED, dynamic_mig=True
    )
    labels = gfd(**{COUNT: "8", DYNAMIC_MIG: "true", MIG_STRATEGY: "mixed"})
    labels[MIG_CONFIG] = "all-balanced"
    sharing = read_node(labels, {GPU: "0"}).sharing
    assert sharing.dynamic_mig and sharing.default.mig_layout == named_layout(A100, "all-balanced")


def test_an_unknown_product_still_reads_replicas() -> None:
    labels = {PRODUCT: "Acme-X1-SHARED", REPLICAS: "2", SHARING_STRATEGY: "time-slicing"}
    node = read_node(labels, {GPU: "8"})
    assert node.gpu_count == 4 and node.gpu_model == "Acme-X1-SHARED"
    assert node.sharing.default == GpuSharing(SharingKind.TIME_SLICING, replicas=2)


# --- invalid labels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("labels", "bad", "message"),
    [
        ({REPLICAS: "four"}, REPLICAS, "must be a whole number, got 'four'"),
        ({SHARING_STRATEGY: "spatial"}, SHARING_STRATEGY, "unknown value 'spatial'"),
        ({SHARING_STRATEGY: "mps", REPLICAS: "1"}, REPLICAS, "replicas must be 2 or more"),
        ({SHARING_STRATEGY: "none", REPLICAS: "4"}, SHARING_STRATEGY, "says none"),
        ({PRODUCT: "NVIDIA-A100-SXM4-80GB-SHARED", REPLICAS: "1"}, PRODUCT, "ends in -SHARED"),
        ({MIG_STRATEGY: "both"}, MIG_STRATEGY, "unknown value 'both'"),
        ({MIG_STRATEGY: "mixed", MIG_CONFIG: "team-a"}, MIG_CONFIG, "unknown MIG layout name"),
        (
            {PRODUCT: "NVIDIA-A100-SXM4-80GB-MIG-INVALID", MIG_STRATEGY: "single"},
            PRODUCT,
            "the single strategy cannot serve",
        ),
        (
            {PRODUCT: "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb-SHARED", MIG_STRATEGY: "single"},
            PRODUCT,
            "not supported yet",
        ),
        (
            {PRODUCT: "NVIDIA-A100-SXM4-80GB-MIG-1g.10gb", MIG_STRATEGY: "mixed"},
            PRODUCT,
            "under the single strategy only",
        ),
        (
            {MIG_STRATEGY: "mixed", COUNT: "8", "nvidia.com/mig-1g.10gb.count": "12"},
            "nvidia.com/mig-1g.10gb.count",
            "do not split evenly over 8 GPUs",
        ),
        (
            {MIG_STRATEGY: "mixed", COUNT: "1", "nvidia.com/mig-1g.10gb.replicas": "2"},
            "nvidia.com/mig-1g.10gb.replicas",
            "replicas of MIG devices are not supported yet",
        ),
        ({SHARING: "half"}, SHARING, "unknown value 'half'"),
        ({DYNAMIC_MIG: "yes"}, DYNAMIC_MIG, "unknown value 'yes'"),
        ({DYNAMIC_MIG: "true", MIG_STRATEGY: "single"}, DYNAMIC_MIG, "needs"),
        ({GPU_SCHEDULER_POLICY: "spread"}, GPU_SCHEDULER_POLICY, "fractional nodes only"),
        ({DEVICE_SPLIT_COUNT: "4"}, DEVICE_SPLIT_COUNT, "fractional nodes only"),
        ({SHARING: "fractional", DEVICE_SPLIT_COUNT: "0"}, DEVICE_SPLIT_COUNT, "must be 1 to"),
        ({SHARING: "fractional", DEVICE_SPLIT_COUNT: "1001"}, DEVICE_SPLIT_COUNT, "1 to 1000"),
        (
            {SHARING: "fractional", REPLICAS: "2", SHARING_STRATEGY: "time-slicing"},
            SHARING,
            "cannot also be time-slicing",
        ),
        ({SHARING_STRATEGY: "mps", REPLICAS: "64"}, REPLICAS, "exceed the 48 MPS clients"),
    ],
)
def test_invalid_labels_name_the_label_and_its_line(
    labels: dict[str, str], bad: str, message: str
) -> None:
    full = {PRODUCT: "NVIDIA-A100-SXM4-80GB", **labels}
    err = fails(full)
    assert isinstance(err, ManifestError)
    assert message in str(err)
    assert f"node.yaml:{line_of(full, bad)}: metadata.labels.{bad}:" in str(err)


def test_mig_labels_need_a_mig_capable_model() -> None:
    err = fails({PRODUCT: "Tesla-T4", MIG_STRATEGY: "mixed", MIG_CONFIG: "all-1g.10gb"})
    assert "Tesla-T4 is not MIG-capable" in str(err)
    err = fails({PRODUCT: "Acme-X1-MIG-1g.10gb", MIG_STRATEGY: "single"})
    assert "MIG needs a GPU model gpuplane knows" in str(err)


# --- round trip: gfd_labels, read back --------------------------------------------------------

MIG_MODELS = [m for m in all_models() if m.mig_capable]


@st.composite
def node_sharings(draw: st.DrawFn) -> tuple[GpuModel, int, NodeSharing]:
    """A model, a GPU count and a sharing whose GFD labels carry all of it."""
    count = draw(st.integers(1, 8))
    mode = draw(st.sampled_from(list(SharingKind)))
    mig_strategy = draw(st.sampled_from(list(MigStrategy)))
    if mode in (SharingKind.TIME_SLICING, SharingKind.MPS):
        model = draw(st.sampled_from(all_models()))
        replicas = draw(st.integers(2, min(48, model.max_mps_clients)))
        renamed = draw(st.booleans())
        gpu = GpuSharing(
            mode,
            replicas=replicas,
            resource=GPU_SHARED if renamed else GPU,
            fail_requests_greater_than_one=mode is SharingKind.MPS,
        )
        return model, count, NodeSharing(gpu, mig_strategy=mig_strategy)
    if mode is SharingKind.FRACTIONAL:
        model = draw(st.sampled_from(all_models()))
        policy = draw(st.sampled_from(list(FractionPolicy)))
        gpu = GpuSharing(SharingKind.FRACTIONAL, fraction_policy=policy)
        return model, count, NodeSharing(gpu, mig_strategy=mig_strategy)
    if mode is SharingKind.MIG:
        model = draw(st.sampled_from(MIG_MODELS))
        names = ["all-balanced", *(f"all-{p.name}" for p in model.mig_profiles)]
        layout = named_layout(model, draw(st.sampled_from(names)))
        strategy = MigStrategy.MIXED
        if len(set(layout)) == 1 and draw(st.booleans()):
            strategy = MigStrategy.SINGLE
        dynamic = strategy is MigStrategy.MIXED and draw(st.booleans())
        gpu = GpuSharing(SharingKind.MIG, mig_layout=layout)
        return model, count, NodeSharing(gpu, mig_strategy=strategy, dynamic_mig=dynamic)
    # Exclusive; vGPU has no GFD labels, so it stands for exclusive here too.
    return draw(st.sampled_from(all_models())), count, NodeSharing(mig_strategy=mig_strategy)


@settings(max_examples=300, deadline=None)
@given(node_sharings())
def test_gfd_labels_read_back_give_the_same_sharing(
    case: tuple[GpuModel, int, NodeSharing],
) -> None:
    model, count, sharing = case
    labels = gfd_labels(model, count, sharing)
    devices = node_devices(sharing, count, model, model.memory_mib)
    offered = advertised(devices)
    renamed = GPU_SHARED
    assert physical_gpu_count(labels, offered, model=model, renamed_to=renamed) == count
    assert sharing_from_labels(labels, count, model=model, renamed_to=renamed) == sharing


def test_gfd_labels_count_what_the_devices_are() -> None:
    balanced = NodeSharing(
        GpuSharing(SharingKind.MIG, mig_layout=named_layout(A100, "all-balanced")),
        mig_strategy=MigStrategy.MIXED,
    )
    labels = gfd_labels(A100, 8, balanced)
    offered = advertised(node_devices(balanced, 8, A100, A100.memory_mib))
    for resource, n in offered.items():
        assert labels[f"{resource}.count"] == str(n)
    assert labels["nvidia.com/mig-3g.40gb.memory"] == "40192"
    assert labels["nvidia.com/mig-2g.20gb.slices.gi"] == "2"
    assert labels[REPLICAS] == "0" and labels[COUNT] == "8"
    single = NodeSharing(
        GpuSharing(SharingKind.MIG, mig_layout=("3g.40gb",) * 2), mig_strategy=MigStrategy.SINGLE
    )
    labels = gfd_labels(A100, 2, single)
    assert labels[PRODUCT] == "NVIDIA-A100-SXM4-80GB-MIG-3g.40gb"
    assert (labels[COUNT], labels["nvidia.com/gpu.slices.ci"]) == ("4", "3")


def test_gfd_labels_mark_a_node_single_cannot_serve() -> None:
    mixed_layout = NodeSharing(
        GpuSharing(SharingKind.MIG, mig_layout=named_layout(A100, "all-balanced")),
        mig_strategy=MigStrategy.SINGLE,
    )
    labels = gfd_labels(A100, 2, mixed_layout)
    assert labels[PRODUCT] == "NVIDIA-A100-SXM4-80GB-MIG-INVALID" and labels[COUNT] == "0"


def test_gfd_labels_of_shared_and_fractional_nodes() -> None:
    mps = NodeSharing(GpuSharing(SharingKind.MPS, replicas=3, resource=GPU_SHARED))
    labels = gfd_labels(A100, 4, mps)
    assert labels[PRODUCT] == "NVIDIA-A100-SXM4-80GB"  # renamed: no -SHARED
    assert (labels[REPLICAS], labels[SHARING_STRATEGY]) == ("3", "mps")
    assert labels["nvidia.com/mps.capable"] == "true"
    labels = gfd_labels(A100, 4, NodeSharing(GpuSharing(SharingKind.FRACTIONAL)))
    assert (labels[SHARING], labels[GPU_SCHEDULER_POLICY]) == ("fractional", "binpack")
    assert gfd_labels(A100, 4)[REPLICAS] == "1"
