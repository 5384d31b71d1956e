"""Tests ported from upstream projects' own tests: inputs and expected outputs, not their code.

Each module names the repository, path and commit its tables come from. The RBAC tables check
the fake API server's authorizer (tests/live/fakeapi/rbac.py) against kube-apiserver's.
"""

import sys
from pathlib import Path

# fakeapi is a package of tests/live (on sys.path for the tests there, not for these).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "live"))
