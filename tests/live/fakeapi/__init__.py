"""A fake Kubernetes API server for tests: real HTTP on loopback, the semantics `live` relies on."""

from .faults import Fault, FaultPlan
from .resources import ResourceType
from .server import FakeApiServer

__all__ = ["FakeApiServer", "Fault", "FaultPlan", "ResourceType"]
