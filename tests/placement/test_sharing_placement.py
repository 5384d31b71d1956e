"""Placing and accounting every sharing mode: devices, replicas, MIG instances, fractions."""

from __future__ import annotations

import copy

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gpuplane.catalog import lookup
from gpuplane.catalog.resources import GPU_SHARED
from gpuplane.cluster import ClusterState
from gpuplane.cluster.binding import Binding, CapacityError
from gpuplane.cluster.state import valid_layout
from gpuplane.objects.gpu_request import GpuKind, GpuRequest
from gpuplane.placement import Placement, Scheduler, Unschedulable
from gpuplane.sharing import FractionPolicy, GpuSharing, MigStrategy, NodeSharing, SharingKind

from helpers import fraction, gpu_node, pod, whole

A100 = "NVIDIA-A100-SXM4-80GB"


def ts(replicas=4, renamed=False, fail_gt1=False, kind=SharingKind.TIME_SLICING):
    resource = GPU_SHARED if renamed else "nvidia.com/gpu"
    return NodeSharing(GpuSharing(kind, replicas, resource, fail_gt1))


def mig(layout, strategy=MigStrategy.MIXED, dynamic=False, per_gpu=None):
    return NodeSharing(
        GpuSharing(SharingKind.MIG, mig_layout=tuple(layout)),
        per_gpu=per_gpu or {},
        mig_strategy=strategy,
        dynamic_mig=dynamic,
    )


FRACTIONAL = NodeSharing(GpuSharing(SharingKind.FRACTIONAL))
SPREAD = NodeSharing(GpuSharing(SharingKind.FRACTIONAL, fraction_policy=FractionPolicy.SPREAD))


def shared(count, resource=GPU_SHARED):
    return GpuRequest(GpuKind.SHARED, count=count, resource=resource)


def mig_req(profile, count=1):
    return GpuRequest(
        GpuKind.MIG, count=count, mig_profile=profile, resource=f"nvidia.com/mig-{profile}"
    )


def advertised(state, node=0):
    return {
        state.ext_names[c]: int(state.ext_alloc[node, c])
        for c in range(len(state.ext_names))
        if state.ext_alloc[node, c]
    }


# -- what a node advertises -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sharing", "expected"),
    [
        (NodeSharing(), {"nvidia.com/gpu": 8}),
        (ts(4), {"nvidia.com/gpu": 32}),
        (ts(4, renamed=True), {GPU_SHARED: 32}),
        (ts(3, kind=SharingKind.MPS), {"nvidia.com/gpu": 24}),
        (mig(["1g.10gb"] * 7), {"nvidia.com/mig-1g.10gb": 56}),
        (mig(["1g.10gb"] * 7, MigStrategy.SINGLE), {"nvidia.com/gpu": 56}),
        (
            mig(["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"]),
            {
                "nvidia.com/mig-3g.40gb": 8,
                "nvidia.com/mig-2g.20gb": 8,
                "nvidia.com/mig-1g.10gb": 16,
            },
        ),
        (
            # Mixed strategy with some GPUs not in MIG mode: those stay nvidia.com/gpu.
            mig(["4g.40gb", "3g.40gb"], per_gpu={6: GpuSharing(), 7: GpuSharing()}),
            {"nvidia.com/mig-4g.40gb": 6, "nvidia.com/mig-3g.40gb": 6, "nvidia.com/gpu": 2},
        ),
        (FRACTIONAL, {"nvidia.com/gpu": 8}),
    ],
)
def test_advertised_resources_follow_the_device_plugin(sharing, expected):
    state = ClusterState([gpu_node("n", 8, A100, sharing=sharing)])
    assert advertised(state) == expected


# -- time-slicing and MPS ----------------------------------------------------------------------


def test_time_sliced_replicas_spread_then_share_and_say_so():
    state = ClusterState([gpu_node("n", 2, A100, sharing=ts(4, renamed=True))])
    d = Scheduler(state).place(pod("p", shared(3)))
    assert isinstance(d, Placement)
    assert sorted(d.gpus) == [0, 0, 1]
    assert d.notes == ("2 replicas on GPU 0: one physical GPU, not 2",)
    assert d.gpu_milli == (250, 250, 250)
    single = Scheduler(state).place(pod("q", shared(1)))
    assert isinstance(single, Placement) and single.gpus == (1,)  # least-loaded GPU first
    assert single.notes == ()


def test_fail_requests_greater_than_one_refuses_with_reason():
    state = ClusterState([gpu_node("n", 8, A100, sharing=ts(4, renamed=True, fail_gt1=True))])
    d = Scheduler(state).schedule(pod("p", shared(2)))
    assert isinstance(d, Unschedulable)
    assert d.reasons == {
        "node(s) refuse requests for more than one shared GPU (failRequestsGreaterThanOne)": 1
    }
    assert isinstance(Scheduler(state).schedule(pod("q", shared(1))), Placement)


def test_whole_gpu_request_on_a_time_sliced_node_takes_replicas():
    # Not renamed: replicas are advertised as nvidia.com/gpu, so nvidia.com/gpu: 1 is a replica.
    state = ClusterState([gpu_node("n", 1, A100, sharing=ts(4))])
    sched = Scheduler(state)
    placed = [sched.place(pod(f"p{i}", whole(1))) for i in range(5)]
    assert [isinstance(d, Placement) for d in placed] == [True] * 4 + [False]
    assert state.gpu_free_milli[0, 0] == 0


def test_mps_replica_gets_its_memory_share():
    state = ClusterState([gpu_node("n", 1, A100, sharing=ts(4, kind=SharingKind.MPS))])
    d = Scheduler(state).place(pod("p", whole(1)))
    assert isinstance(d, Placement) and d.gpu_memory_mib == (81920 // 4,)


# -- MIG ------------------------------------------------------------------------------------


def test_mig_request_lands_on_a_free_valid_instance():
    layout = ["4g.40gb", "3g.40gb"]
    state = ClusterState([gpu_node("n", 2, A100, sharing=mig(layout))])
    sched = Scheduler(state)
    a = sched.place(pod("a", mig_req("3g.40gb")))
    b = sched.place(pod("b", mig_req("3g.40gb")))
    c = sched.schedule(pod("c", mig_req("3g.40gb")))
    assert isinstance(a, Placement) and isinstance(b, Placement)
    assert a.devices == ("gpu0/mig-3g.40gb@4",) and b.devices == ("gpu1/mig-3g.40gb@4",)
    assert isinstance(c, Unschedulable) and c.reasons == {"Insufficient nvidia.com/mig-3g.40gb": 1}
    missing = sched.schedule(pod("d", mig_req("1g.10gb")))
    assert isinstance(missing, Unschedulable)


def test_mig_packs_onto_the_gpu_with_fewest_free_instances():
    state = ClusterState([gpu_node("n", 2, A100, sharing=mig(["1g.10gb"] * 7))])
    sched = Scheduler(state)
    gpus = []
    for i in range(3):
        d = sched.place(pod(f"p{i}", mig_req("1g.10gb")))
        assert isinstance(d, Placement)
        gpus.append(d.gpus[0])
    assert gpus == [0, 0, 0]


def test_dynamic_mig_reshapes_only_idle_gpus_and_counts_it():
    state = ClusterState([gpu_node("n", 1, A100, sharing=mig(["1g.10gb"] * 7, dynamic=True))])
    sched = Scheduler(state)
    big = sched.place(pod("big", mig_req("4g.40gb")))
    assert isinstance(big, Placement)
    assert len(state.mig_reconfigurations) == 1
    assert big.reconfigure and big.notes
    layout = state.mig_layouts[0][0]
    assert ("4g.40gb", 0) in layout and valid_layout(lookup(A100), layout)
    # The GPU is in use now: no further reshaping; what is left of the layout still serves.
    left = [n for n, _ in layout if n != "4g.40gb"]
    assert len(left) == 3  # three of the old 1g.10gb instances still fit beside it
    assert isinstance(sched.place(pod("small", mig_req("1g.10gb"))), Placement)
    no = sched.schedule(pod("other", mig_req("3g.40gb")))
    assert isinstance(no, Unschedulable)
    state.check_invariants()


def test_static_mig_never_reshapes():
    state = ClusterState([gpu_node("n", 1, A100, sharing=mig(["1g.10gb"] * 7))])
    d = Scheduler(state).schedule(pod("big", mig_req("4g.40gb")))
    assert isinstance(d, Unschedulable) and not state.mig_reconfigurations


# -- fractions ------------------------------------------------------------------------------


def test_fractions_need_fractional_gpus():
    state = ClusterState([gpu_node("n", 8, A100)])
    d = Scheduler(state).schedule(pod("p", fraction(500)))
    assert isinstance(d, Unschedulable)
    assert d.reasons == {"node(s) had no GPUs shared by fraction": 1}


def test_binpack_and_spread():
    packed = ClusterState([gpu_node("n", 4, A100, sharing=FRACTIONAL)])
    spread = ClusterState([gpu_node("n", 4, A100, sharing=SPREAD)])
    got_packed = [Scheduler(packed).place(pod(f"p{i}", fraction(200))).gpus[0] for i in range(4)]
    got_spread = [Scheduler(spread).place(pod(f"p{i}", fraction(200))).gpus[0] for i in range(4)]
    assert got_packed == [0, 0, 0, 0]
    assert got_spread == [0, 1, 2, 3]


def test_memory_only_and_percent_fractions():
    state = ClusterState([gpu_node("n", 1, A100, sharing=FRACTIONAL)])
    sched = Scheduler(state)
    mem_only = GpuRequest(GpuKind.FRACTION, count=1, milli=0, memory_mib=40_000)
    pct = GpuRequest(GpuKind.FRACTION, count=1, milli=100, memory_percent=50)
    a = sched.place(pod("a", mem_only))
    b = sched.place(pod("b", pct))
    assert isinstance(a, Placement) and a.gpu_memory_mib == (40_000,) and a.gpu_milli == (0,)
    assert isinstance(b, Placement) and b.gpu_memory_mib == (40_960,)
    c = sched.schedule(pod("c", GpuRequest(GpuKind.FRACTION, count=1, milli=0, memory_mib=2000)))
    assert isinstance(c, Unschedulable) and c.reasons == {"Insufficient GPU memory": 1}


def test_a_fractional_gpu_takes_no_more_pods_than_its_split_devices():
    """The kubelet hands each pod on a fractional GPU one split device (HAMi's
    deviceSplitCount), so the third 100m fraction goes to the next GPU, and once every
    split device is held the node says so, though compute and memory are left."""
    split2 = NodeSharing(GpuSharing(SharingKind.FRACTIONAL, split_count=2))
    state = ClusterState([gpu_node("n", 2, A100, sharing=split2)])
    sched = Scheduler(state)
    gpus = [sched.place(pod(f"p{i}", fraction(100))).gpus[0] for i in range(4)]
    assert gpus == [0, 0, 1, 1]
    assert state.gpu_free_split.tolist() == [[0, 0]]
    d = sched.schedule(pod("p4", fraction(100)))
    assert isinstance(d, Unschedulable)
    assert d.reasons == {"node(s) had no GPU with a split device left (deviceSplitCount)": 1}
    state.release("default/p0")
    assert state.gpu_free_split.tolist() == [[1, 0]]
    assert sched.place(pod("p5", fraction(100))).gpus == (0,)
    state.check_invariants()


def test_a_fraction_past_the_split_count_is_refused_by_the_state():
    split1 = NodeSharing(GpuSharing(SharingKind.FRACTIONAL, split_count=1))
    state = ClusterState([gpu_node("n", 1, A100, sharing=split1)])
    state.reserve(Binding("default/a", 0, 0, 0, gpus=(0,), gpu_milli=(100,), gpu_memory_mib=(0,)))
    with pytest.raises(CapacityError, match="no split device left"):
        state.reserve(
            Binding("default/b", 0, 0, 0, gpus=(0,), gpu_milli=(100,), gpu_memory_mib=(0,))
        )
    state.check_invariants()


# -- properties over every mode ----------------------------------------------------------------

MODES = {
    "exclusive": NodeSharing(),
    "time-slicing": ts(4, renamed=True),
    "time-slicing-gpu": ts(3),
    "mps": ts(4, kind=SharingKind.MPS),
    "mig-mixed": mig(["3g.40gb", "2g.20gb", "1g.10gb", "1g.10gb"]),
    "mig-single": mig(["2g.20gb"] * 3, MigStrategy.SINGLE),
    "mig-dynamic": mig(["1g.10gb"] * 7, dynamic=True),
    "fractional": FRACTIONAL,
    "spread": SPREAD,
    "vgpu": NodeSharing(
        GpuSharing(SharingKind.VGPU, resource="nvidia.com/GRID_A100-20C", vgpu_memory_mib=20480)
    ),
    "mig-beside-whole": mig(["4g.40gb", "2g.20gb", "1g.10gb"], per_gpu={1: GpuSharing()}),
}


def requests_for(name):
    if name.startswith("mig") and name != "mig-beside-whole":
        profiles = st.sampled_from(["1g.10gb", "2g.20gb", "3g.40gb", "4g.40gb", "7g.80gb"])
        if name == "mig-single":
            return st.builds(whole, st.integers(1, 3))
        return st.builds(mig_req, profiles, st.integers(1, 2))
    if name in ("fractional", "spread"):
        return st.one_of(
            st.builds(fraction, st.integers(0, 1000), st.one_of(st.none(), st.integers(0, 90_000))),
            st.builds(whole, st.integers(1, 2)),
        )
    if name == "time-slicing":
        return st.builds(shared, st.integers(1, 6))
    if name == "vgpu":
        return st.builds(shared, st.integers(1, 3), st.just("nvidia.com/GRID_A100-20C"))
    if name == "mig-beside-whole":
        profiles = st.sampled_from(["1g.10gb", "2g.20gb", "4g.40gb"])
        return st.one_of(
            st.builds(mig_req, profiles, st.integers(1, 2)), st.builds(whole, st.just(1))
        )
    return st.builds(whole, st.integers(1, 4))


@st.composite
def scenario(draw):
    name = draw(st.sampled_from(sorted(MODES)))
    ops = draw(
        st.lists(st.tuples(st.booleans(), requests_for(name), st.integers(0, 99)), max_size=40)
    )
    return name, ops


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_every_mode_keeps_invariants_under_random_place_and_release(case):
    name, ops = case
    state = ClusterState([gpu_node(f"n{i}", 2, A100, sharing=MODES[name]) for i in range(2)])
    sched = Scheduler(state)
    model = lookup(A100)
    live: list[str] = []
    for i, (release, request, pick) in enumerate(ops):
        if release and live:
            key = live.pop(pick % len(live))
            before_layouts = [dict(x) for x in state.mig_layouts]
            state.release(key)
            assert [dict(x) for x in state.mig_layouts] == before_layouts
        else:
            d = sched.place(pod(f"p{i}", request))
            if isinstance(d, Placement):
                live.append(d.pod.key)
        state.check_invariants()
        assert (state.gpu_free_milli >= 0).all() and (state.gpu_free_mem >= 0).all()
        for layouts in state.mig_layouts:
            for layout in layouts.values():
                assert valid_layout(model, layout)
    for key in live:
        state.release(key)
    state.check_invariants()
    assert (state.gpu_free_milli[state.gpu_present] == 1000).all()
    assert (state.gpu_free_mem == state.gpu_mem_total).all()


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(MODES)), st.lists(st.integers(1, 5), max_size=6))
def test_advertised_capacity_equals_what_can_be_placed(name, warmup):
    """For each advertised resource, exactly its free count of 1-unit pods can be placed."""
    base = ClusterState([gpu_node("n", 2, A100, sharing=MODES[name], pods=1000)])
    sched = Scheduler(base)
    # Take some devices first, so that the check also runs on a partly used node.
    for k, count in enumerate(warmup):
        resource = base.ext_names[k % len(base.ext_names)]
        sched.place(pod(f"w{k}", one_unit(resource, count), cpu_milli=0, memory_mib=0))
    for resource in base.ext_names:
        state = copy.deepcopy(base)
        replay = Scheduler(state)
        free = int(state.ext_free[0, state.ext_col[resource]])
        placed = 0
        while placed <= free:
            unit = pod(f"x{placed}", one_unit(resource, 1), cpu_milli=0, memory_mib=0)
            if not isinstance(replay.place(unit), Placement):
                break
            placed += 1
        if name == "mig-dynamic":
            # Reshaping idle GPUs can offer more than the current layout advertises.
            assert placed >= free
        else:
            assert placed == free, (resource, placed, free)


def one_unit(resource, count):
    if resource == "nvidia.com/gpu":
        return whole(count)
    if resource.startswith("nvidia.com/mig-"):
        return mig_req(resource.removeprefix("nvidia.com/mig-"), count)
    return shared(count, resource)
