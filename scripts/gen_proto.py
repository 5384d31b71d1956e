"""Regenerate the Python modules of the kubelet APIs gpuplane speaks from their .proto files.

The Device Plugin API (node/proto/api.proto) and the pod-resources API
(telemetry/proto/podresources.proto).

Run from the repository root (`make proto`); needs the dev extras (grpcio-tools,
mypy-protobuf). The generated files are committed, so that installing gpuplane needs no
protoc. Paths are given relative to src/ so that the generated modules import each other as
gpuplane.node.proto.api_pb2, not as a top-level api_pb2.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
PROTOS = ("gpuplane/node/proto/api.proto", "gpuplane/telemetry/proto/podresources.proto")


def main() -> int:
    src = ROOT / "src"
    args = [
        "protoc",
        f"-I{src}",
        f"--python_out={src}",
        f"--grpc_python_out={src}",
        f"--mypy_out={src}",
        f"--mypy_grpc_out={src}",
        *(str(src / proto) for proto in PROTOS),
    ]
    status = protoc.main(args)
    if status != 0:
        print(f"protoc failed with status {status}", file=sys.stderr)
    return int(status)


if __name__ == "__main__":
    sys.exit(main())
