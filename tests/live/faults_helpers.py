"""A seeded workload and fault plan for the live scheduler, and the checks run on the outcome.

The workload: single pods and coscheduling gangs (scheduling.x-k8s.io PodGroups, minMember =
members), whole GPUs on H100 nodes and fractions on fractional L4 nodes, on a cluster sized for
most of it but not all. The checks read only the fake API server's truth (its objects, its
audit log, its watch history), never the scheduler's own view.
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx2
from fakeapi import FakeApiServer, Fault
from fakeapi.store import Change
from scheduler_helpers import COSCHEDULING_GROUPS, PODS, gpu_pod, h100, l4_fractional, pod_group

from gpuplane.cluster import ClusterState
from gpuplane.cluster.binding import CapacityError, binding_for
from gpuplane.live.cache import PodRecord, pod_record
from gpuplane.live.gangs import COSCHEDULING_LABEL, place_gang
from gpuplane.live.leader import ElectionTimings, LeaderElector
from gpuplane.live.scheduler import LiveScheduler
from gpuplane.objects import read_api_objects
from gpuplane.objects.assignment import DEVICES_ANNOTATION
from gpuplane.placement import Placement, Scheduler

COSCHEDULING_API = "scheduling.x-k8s.io/v1alpha1"
# Shrunken: two replicas and the test share one event loop on a loaded machine, whose stalls
# (up to ~0.3 s measured) sometimes outlast the renew deadline: the lease then changes hands
# while both replicas live (Replica.campaign runs again), which the fencing checks welcome.
TIMINGS = ElectionTimings(lease_duration_s=0.6, renew_deadline_s=0.4, retry_period_s=0.1)
Obj = dict[str, Any]


@dataclass
class Workload:
    """Nodes, PodGroups and pods (in creation order); `gangs` maps a group to its pod names."""

    nodes: list[Obj]
    groups: list[Obj]
    pods: list[Obj]
    gangs: dict[str, list[str]]


def workload(seed: int, singles: int = 690, gangs: int = 110) -> Workload:
    """About 1,000 pods; room for roughly 85 % of the whole-GPU and fractional demand."""
    rng = random.Random(seed)
    pods: list[Obj] = []
    whole = frac_mib = 0
    for i in range(singles):
        if rng.random() < 0.3:
            mib = rng.choice((2048, 4096, 6144, 8192))
            limits = {"nvidia.com/gpu": "1", "nvidia.com/gpumem": str(mib)}
            frac_mib += mib
        else:
            gpus = rng.choices((1, 2, 4), weights=(6, 3, 1))[0]
            limits = {"nvidia.com/gpu": str(gpus)}
            whole += gpus
        pods.append(gpu_pod(f"single-{i:04d}", limits))
    groups: list[Obj] = []
    members: dict[str, list[str]] = {}
    for g in range(gangs):
        name = f"gang-{g:03d}"
        size = rng.randint(2, 4)
        fractional = rng.random() < 0.2
        groups.append(pod_group(COSCHEDULING_API, name, size))
        members[name] = []
        for m in range(size):
            if fractional:
                limits = {"nvidia.com/gpu": "1", "nvidia.com/gpumem": "4096"}
                frac_mib += 4096
            else:
                gpus = rng.choice((1, 2))
                limits = {"nvidia.com/gpu": str(gpus)}
                whole += gpus
            pod_name = f"{name}-{m}"
            members[name].append(pod_name)
            pods.append(gpu_pod(pod_name, limits, labels={COSCHEDULING_LABEL: name}))
    # Arrival order is shuffled: a gang's members come scattered, some of it after the rest.
    rng.shuffle(pods)
    h100s = max(1, int(whole * 0.85) // 8)
    l4s = max(1, int(frac_mib * 0.85) // (2 * 23034))
    nodes = [h100(f"h100-{i:03d}") for i in range(h100s)]
    nodes += [l4_fractional(f"l4-{i:03d}") for i in range(l4s)]
    return Workload(nodes, groups, pods, members)


def fault_plan(seed: int, pods: int) -> list[Fault]:
    """Every fault the fake offers, each at a seeded point of the run (the restart aside: the
    test calls FakeApiServer.restart itself). Skips are counted per rule over matching requests."""
    rng = random.Random(seed)

    def at(lo: float, hi: float) -> int:
        return rng.randint(int(lo * pods), int(hi * pods))

    plan = [
        # Rules are consulted in order: a pod watch cut mid-stream, the re-watch answered 410
        # Gone, the watch after the relist 429, and that relist's list 500.
        Fault("watch", "close", plural="pods", after_events=rng.randint(50, 150)),
        Fault("watch", "gone", plural="pods"),
        Fault("watch", "close", plural="nodes", after_events=0),
        Fault("watch", "gone", plural="podgroups"),
        Fault("watch", "status", plural="pods", code=429, retry_after=1),
        Fault("list", "status", plural="pods", code=500, retry_after=1, skip=1),
    ]
    for code in (409, 429, 500):
        for _ in range(3):
            retry = None if code == 409 else 1
            plan.append(
                Fault("bind", "status", plural="pods", code=code, retry_after=retry,
                      skip=at(0.05, 0.6))
            )
    plan += [
        Fault("patch", "status", plural="pods", code=429, retry_after=1, skip=at(0.1, 0.5)),
        Fault("patch", "status", plural="pods", code=500, retry_after=1, skip=at(0.1, 0.5)),
        Fault("create", "status", plural="events", code=500, retry_after=1, skip=at(0.1, 0.5)),
        Fault("bind", "delay", plural="pods", delay=0.1, skip=at(0.1, 0.5), times=5),
        Fault("patch", "delay", plural="pods", delay=0.1, skip=at(0.1, 0.5), times=5),
        Fault("list", "delay", plural="nodes", delay=0.2),
    ]
    return plan


async def create_all(
    http: httpx2.AsyncClient, objs: list[Obj], path: str | Callable[[Obj], str]
) -> None:
    for obj in objs:
        where = path if isinstance(path, str) else path(obj)
        reply = await http.post(where, json=obj)
        assert reply.status_code == 201, reply.text


async def create_cluster(http: httpx2.AsyncClient, load: Workload) -> None:
    await create_all(http, load.nodes, "/api/v1/nodes")
    await create_all(http, load.groups, COSCHEDULING_GROUPS)


async def create_pods(http: httpx2.AsyncClient, pods: list[Obj]) -> None:
    await create_all(http, pods, PODS)


@dataclass
class History:
    """The fake's pod history, kept across compactions (take it before compacting)."""

    changes: list[Change] = field(default_factory=list)
    seen: int = 0

    def absorb(self, fake: FakeApiServer) -> None:
        with fake.store.cond:
            self.changes += fake.store.history[self.seen :]
            self.seen = len(fake.store.history)

    def restart(self, fake: FakeApiServer, compact: bool) -> None:
        with fake.store.cond:  # re-entrant: nothing is committed between reading and compacting
            self.absorb(fake)
            fake.restart(compact)
            if compact:
                self.seen = 0


def rebinds(history: History) -> list[str]:
    """Pods whose nodeName or device annotation changed once set."""
    problems = []
    for change in history.changes:
        if change.resource != "/v1/pods" or change.old is None or change.new is None:
            continue
        before, after = change.old["spec"].get("nodeName"), change.new["spec"].get("nodeName")
        name = change.new["metadata"]["name"]
        if before and before != after:
            problems.append(f"{name}: nodeName {before} -> {after}")
        if before:
            old = (change.old["metadata"].get("annotations") or {}).get(DEVICES_ANNOTATION)
            new = (change.new["metadata"].get("annotations") or {}).get(DEVICES_ANNOTATION)
            if old != new:
                problems.append(f"{name}: devices changed on a bound pod: {old} -> {new}")
    return problems


def successful_binds(fake: FakeApiServer) -> Counter[str]:
    return Counter(
        e.name
        for e in list(fake.audit)
        if e.resource == "pods" and e.subresource == "binding" and e.code in (200, 201)
    )


def binds_by_agent(fake: FakeApiServer) -> Counter[str]:
    return Counter(
        e.user_agent
        for e in list(fake.audit)
        if e.resource == "pods" and e.subresource == "binding"
    )


@dataclass
class Outcome:
    """The final truth as the fake holds it, rebuilt into a ClusterState."""

    state: ClusterState
    records: dict[str, PodRecord]
    bound: set[str]
    overbooked: list[str]


def outcome(fake: FakeApiServer) -> Outcome:
    """Rebuild the GPUs' use from the Nodes and every bound pod's device annotation."""
    nodes = [obj for _, obj in sorted(fake.objects("nodes").items())]
    state = ClusterState(read_api_objects(nodes).nodes)
    records = {name: pod_record(obj) for (_, name), obj in fake.objects("pods").items()}
    overbooked = []
    bound = set()
    for name, r in sorted(records.items()):
        if not r.node_name:
            continue
        bound.add(name)
        a = r.assignment
        if r.pod is None or a is None or a.node != r.node_name:
            overbooked.append(f"{name}: bound to {r.node_name} without a matching assignment")
            continue
        shares = zip(a.gpus, a.gpu_milli, a.gpu_memory_mib, strict=True)
        try:
            node = state.index[r.node_name]
            state.reserve(binding_for(r.pod, node, shares, devices=a.devices))
        except (CapacityError, KeyError, IndexError) as err:
            overbooked.append(f"{name}: {err}")
    state.check_invariants()
    return Outcome(state, records, bound, overbooked)


def partial_gangs(load: Workload, bound: set[str]) -> list[str]:
    problems = []
    for gang, members in sorted(load.gangs.items()):
        n = sum(m in bound for m in members)
        if 0 < n < len(members):
            problems.append(f"{gang}: {n} of {len(members)} bound")
    return problems


def placeable_left(load: Workload, final: Outcome) -> list[str]:
    """Unbound pods (or whole gangs) that the brain would place on the final state."""
    scheduler = Scheduler(final.state, "most-allocated")
    problems = []
    in_gang = {m for members in load.gangs.values() for m in members}
    for name, r in sorted(final.records.items()):
        if name in final.bound or name in in_gang or r.pod is None:
            continue
        decision = scheduler.schedule(replace(r.pod, namespace="default"))
        if isinstance(decision, Placement):
            problems.append(f"{name} fits on {decision.node}")
    for gang, members in sorted(load.gangs.items()):
        if any(m in final.bound for m in members):
            continue
        with final.state.trial():  # undone on exit: the next gang sees the same state
            placed = place_gang(scheduler, [final.records[m] for m in members])
        if isinstance(placed, list):
            problems.append(f"{gang} fits whole")
    return problems


class BindFence:
    """A request hook: every binding POST a replica sends, with whether it led at that moment."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str, bool]] = []  # (replica, pod path, leading)

    def hook(
        self, replica: str, leading: Callable[[], bool]
    ) -> Callable[[httpx2.Request], Any]:
        async def check(request: httpx2.Request) -> None:
            if request.method == "POST" and request.url.path.endswith("/binding"):
                self.sent.append((replica, request.url.path, leading()))

        return check

    def unfenced(self) -> list[tuple[str, str, bool]]:
        return [s for s in self.sent if not s[2]]


async def wait_for(
    check: Callable[[], bool],
    timeout: float,
    period: float = 0.1,
    why: Callable[[], str] = lambda: "",
    *,
    heavy: bool = False,
) -> None:
    """Poll `check`; a `heavy` one runs in a thread, or it would hold the electors' loop."""

    async def holds() -> bool:
        return await asyncio.to_thread(check) if heavy else check()

    deadline = asyncio.get_running_loop().time() + timeout
    while not await holds():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not reached in {timeout} s {why()}")
        await asyncio.sleep(period)


def stuck(fake: FakeApiServer, load: Workload) -> str:
    """What keeps the run from settling, for a failure message."""
    final = outcome(fake)
    return (
        f"{len(final.bound)}/{len(load.pods)} bound; partial gangs "
        f"{partial_gangs(load, final.bound)[:10]}; placeable {placeable_left(load, final)[:10]}"
    )


def settled(fake: FakeApiServer, load: Workload) -> Callable[[], bool]:
    """True once the set of bound pods has not changed for a few polls and nothing placeable is
    left unbound (the heavy check runs only once the count is stable)."""
    last: list[int] = [-1, 0]

    def check() -> bool:
        bound = len(successful_binds(fake))
        if bound != last[0]:
            last[0], last[1] = bound, 0
            return False
        last[1] += 1
        if last[1] < 5:
            return False
        final = outcome(fake)
        return not placeable_left(load, final) and not partial_gangs(load, final.bound)

    return check


@dataclass
class Replica:
    """One scheduler process: its client (with its own User-Agent), maybe an elector, its tasks."""

    name: str
    http: httpx2.AsyncClient
    live: LiveScheduler
    elector: LeaderElector | None
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    terms: int = 0  # leaderships (or campaigns) that ended before the replica was killed

    @property
    def user_agent(self) -> str:
        return user_agent(self.name)

    def start(self) -> None:
        self.tasks.append(asyncio.create_task(self.live.run()))

    def campaign(self) -> None:
        """Run for the lease, and again after losing it (the CLI would exit and be restarted)."""
        elector = self.elector
        assert elector is not None

        async def forever() -> None:
            while True:
                await elector.run()
                self.terms += 1

        self.tasks.append(asyncio.create_task(forever()))

    async def kill(self) -> None:
        """Stop every task without a word to the API (the lease is not released)."""
        if self.http.is_closed:
            return
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await self.http.aclose()

    def failures(self) -> list[BaseException]:
        return [
            t.exception()  # type: ignore[misc]
            for t in self.tasks
            if t.done() and not t.cancelled() and t.exception() is not None
        ]


def user_agent(name: str) -> str:
    return f"gpuplane-scheduler/e2e-{name}"


def replica(
    fake: FakeApiServer, name: str, fence: BindFence | None = None, *, elect: bool = False
) -> Replica:
    """A LiveScheduler with short backoffs; with `elect`, gated by its own LeaderElector."""
    hooks: dict[str, list[Callable[..., Any]]] = {}
    http = httpx2.AsyncClient(
        base_url=fake.url,
        timeout=5.0,
        headers={"User-Agent": user_agent(name)},
        event_hooks=hooks,
    )
    elector = None
    if elect:
        loop = asyncio.get_running_loop()
        elector = LeaderElector(
            http=http,
            namespace="default",
            name="gpuplane-scheduler",
            identity=name,
            timings=TIMINGS,
            release_on_cancel=False,
            clock=loop.time,
            rng=random.Random(name),
        )
    live = LiveScheduler(
        http,
        initial_backoff_s=0.02,
        max_backoff_s=0.2,
        idle_wait_s=0.05,
        rng=random.Random(f"reflectors-{name}"),
        is_leader=None if elector is None else elector.is_leader,
    )
    if fence is not None:
        leading = (lambda: True) if elector is None else elector.is_leader
        hooks["request"] = [fence.hook(name, leading)]
        http.event_hooks = hooks
    return Replica(name, http, live, elector)


class LoopLag:
    """Measures how long the event loop is held at worst (a short sleep's overshoot): what the
    lease timings must leave room for, since the electors run on the same loop."""

    def __init__(self, period: float = 0.02) -> None:
        self.period = period
        self.worst = 0.0
        self._task: asyncio.Task[None] | None = None

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.period)
            self.worst = max(self.worst, loop.time() - before - self.period)

    async def __aenter__(self) -> LoopLag:
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
