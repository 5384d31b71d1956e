"""Write the Kueue CRD schemas of tests/live/crds/ from a Kueue checkout (run by hand).

    python tests/live/crds/regenerate.py KUEUE_GIT_DIR [COMMIT]

Reads config/components/crd/bases/kueue.x-k8s.io_<plural>.yaml at COMMIT (default HEAD) with
`git show`, keeps of each served version its openAPIV3Schema and whether it has a status
subresource, and drops the human text (description) and the CEL rules
(x-kubernetes-validations, which the fake does not evaluate): what remains is the structure the
API server validates against. One JSON file per kind, with the source commit in it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

PLURALS = ("workloads", "admissionchecks", "clusterqueues", "localqueues", "resourceflavors")
DROPPED = ("description", "x-kubernetes-validations")
SOURCE = "config/components/crd/bases/kueue.x-k8s.io_{plural}.yaml"


def strip(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: strip(v) for k, v in node.items() if k not in DROPPED}
    if isinstance(node, list):
        return [strip(v) for v in node]
    return node


def main(repo: str, commit: str = "HEAD") -> None:
    sha = subprocess.run(
        ["git", "-C", repo, "rev-parse", commit], check=True, capture_output=True, text=True
    ).stdout.strip()
    for plural in PLURALS:
        path = SOURCE.format(plural=plural)
        text = subprocess.run(
            ["git", "-C", repo, "show", f"{sha}:{path}"], check=True, capture_output=True, text=True
        ).stdout
        crd = yaml.safe_load(text)
        spec = crd["spec"]
        out = {
            "source": {"repository": "kubernetes-sigs/kueue", "path": path, "commit": sha},
            "group": spec["group"],
            "kind": spec["names"]["kind"],
            "plural": spec["names"]["plural"],
            "namespaced": spec["scope"] == "Namespaced",
            "versions": {
                v["name"]: {
                    "status_subresource": "status" in (v.get("subresources") or {}),
                    "schema": strip(v["schema"]["openAPIV3Schema"]),
                }
                for v in spec["versions"]
                if v.get("served")
            },
        }
        target = Path(__file__).with_name(f"{plural}.json")
        target.write_text(json.dumps(out, sort_keys=True, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
