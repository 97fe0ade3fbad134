"""The graphql-http server audit as a test helper: the npm package, installed once into a cache
folder, and a run of tests/support/http_audit.mjs against a served URL.

Needs `node` (20 or later) and `npm`. Without them the audit test is skipped with that reason,
except under CI=true, where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

# Exact versions, checked on Node 20 (`npm view graphql-http versions`); graphql is its peer.
GRAPHQL_HTTP_VERSION = "1.23.1"
GRAPHQL_VERSION = "16.11.0"
SCRIPT = Path(__file__).resolve().parent / "http_audit.mjs"
INSTALL_TIMEOUT_S = 300
AUDIT_TIMEOUT_S = 120


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason}. CI=true: the graphql-http audit must not be skipped.")
    pytest.skip(f"{reason} (the graphql-http audit needs node 20+ and npm; under CI=true this fails)")


def audit_package() -> Path:
    """The folder graphql-http is installed under (`npm install --prefix`), installing it if needed."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _unavailable(f"{'node' if node is None else 'npm'} is not on the PATH")
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    prefix = cache / "minegraph-npm" / f"graphql-http-{GRAPHQL_HTTP_VERSION}"
    installed = prefix / "node_modules" / "graphql-http" / "package.json"
    if not installed.exists():
        prefix.mkdir(parents=True, exist_ok=True)
        done = subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund",
             f"graphql-http@{GRAPHQL_HTTP_VERSION}", f"graphql@{GRAPHQL_VERSION}"],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S)
        if done.returncode != 0 or not installed.exists():
            _unavailable(f"npm install graphql-http@{GRAPHQL_HTTP_VERSION} failed: {done.stderr[-500:]}")
    if json.loads(installed.read_text())["version"] != GRAPHQL_HTTP_VERSION:
        pytest.fail(f"{installed} is not graphql-http {GRAPHQL_HTTP_VERSION}")
    return prefix


def run_audit(package: Path, url: str, token: str | None = None) -> list[dict]:
    """Every audit's {id, name, status, reason} against `url`."""
    done = subprocess.run(["node", str(SCRIPT), str(package), url, *([token] if token else [])],
                          capture_output=True, text=True, timeout=AUDIT_TIMEOUT_S)
    assert done.returncode == 0, f"the audit script failed ({done.returncode}):\n{done.stderr[-2000:]}"
    return json.loads(done.stdout)


def tally(results: list[dict]) -> dict[str, int]:
    counts = dict.fromkeys(("ok", "warn", "error", "notice"), 0)
    for result in results:
        counts[result["status"]] = counts.get(result["status"], 0) + 1
    return counts


def describe(results: list[dict]) -> str:
    return "\n".join(f"{r['id']} {r['status']}: {r['name']} — {r['reason']}" for r in results)
