"""GPU models as data: the gpus.yaml table, validated on load and looked up by name or alias."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, TypeVar

import yaml

from gpuplane.catalog.resources import mig_resource
from gpuplane.errors import InputError, Location, UnknownGpuModelError

TABLE_FILE = "gpus.yaml"

#: GFD's nvidia.com/gpu.family values, plus "unknown" for the trace's undisclosed models.
FAMILIES = frozenset(
    {"pascal", "volta", "turing", "ampere", "ada-lovelace", "hopper", "blackwell", "unknown"}
)

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+-]*")
_PROFILE_NAME = re.compile(r"(\d+)g\.(\d+)gb(\+me)?")
_SEPARATORS = re.compile(r"[\s_]+")
# GFD appends these to nvidia.com/gpu.product: "-SHARED" when time-slicing or MPS renames
# the resource, "-MIG-<profile>" under the single MIG strategy. Neither changes the model.
_SHARED_SUFFIX = re.compile(r"-shared$")
_MIG_SUFFIX = re.compile(r"-mig-\d+g\.\d+gb([+.]me)?$")

_MODEL_FIELDS = (
    "product",
    "memory_mib",
    "family",
    "compute_capability",
    "aliases",
    "max_mps_clients",
    "timeslicing_supported",
    "mig_capable",
    "mig_memory_slices",
    "mig_compute_slices",
    "mig_profiles",
)
_MIG_FIELDS = ("mig_memory_slices", "mig_compute_slices", "mig_profiles")
_PROFILE_FIELDS = (
    "name",
    "compute_slices",
    "memory_slices",
    "memory_mib",
    "starts",
    "max_instances",
    *(_ENGINES := ("sm", "ce", "dec", "enc", "jpg", "ofa")),
)

T = TypeVar("T")


@dataclass(frozen=True)
class MigProfile:
    """One MIG GPU-instance profile of a GPU model, with the places it may start."""

    name: str
    compute_slices: int
    memory_slices: int
    memory_mib: int
    starts: tuple[int, ...]
    max_instances: int
    #: Per instance, as `nvidia-smi mig -lgip` lists them and GFD labels them.
    multiprocessors: int = 0
    copy_engines: int = 0
    decoders: int = 0
    encoders: int = 0
    jpeg_engines: int = 0
    ofa_engines: int = 0

    @property
    def resource_name(self) -> str:
        """The extended resource the device plugin advertises: nvidia.com/mig-1g.10gb.me."""
        return mig_resource(self.name)

    @property
    def media_extensions(self) -> bool:
        """Whether this is a "+me" profile, holding the GPU's one set of media engines."""
        return self.name.endswith("+me")


@dataclass(frozen=True)
class GpuModel:
    """One GPU model: what GFD labels it, its memory, and how MIG can carve it."""

    product: str
    memory_mib: int
    family: str
    compute_capability: tuple[int, int]
    mig_capable: bool
    mig_memory_slices: int
    mig_compute_slices: int
    mig_profiles: tuple[MigProfile, ...]
    aliases: tuple[str, ...]
    max_mps_clients: int
    timeslicing_supported: bool

    def mig_profile(self, name: str) -> MigProfile:
        """The MIG profile called `name` ("1g.10gb", also "mig-1g.10gb" or the resource name)."""
        key = _profile_key(name)
        for profile in self.mig_profiles:
            if profile.name == key:
                return profile
        if not self.mig_profiles:
            raise InputError(
                f"GPU model {self.product} is not MIG capable, so it has no profile {name!r}",
                hint="request whole GPUs (nvidia.com/gpu) or a shared GPU on this model instead",
            )
        names = ", ".join(p.name for p in self.mig_profiles)
        raise InputError(
            f"GPU model {self.product} has no MIG profile {name!r}",
            hint=f"its profiles are {names}",
        )


@dataclass(frozen=True)
class _Table:
    models: tuple[GpuModel, ...]
    by_key: Mapping[str, GpuModel]
    spelled: Mapping[str, str]  # lookup key -> the name as the table writes it


def lookup(name: str, where: Location | None = None) -> GpuModel:
    """The GPU model called `name`: its product label or any alias, in any case.

    Spaces count as dashes (so NVML's "NVIDIA H100 80GB HBM3" works), and GFD's "-SHARED" and
    "-MIG-<profile>" suffixes are ignored.
    """
    table = _table()
    key = _key(name)
    model = table.by_key.get(key)
    if model is not None:
        return model
    raise UnknownGpuModelError(
        f"unknown GPU model {name!r}", where=where, hint=_suggestion(key, table)
    )


def find(name: str | None) -> GpuModel | None:
    """The GPU model called `name` as `lookup` finds it, or None for no name or an unknown one.

    For callers that carry on without a model: an unknown product still schedules whole GPUs.
    """
    if not name:
        return None
    return _table().by_key.get(_key(name))


def all_models() -> tuple[GpuModel, ...]:
    """Every model in the catalog, in table order."""
    return _table().models


def parse_table(text: str, file: str = TABLE_FILE) -> tuple[GpuModel, ...]:
    """Parse and validate a catalog table in gpus.yaml's format; raise InputError on any flaw."""
    where = Location(file=file)
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML: {exc}", where=where) from exc
    if not isinstance(raw, dict) or set(raw) != {"models"}:
        raise InputError("the table must be a mapping with one key, 'models'", where=where)
    models_where = where.child("models")
    rows = _expect(raw["models"], list, "a list of models", models_where)
    models = tuple(_parse_model(row, models_where.child(f"[{i}]")) for i, row in enumerate(rows))
    _index(models, models_where)  # for its duplicate-name check
    return models


@cache
def _table() -> _Table:
    """The packaged table, read and validated once per process."""
    text = resources.files("gpuplane.catalog").joinpath(TABLE_FILE).read_text(encoding="utf-8")
    models = parse_table(text, f"gpuplane/catalog/{TABLE_FILE}")
    by_key, spelled = _index(models, Location(file=TABLE_FILE, field="models"))
    return _Table(models=models, by_key=by_key, spelled=spelled)


def _index(
    models: tuple[GpuModel, ...], where: Location
) -> tuple[dict[str, GpuModel], dict[str, str]]:
    by_key: dict[str, GpuModel] = {}
    spelled: dict[str, str] = {}
    for i, model in enumerate(models):
        for name in (model.product, *model.aliases):
            key = _key(name)
            if key in by_key:
                raise InputError(
                    f"name {name!r} is used twice (also by {by_key[key].product})",
                    where=where.child(f"[{i}]"),
                    hint="product names and aliases must be unique, ignoring case",
                )
            by_key[key] = model
            spelled[key] = name
    return by_key, spelled


def _key(name: str) -> str:
    key = _SEPARATORS.sub("-", name.strip()).casefold()
    key = _SHARED_SUFFIX.sub("", key)
    return _MIG_SUFFIX.sub("", key)


def _profile_key(name: str) -> str:
    key = name.strip().casefold().removeprefix("nvidia.com/").removeprefix("mig-")
    # The device plugin, GFD and mig-parted write "1g.10gb+me" as "1g.10gb.me".
    return key.removesuffix(".me") + "+me" if key.endswith(".me") else key


def _suggestion(key: str, table: _Table) -> str:
    close = difflib.get_close_matches(key, list(table.spelled), n=5, cutoff=0.6)
    if not close:
        return "known models: " + ", ".join(m.product for m in table.models)
    options: dict[str, str] = {}  # one suggestion per model, the closest name first
    for match in close:
        name, product = table.spelled[match], table.by_key[match].product
        options.setdefault(product, name if name == product else f"{name} ({product})")
    return "did you mean " + " or ".join(list(options.values())[:3]) + "?"


# ------------------------------------------------------------------------ validation


def _parse_model(raw: object, where: Location) -> GpuModel:
    row = _expect(raw, dict, "a mapping", where)
    _check_fields(row, _MODEL_FIELDS, where)
    product = _name(_field(row, "product", str, where), where.child("product"))
    memory_mib = _positive(row, "memory_mib", where)
    family = _field(row, "family", str, where)
    if family not in FAMILIES:
        raise InputError(
            f"unknown family {family!r}",
            where=where.child("family"),
            hint="one of " + ", ".join(sorted(FAMILIES)),
        )
    capability = _field(row, "compute_capability", list, where)
    if len(capability) != 2 or not all(_is_int(v) and v >= 0 for v in capability):
        raise InputError(
            f"compute_capability must be [major, minor], got {capability!r}",
            where=where.child("compute_capability"),
        )
    aliases_where = where.child("aliases")
    aliases: list[str] = []
    for i, alias in enumerate(_expect(row.get("aliases", []), list, "a list", aliases_where)):
        alias_where = aliases_where.child(f"[{i}]")
        aliases.append(_name(_expect(alias, str, "a string", alias_where), alias_where))
    mig_capable = _field(row, "mig_capable", bool, where)
    memory_slices = compute_slices = 0
    profiles: tuple[MigProfile, ...] = ()
    if mig_capable:
        memory_slices = _positive(row, "mig_memory_slices", where)
        compute_slices = _positive(row, "mig_compute_slices", where)
        profiles_where = where.child("mig_profiles")
        rows = _field(row, "mig_profiles", list, where)
        if not rows:
            raise InputError("a MIG-capable model needs its profiles", where=profiles_where)
        profiles = tuple(
            _parse_profile(p, profiles_where.child(f"[{i}]"), memory_slices, compute_slices)
            for i, p in enumerate(rows)
        )
        names = [p.name for p in profiles]
        if len(set(names)) != len(names):
            raise InputError("a profile name appears twice", where=profiles_where)
        too_big = [p.name for p in profiles if p.memory_mib > memory_mib]
        if too_big:
            raise InputError(
                f"profiles {too_big} have more memory than the GPU", where=profiles_where
            )
    else:
        for name in _MIG_FIELDS:
            if name in row:
                raise InputError(f"{name} is only for MIG-capable models", where=where.child(name))
    return GpuModel(
        product=product,
        memory_mib=memory_mib,
        family=family,
        compute_capability=(capability[0], capability[1]),
        mig_capable=mig_capable,
        mig_memory_slices=memory_slices,
        mig_compute_slices=compute_slices,
        mig_profiles=profiles,
        aliases=tuple(aliases),
        max_mps_clients=_positive(row, "max_mps_clients", where),
        timeslicing_supported=_field(row, "timeslicing_supported", bool, where),
    )


def _parse_profile(
    raw: object, where: Location, gpu_memory_slices: int, gpu_compute_slices: int
) -> MigProfile:
    row = _expect(raw, dict, "a mapping", where)
    _check_fields(row, _PROFILE_FIELDS, where)
    name = _field(row, "name", str, where)
    match = _PROFILE_NAME.fullmatch(name)
    if match is None:
        raise InputError(
            f"profile name {name!r} is not like 1g.10gb or 1g.10gb+me", where=where.child("name")
        )
    compute = _positive(row, "compute_slices", where)
    if compute != int(match.group(1)) or compute > gpu_compute_slices:
        raise InputError(
            f"compute_slices {compute} must match the name {name!r} and be at most "
            f"the GPU's {gpu_compute_slices}",
            where=where.child("compute_slices"),
        )
    size = _positive(row, "memory_slices", where)
    if size > gpu_memory_slices:
        raise InputError(
            f"memory_slices {size} exceeds the GPU's {gpu_memory_slices}",
            where=where.child("memory_slices"),
        )
    starts_where = where.child("starts")
    starts = _field(row, "starts", list, where)
    if not starts or not all(_is_int(s) for s in starts) or starts != sorted(set(starts)):
        raise InputError(
            f"starts must be distinct ascending integers, got {starts!r}", where=starts_where
        )
    outside = [s for s in starts if s < 0 or s + size > gpu_memory_slices]
    if outside:
        raise InputError(
            f"starts {outside} put {size} slices outside the GPU's {gpu_memory_slices}",
            where=starts_where,
        )
    max_instances = _positive(row, "max_instances", where)
    if max_instances > len(starts):
        raise InputError(
            f"max_instances {max_instances} exceeds the {len(starts)} start positions",
            where=where.child("max_instances"),
        )
    sm, ce, dec, enc, jpg, ofa = (_positive(row, key, where, 0) for key in _ENGINES)
    return MigProfile(
        name=name,
        compute_slices=compute,
        memory_slices=size,
        memory_mib=_positive(row, "memory_mib", where),
        starts=tuple(starts),
        max_instances=max_instances,
        multiprocessors=sm,
        copy_engines=ce,
        decoders=dec,
        encoders=enc,
        jpeg_engines=jpg,
        ofa_engines=ofa,
    )


def _check_fields(row: dict[Any, Any], known: tuple[str, ...], where: Location) -> None:
    for key in row:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            raise InputError(
                f"unknown field {key!r}",
                where=where.child(str(key)),
                hint=f"did you mean {close[0]!r}?" if close else "fields: " + ", ".join(known),
            )


def _field(row: dict[Any, Any], key: str, kind: type[T], where: Location) -> T:
    if key not in row:
        raise InputError(f"missing field {key!r}", where=where)
    return _expect(row[key], kind, f"a {kind.__name__}", where.child(key))


def _expect(value: object, kind: type[T], what: str, where: Location) -> T:
    # bool is an int to Python; a table saying `memory_mib: true` is still a typo.
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise InputError(f"expected {what}, got {value!r}", where=where)
    return value


def _positive(row: dict[Any, Any], key: str, where: Location, least: int = 1) -> int:
    value = _field(row, key, int, where)
    if value < least:
        what = "positive" if least == 1 else f"at least {least}"
        raise InputError(f"{key} must be {what}, got {value}", where=where.child(key))
    return value


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _name(value: str, where: Location) -> str:
    if not _NAME.fullmatch(value):
        raise InputError(
            f"{value!r} is not a label-safe name (letters, digits, '.', '+', '-')", where=where
        )
    if _key(value) != value.casefold():
        raise InputError(
            f"{value!r} ends in a suffix that lookup strips (-SHARED or -MIG-<profile>)",
            where=where,
        )
    return value
