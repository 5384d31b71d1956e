"""The upper bounds on what gpuplane reads: every number a user gives has one.

Each bound is far above any real cluster, so that no real input is refused, and far below what
would break gpuplane: the brain keeps amounts in int64 arrays (a typo such as `cpu: 1e30` was
an OverflowError), and counts become objects in memory (`parallelism: 1e9` grew past 13 GB).
A value past its bound is an InputError naming the field and the bound. The table is
docs/limits.md; a test checks that it lists every bound here.
"""

from __future__ import annotations

#: CPU of one node or one pod, in millicores: a million cores.
MAX_CPU_MILLICORES = 10**9
#: Memory, ephemeral storage and other byte amounts of one node or pod: 1 PiB.
MAX_BYTES = 2**50
#: A count of an extended resource (GPUs, MIG slices, RDMA devices, hugepages aside): 2**40.
MAX_EXTENDED_COUNT = 2**40
#: GPU memory asked of or offered by one GPU, in MiB: 1 TiB (the largest GPU has 288 GB).
MAX_GPU_MEMORY_MIB = 2**20
#: Pods of one workload (a Job's parallelism and completions, a gang): Kubernetes refuses
#: Indexed Jobs with more completions than this.
MAX_PODS_PER_WORKLOAD = 100_000
#: Physical GPUs of one node (a Node manifest, an openb node row): the largest have 16, and
#: labels, sharing and the cluster's arrays are built GPU by GPU (2**31 hung the reader).
MAX_GPUS_PER_NODE = 64
#: Whole GPUs one pod asks for in a scenario's kinds (the largest nodes have 16).
MAX_GPUS_PER_POD = 64
#: Workloads of one scenario arrival entry: each is simulated; 1,000,000 took over 12 GB.
MAX_ARRIVALS = 100_000
#: Time-slicing or MPS replicas of one GPU (a device-plugin config's `replicas`, a cluster
#: spec's): each is a kubelet device; 1e7 edited into a running agent froze it for a minute.
MAX_REPLICAS = 1024
#: Seeds of one run (`--seeds`): each is a full simulation.
MAX_SEEDS = 10_000
#: A seed: numpy takes any non-negative integer; 64 bits are plenty.
MAX_SEED = 2**64 - 1
#: openb's workload tune (the trace scaled to this many times the cluster's capacity).
MAX_TUNE = 100.0
