"""deploy/ as `kubectl apply -k deploy/` would apply it, without kubectl: the kustomization's
resources, its namespace, configMapGenerator and images, expanded the way kustomize does for
the features deploy/ uses (anything else is refused, so a new feature needs support here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
KUSTOMIZATION = DEPLOY / "kustomization.yaml"
_SUPPORTED = {"apiVersion", "kind", "namespace", "resources", "configMapGenerator", "images"}
# Kinds without a namespace (kustomize leaves them alone when it sets one).
CLUSTER_KINDS = {"Namespace", "ClusterRole", "ClusterRoleBinding"}

Obj = dict[str, Any]


def kustomization() -> Obj:
    data: Obj = yaml.safe_load(KUSTOMIZATION.read_text())
    unknown = set(data) - _SUPPORTED
    if unknown:
        raise ValueError(f"{KUSTOMIZATION}: fields this expander does not model: {unknown}")
    return data


def applied_files() -> set[Path]:
    """Every file under deploy/ that `kubectl apply -k` reads (the kustomization included)."""
    data = kustomization()
    files = {KUSTOMIZATION} | {DEPLOY / name for name in data.get("resources", [])}
    for generator in data.get("configMapGenerator", []):
        files |= {DEPLOY / (spec.partition("=")[2] or spec) for spec in generator.get("files", [])}
    return files


def manifests() -> list[Obj]:
    """The objects `kubectl apply -k deploy/` sends, in the kustomization's order."""
    data = kustomization()
    namespace = data.get("namespace")
    objects: list[Obj] = []
    for name in data.get("resources", []):
        path = DEPLOY / name
        if not path.is_file():
            raise ValueError(f"{KUSTOMIZATION}: resource {name} is not a file of deploy/")
        objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    for generator in data.get("configMapGenerator", []):
        objects.append(_generated_config_map(generator))
    for obj in objects:
        if namespace and obj["kind"] not in CLUSTER_KINDS:
            obj["metadata"]["namespace"] = namespace
        _set_images(obj, data.get("images", []))
    return objects


#: Files of deploy/ applied on their own (`kubectl apply -f`), not by the kustomization.
SEPARATE = ("rbac-snapshot.yaml",)


def separate_manifests() -> list[Obj]:
    """The objects of the files applied on their own, in gpuplane-system as the kustomization's."""
    namespace = kustomization().get("namespace")
    objects: list[Obj] = []
    for name in SEPARATE:
        objects += [doc for doc in yaml.safe_load_all((DEPLOY / name).read_text()) if doc]
    for obj in objects:
        if obj["kind"] not in CLUSTER_KINDS:
            assert obj["metadata"].get("namespace") == namespace, obj["metadata"]
    return objects


def every_manifest() -> list[Obj]:
    """What a user applies in all: the kustomization, then the files applied on their own."""
    return manifests() + separate_manifests()


def _generated_config_map(generator: Obj) -> Obj:
    options = generator.get("options") or {}
    if not options.get("disableNameSuffixHash"):
        raise ValueError("a generated ConfigMap with a name hash is not modelled")
    data: dict[str, str] = {}
    for spec in generator.get("files", []):
        key, _, file = spec.partition("=")
        path = DEPLOY / (file or key)
        data[key if file else path.name] = path.read_text()
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": generator["name"], "labels": dict(options.get("labels") or {})},
        "data": data,
    }


def _set_images(obj: Obj, images: list[Obj]) -> None:
    spec = (obj.get("spec") or {}).get("template", {}).get("spec")
    if not spec:
        return
    for container in spec.get("containers", []) + spec.get("initContainers", []):
        name, _, _tag = container["image"].partition(":")
        for image in images:
            if image["name"] == name:
                container["image"] = f"{image.get('newName', name)}:{image['newTag']}"


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{len(matches)} {kind} named {name} in deploy/"
    return matches[0]
