import sys
from pathlib import Path

# The RBAC evaluation lives in the fake API server's package (tests/live/fakeapi).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "live"))
