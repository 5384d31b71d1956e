"""Print what gpuplane's node agent finds on this machine's NVIDIA GPUs, reading only.

    python scripts/nvml_probe.py [--config device-plugin-config.yaml] [--seconds 5]

Prints the discovered inventory (GPUs, MIG devices, PCI and NUMA placement, driver and CUDA
versions), the devices each resource would advertise, the GFD labels, and a live health read:
NVML health events for a few seconds and a probe of every device. It reads only: it never
changes MIG mode, clocks or application settings and never resets a GPU (the NVML backend
calls no NVML setter). Without a GPU it says so in one line and exits 2.
"""

from __future__ import annotations

import argparse
import sys
import time

from gpuplane.errors import InputError
from gpuplane.node.config import load_config
from gpuplane.node.devices import plan_node
from gpuplane.node.health import XidPolicy
from gpuplane.node.labels import node_labels
from gpuplane.node.nvml import NvmlBackend


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="a device plugin config file (sharing, migStrategy)")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long to watch events")
    args = parser.parse_args()
    try:
        backend = NvmlBackend()
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        inventory = backend.inventory()
        cuda = ".".join(map(str, inventory.cuda_driver_version))
        print(f"driver {inventory.driver_version}, CUDA {cuda}")
        for gpu in inventory.gpus:
            mig = "MIG on" if gpu.mig_enabled else ("MIG off" if gpu.mig_capable else "no MIG")
            print(
                f"GPU {gpu.index}: {gpu.name} {gpu.uuid} {gpu.memory_mib} MiB "
                f"cc {gpu.compute_capability[0]}.{gpu.compute_capability[1]} "
                f"pci {gpu.pci_bus_id} numa {gpu.numa_node} /dev/nvidia{gpu.minor} {mig}"
            )
            for m in gpu.mig_devices:
                print(
                    f"  MIG {m.profile} @ slice {m.start}: {m.uuid} gi {m.gpu_instance} "
                    f"ci {m.compute_instance} {m.memory_mib} MB "
                    f"caps {m.gi_cap_minor}/{m.ci_cap_minor}"
                )
        for warning in inventory.warnings:
            print(f"warning: {warning}")
        try:
            plan = plan_node(inventory, load_config(args.config) if args.config else None)
        except InputError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print("\nadvertised:")
        for resource, devices in plan.resources().items():
            print(f"  {resource}: {len(devices)}  e.g. {devices[0].id}")
        print("\nlabels:")
        for name, value in node_labels(plan).items():
            print(f"  {name}={value}")
        print(f"\nhealth events for {args.seconds:g}s:")
        policy = XidPolicy()
        deadline = time.monotonic() + args.seconds
        seen = 0
        while time.monotonic() < deadline:
            for event in backend.wait_events(min(0.5, max(0.0, deadline - time.monotonic()))):
                seen += 1
                fatal = event.code is None or policy.is_fatal(event.code)
                print(f"  {event.describe()}{'' if fatal else ' (ignored: application error)'}")
        if not seen:
            print("  none")
        print("\nprobe:")
        for uuid in inventory.by_uuid():
            print(f"  {uuid}: {'ok' if backend.probe(uuid) else 'NOT OK'}")
    finally:
        backend.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
