"""Reading a batch/v1 Job: its counts and its pod template."""

from __future__ import annotations

from gpuplane.limits import MAX_PODS_PER_WORKLOAD
from gpuplane.objects.job import Job
from gpuplane.objects.read_pod import pod_from_spec
from gpuplane.objects.yamlio import Field, Warn

_MODES = ("NonIndexed", "Indexed")
_JOB_RESTART_POLICIES = ("OnFailure", "Never")


def read_job(root: Field, warn: Warn | None = None) -> Job:
    """A batch/v1 Job; completions stays None when unset (done when any pod succeeds)."""
    metadata, spec = root["metadata"], root["spec"]
    name = metadata["name"].required_string()
    namespace = metadata["namespace"].string() or "default"
    if not spec.present:
        raise spec.error("required value")
    parallelism = _non_negative(spec["parallelism"])
    completions = _non_negative(spec["completions"])
    mode_field = spec["completionMode"]
    mode = mode_field.string() or "NonIndexed"
    if mode not in _MODES:
        raise mode_field.error(f"unsupported value {mode!r}: supported values: NonIndexed, Indexed")
    if mode == "Indexed" and completions is None:
        raise spec["completions"].error("required value when completionMode is Indexed")
    template = spec["template"]
    if not template.present:
        raise template.error("required value")
    _check_restart_policy(template["spec"]["restartPolicy"], warn)
    pod = pod_from_spec(
        template["metadata"],
        template["spec"],
        name=name,
        namespace=namespace,
        source=template.where,
        owner=name,
        warn=warn,
    )
    return Job(
        name=name,
        namespace=namespace,
        template=pod,
        parallelism=1 if parallelism is None else parallelism,
        completions=completions,
        completion_mode=mode,
        labels=metadata["labels"].string_map(),
        source=root.where,
    )


def _non_negative(field: Field) -> int | None:
    number = field.optional_integer()
    if number is not None and number < 0:
        raise field.error(f"must be greater than or equal to 0, got {number}")
    if number is not None and number > MAX_PODS_PER_WORKLOAD:
        # Each pod of a Job becomes an object in memory: 1e9 of them never finished reading.
        raise field.error(
            f"must be at most {MAX_PODS_PER_WORKLOAD:,} (as for Kubernetes' Indexed Jobs), "
            + (f"got {number:.3e}" if number < 10**300 else "got a number of over 300 digits"),
            hint="see docs/limits.md",
        )
    return number


def _check_restart_policy(field: Field, warn: Warn | None) -> None:
    policy = field.optional_string()
    if policy is None:
        # The API server refuses this too (the default, Always, is not allowed for Jobs), but a
        # hand-written scenario loses nothing by it, so it is only a warning here.
        if warn is not None:
            warn(
                field.where,
                "a Job's pods need restartPolicy OnFailure or Never; Kubernetes refuses it unset",
            )
        return
    if policy not in _JOB_RESTART_POLICIES:
        raise field.error(f"unsupported value {policy!r}: supported values: OnFailure, Never")
