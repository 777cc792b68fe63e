"""The calls of the graph factories in factories.py, kept in this one module (imported
once by its plain name) because servers import each graph's file under its own module
name (tests/test_server_runtime.py)."""

import threading
from typing import Any

CALLS: list[dict[str, Any]] = []
LOCK = threading.Lock()
