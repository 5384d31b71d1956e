"""What must hold after every event of a simulation: quota, whole gangs, no double booking.

* Quota: no ClusterQueue uses more than its nominal quota plus its borrowingLimit (or its
  nominal quota without a cohort), and no cohort tree as a whole uses more than the quota
  of all its members; the usage QuotaTree keeps equals the sum of what is admitted.
* Gangs: every admitted workload has all of its pods bound, each where the engine says, or
  (only when admission looks at quota alone) none; no pod is bound that no admitted
  workload owns.
* Capacity: ClusterState's own invariants (nothing double-booked, free amounts in bounds).
* The simulator's view agrees with the engine's: a workload runs exactly when it is admitted
  with its pods placed.
"""

from __future__ import annotations

from gpuplane.queueing import Queueing
from gpuplane.queueing.quota import FlavorResource, QuotaNode
from gpuplane.sim.core.metrics import root_of
from gpuplane.sim.core.simulator import Simulator


def check_all(sim: Simulator) -> None:
    """Raise AssertionError naming the first broken invariant."""
    check_quota(sim.queueing)
    check_gangs(sim.queueing)
    sim.state.check_invariants()
    check_runs(sim)


def check_quota(q: Queueing) -> None:
    tree = q.tree
    usage: dict[str, dict[FlavorResource, int]] = {name: {} for name in tree.nodes}
    for active in q.active.values():
        for fr, amount in active.amounts.items():
            usage[active.queue][fr] = usage[active.queue].get(fr, 0) + amount
    roots: dict[str, tuple[QuotaNode, dict[FlavorResource, int]]] = {}
    for name, node in tree.nodes.items():
        used = {fr: a for fr, a in node.usage.items() if a}
        assert used == usage[name], f"{name}: QuotaTree usage {used} != admitted {usage[name]}"
        for fr, amount in used.items():
            limit = node.borrowing_limit.get(fr)
            nominal = node.nominal.get(fr, 0)
            if node.parent is None:
                assert amount <= nominal, f"{name} uses {amount} of {fr}, nominal {nominal}"
            elif limit is not None:
                cap = nominal + limit
                assert amount <= cap, f"{name} uses {amount} of {fr} > nominal+borrowing {cap}"
        root = root_of(node)
        total = roots.setdefault(root.name, (root, {}))[1]
        for fr, amount in used.items():
            total[fr] = total.get(fr, 0) + amount
    for root, total in roots.values():
        quota = _quota_of_tree(root)
        for fr, amount in total.items():
            assert amount <= quota.get(fr, 0), (
                f"cohort tree {root.name} uses {amount} of {fr}, its quota is {quota.get(fr, 0)}"
            )
        if root.parent is None and not root.is_queue:
            for fr, amount in root.usage.items():
                assert amount <= root.subtree.get(fr, 0), f"cohort {root.name} overdrawn on {fr}"


def _quota_of_tree(node: QuotaNode) -> dict[FlavorResource, int]:
    total = dict(node.nominal)
    for child in node.children:
        for fr, amount in _quota_of_tree(child).items():
            total[fr] = total.get(fr, 0) + amount
    return total


def check_gangs(q: Queueing) -> None:
    owned: set[str] = set()
    for key, active in q.active.items():
        n, want = len(active.placements), active.workload.pod_count
        if n == 0:
            assert not q.config.placement_aware, f"{key} is admitted with no pod placed"
            continue
        assert n == want, f"gang {key} runs {n} of its {want} pods"
        for p in active.placements:
            binding = q.state.bindings.get(p.pod.key)
            assert binding is not None, f"pod {p.pod.key} of {key} is not bound"
            assert binding.node == p.node_index, f"pod {p.pod.key} is bound elsewhere"
            owned.add(p.pod.key)
    stray = set(q.state.bindings) - owned
    assert not stray, f"pods bound that no admitted workload owns: {sorted(stray)[:5]}"


def check_runs(sim: Simulator) -> None:
    for key, rec in sim.records.items():
        active = sim.queueing.active.get(key)
        placed = active is not None and bool(active.placements)
        assert rec.running == placed, f"{key}: running={rec.running} but placed={placed}"
        if rec.finished is not None:
            assert active is None, f"{key} finished but is still admitted"
