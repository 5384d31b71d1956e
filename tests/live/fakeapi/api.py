"""The apiserver's verbs on the store: routing of a URL to a kind, and each verb's semantics."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .patch import PatchError, UnsupportedPatchError, apply_patch
from .resources import BUILTIN, ResourceType, SchemaError, validate
from .selectors import Matcher, SelectorError, matcher
from .store import ApiError, Obj, Store, conflict, json_copy


@dataclass(frozen=True)
class Route:
    resource: ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None


def status_body(code: int, reason: str, message: str) -> Obj:
    ok = code < 400
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if ok else "Failure",
        "message": message,
        "reason": "" if ok else reason,
        "code": code,
    }


class Api:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.kinds: dict[tuple[str, str, str], ResourceType] = {}
        # The rest of each paged list, by continue token: a consistent snapshot, as etcd serves.
        self.continuations: dict[str, tuple[list[Obj], int]] = {}
        self.pages = 0
        for resource in BUILTIN:
            self.register(resource)
        for namespace in ("default", "kube-system", "kube-node-lease"):
            ns_kind = self.kinds[("", "v1", "namespaces")]
            self.store.create(
                ns_kind,
                None,
                {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            )

    def register(self, resource: ResourceType) -> None:
        self.kinds[(resource.group, resource.version, resource.plural)] = resource

    def route(self, path: str) -> Route:
        parts = [p for p in path.split("?")[0].split("/") if p]
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource: {path}"
            )
        namespace = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            nested = self.kinds.get((group, version, rest[2]))
            if nested is not None and nested.namespaced:
                namespace, rest = rest[1], rest[2:]
        if not rest or len(rest) > 3:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource: {path}"
            )
        resource = self.kinds.get((group, version, rest[0]))
        if resource is None:
            raise ApiError(
                404, "NotFound", f"the server could not find the requested resource: {path}"
            )
        subresource = rest[2] if len(rest) == 3 else None
        if subresource is not None and subresource not in resource.subresources:
            raise ApiError(404, "NotFound", f"{resource.plural} has no subresource {subresource}")
        if resource.namespaced and namespace is None and len(rest) > 1:
            raise ApiError(404, "NotFound", "a namespaced object needs a namespace in its path")
        return Route(resource, namespace, rest[1] if len(rest) > 1 else None, subresource)

    def matcher(self, route: Route, query: dict[str, str]) -> Matcher:
        try:
            return matcher(
                query.get("labelSelector"), query.get("fieldSelector"), route.resource.plural
            )
        except SelectorError as err:
            raise ApiError(400, "BadRequest", str(err)) from err

    def check(self, resource: ResourceType, obj: Obj) -> None:
        try:
            validate(resource, obj)
        except SchemaError as err:
            raise ApiError(422, "Invalid", f"{resource.kind} is invalid: {err}") from err
        if (
            resource.plural == "pods"
            and resource.builtin
            and not (obj.get("spec") or {}).get("containers")
        ):
            raise ApiError(422, "Invalid", "Pod is invalid: spec.containers: Required value")

    # --- verbs ---------------------------------------------------------------------------------

    def list(self, route: Route, query: dict[str, str]) -> Obj:
        """One page of a list; `limit` pages it, `continue` serves the rest of the same snapshot."""
        token = query.get("continue")
        if token:
            with self.store.cond:
                pending = self.continuations.pop(token, None)
                if pending is not None and int(token.split("-")[0]) < self.store.compacted_rv:
                    pending = None  # the snapshot's version was compacted away, as in etcd
            if pending is None:
                message = "The provided continue parameter is too old to display a consistent list"
                raise ApiError(410, "Expired", message)
            items, rv = pending
        else:
            match = self.matcher(route, query)
            items, rv = self.store.select(route.resource, route.namespace, match)
        metadata: Obj = {"resourceVersion": str(rv)}
        limit = int(query.get("limit") or 0)
        if 0 < limit < len(items):
            with self.store.cond:  # handler threads page concurrently
                self.pages += 1
                next_token = f"{rv}-{self.pages}"
                self.continuations[next_token] = (items[limit:], rv)
            metadata |= {"continue": next_token, "remainingItemCount": len(items) - limit}
            items = items[:limit]
        return {
            "kind": f"{route.resource.kind}List",
            "apiVersion": route.resource.api_version,
            "metadata": metadata,
            "items": items,
        }

    def get(self, route: Route) -> Obj:
        assert route.name is not None
        return self.store.get(route.resource, route.namespace, route.name)

    def create(self, route: Route, body: Obj) -> Obj:
        meta = body.get("metadata") or {}
        if route.namespace and meta.get("namespace") not in (None, route.namespace):
            raise ApiError(
                400,
                "BadRequest",
                "the namespace of the object does not match the namespace on the URL",
            )
        self.check(route.resource, body)
        if route.resource.plural == "pods" and route.resource.builtin:
            body.setdefault("status", {}).setdefault("phase", "Pending")
        return self.store.create(route.resource, route.namespace, body)

    def _merge_subresource(self, route: Route, current: Obj, new: Obj) -> Obj:
        """What a write keeps: a status write changes only status; a main write never changes it."""
        if "status" not in route.resource.subresources:
            return new
        if route.subresource == "status":
            merged = json_copy(current)
            merged["status"] = new.get("status", {})
            sent_rv = (new.get("metadata") or {}).get("resourceVersion")
            merged["metadata"]["resourceVersion"] = (
                sent_rv or current["metadata"]["resourceVersion"]
            )
            return merged
        if "status" in current:
            new["status"] = current["status"]
        else:
            new.pop("status", None)
        if route.resource.plural == "pods" and (new.get("spec") or {}).get("nodeName") != (
            current.get("spec") or {}
        ).get("nodeName"):
            raise ApiError(
                422,
                "Invalid",
                "Pod is invalid: spec: Forbidden: pod updates may not change spec.nodeName"
                " (the binding subresource sets it)",
            )
        return new

    def update(self, route: Route, body: Obj) -> Obj:
        assert route.name is not None

        def change(current: Obj) -> Obj:
            return self._merge_subresource(route, current, json_copy(body))

        return self.store.update(
            route.resource,
            route.namespace,
            route.name,
            change,
            lambda new: self.check(route.resource, new),
        )

    def patch(self, route: Route, content_type: str, patch: Any) -> Obj:
        assert route.name is not None

        def change(current: Obj) -> Obj:
            try:
                patched = apply_patch(content_type, json_copy(current), patch)
            except PatchError as err:
                raise ApiError(422, "Invalid", str(err)) from err
            except UnsupportedPatchError as err:
                raise ApiError(415, "UnsupportedMediaType", str(err)) from err
            if not isinstance(patched, dict):
                raise ApiError(422, "Invalid", "a patch must leave an object")
            return self._merge_subresource(route, current, patched)

        return self.store.update(
            route.resource,
            route.namespace,
            route.name,
            change,
            lambda new: self.check(route.resource, new),
        )

    def delete(self, route: Route) -> Obj:
        assert route.name is not None
        return self.store.delete(route.resource, route.namespace, route.name)

    def bind(self, route: Route, body: Obj) -> Obj:
        """pods/binding: set spec.nodeName once, as kube-apiserver's assignPod does."""
        assert route.name is not None
        binding_kind = ResourceType("", "v1", "bindings", "Binding", True, builtin=True)
        self.check(binding_kind, body)
        target = (body.get("target") or {}).get("name")
        if not target:
            raise ApiError(422, "Invalid", "Binding is invalid: target.name: Required value")
        meta = body.get("metadata") or {}
        resource = route.resource

        def assign(pod: Obj) -> Obj:
            if meta.get("uid") and meta["uid"] != pod["metadata"].get("uid"):
                raise conflict(
                    resource,
                    route.name or "",
                    "Precondition failed: UID in precondition does not match UID in object",
                )
            bound = (pod.get("spec") or {}).get("nodeName")
            if bound:
                raise conflict(
                    resource,
                    route.name or "",
                    f'pod {route.name} is already assigned to node "{bound}"',
                )
            pod["spec"]["nodeName"] = target
            if meta.get("annotations"):
                pod["metadata"].setdefault("annotations", {}).update(meta["annotations"])
            conditions = [
                c
                for c in pod.setdefault("status", {}).get("conditions", [])
                if c.get("type") != "PodScheduled"
            ]
            now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            conditions.append({"type": "PodScheduled", "status": "True", "lastTransitionTime": now})
            pod["status"]["conditions"] = conditions
            pod["metadata"].pop("resourceVersion", None)
            return pod

        self.store.update(
            resource, route.namespace, route.name, assign, lambda new: self.check(resource, new)
        )
        return status_body(201, "", "")

    def evict(self, route: Route, body: Obj) -> Obj:
        """pods/eviction: deletes the pod (no PodDisruptionBudgets in the fake)."""
        assert route.name is not None
        eviction_kind = ResourceType("policy", "v1", "evictions", "Eviction", True, builtin=True)
        self.check(eviction_kind, body)
        self.store.delete(route.resource, route.namespace, route.name)
        return status_body(201, "", "")
