"""The figures of a fault test: printed, and gathered in one JSON file for `make soak`."""

from __future__ import annotations

import json
import os
from pathlib import Path


def report(name: str, figures: dict) -> None:
    """Print the figures and merge them into the JSON file $FAULT_REPORT (if set) under `name`."""
    print(f"\n[{name}] " + ", ".join(f"{k}={v}" for k, v in figures.items()))
    path = os.environ.get("FAULT_REPORT")
    if not path:
        return
    target = Path(path)
    data = json.loads(target.read_text()) if target.exists() and target.stat().st_size else {}
    data[name] = figures
    target.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
