"""Which of the project's files one request enters, in the order it first enters them.

A profiler hook (on the event loop's thread and on every thread started meanwhile, where the
database drivers and validation run) records each call whose code lives in the repository,
outside tests/ and .venv/. README's "How a request flows" names these files in this order.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Awaitable

ROOT = Path(__file__).resolve().parents[2]
_OUTSIDE = (ROOT / "tests", ROOT / ".venv")


def _project_file(filename: str) -> str | None:
    path = Path(filename)
    if not path.is_absolute() or not path.is_relative_to(ROOT) or any(path.is_relative_to(o) for o in _OUTSIDE):
        return None
    return path.relative_to(ROOT).as_posix()


async def files_entered(request: Awaitable) -> list[str]:
    """The project files whose code runs while `request` is awaited, first entry first."""
    seen: dict[str, None] = {}
    known: dict[str, str | None] = {}

    def hook(frame, event, _arg):
        if event == "call":
            filename = frame.f_code.co_filename
            name = known.get(filename, ...)
            if name is ...:
                name = known[filename] = _project_file(filename)
            if name is not None and name not in seen:
                seen[name] = None

    threading.setprofile(hook)
    sys.setprofile(hook)
    try:
        await request
    finally:
        sys.setprofile(None)
        threading.setprofile(None)
    return list(seen)
