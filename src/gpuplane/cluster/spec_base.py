"""What every part of the cluster spec shares: the pydantic base and carrying InputErrors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from gpuplane.errors import InputError

T = TypeVar("T")


class FieldError(ValueError):
    """Carries an InputError through pydantic, which only collects ValueErrors."""

    def __init__(self, error: InputError) -> None:
        super().__init__(error.message)
        self.error = error


def checked(convert: Callable[[Any], T], value: Any) -> T:
    try:
        return convert(value)
    except InputError as exc:
        raise FieldError(exc) from None


class Model(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, alias_generator=to_camel, populate_by_name=True
    )
