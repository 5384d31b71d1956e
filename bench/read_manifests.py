"""Reading large manifest input: 50 MB of Pod manifests, as `gpuplane place` reads them.

    PYTHONPATH=src .venv/bin/python bench/read_manifests.py [--mb 50] [--repeat 3]

Writes GPU training pods (one container, requests and limits, tolerations, labels; about 400
bytes each) into files of 10,000 documents in a temporary folder, then times
`read_manifests` over the folder: YAML parsing (libyaml) with line tracking, and every pod
read into the brain's objects. Prints the median seconds and MB/s over the repeats.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from gpuplane.objects import read_manifests

POD = """\
apiVersion: v1
kind: Pod
metadata:
  name: train-{i}
  namespace: team-{team}
  labels: {{app: trainer, team: t{team}}}
spec:
  schedulerName: gpuplane
  tolerations: [{{key: nvidia.com/gpu, operator: Exists}}]
  containers:
    - name: main
      image: nvcr.io/nvidia/pytorch:24.01-py3
      resources:
        requests: {{cpu: "8", memory: 64Gi}}
        limits: {{nvidia.com/gpu: 1, cpu: "8", memory: 64Gi}}
"""


def write(folder: Path, megabytes: float) -> tuple[int, int]:
    """(pods, bytes) written into `folder` until `megabytes` are reached."""
    pods = size = 0
    while size < megabytes * 1e6:
        text = "---\n".join(POD.format(i=i, team=i % 20) for i in range(pods, pods + 10_000))
        (folder / f"pods-{pods // 10_000:03d}.yaml").write_text(text)
        pods, size = pods + 10_000, size + len(text)
    return pods, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=float, default=50.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        pods, size = write(folder, args.mb)
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            read = read_manifests([folder])
            times.append(time.perf_counter() - start)
            assert len(read.pods) == pods
        median = statistics.median(times)
        runs = ", ".join(f"{t:.1f}" for t in times)
        print(f"{pods:,} pods, {size / 1e6:.1f} MB: median {median:.1f} s ({runs}), "
              f"{size / 1e6 / median:.1f} MB/s")


if __name__ == "__main__":
    main()
