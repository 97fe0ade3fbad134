"""Hypothesis settings and the figures report shared by the property tests (tests/test_property_*.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from hypothesis import HealthCheck, Phase, settings

# Shrinking a failure can take Hypothesis five minutes per test; under CI=true the first failing
# example is reported as found (its caller, document and variables are printed either way),
# unless PROPERTY_SHRINK=1.
SHRINK = (os.environ.get("PROPERTY_SHRINK") or ("0" if os.environ.get("CI", "").lower() == "true" else "1")) == "1"


def property_profile(name: str, cases: int, *extra_health_checks: HealthCheck) -> settings:
    """Register (and return) a profile of `cases` examples with the suite's common choices."""
    settings.register_profile(
        name,
        max_examples=cases,
        deadline=None,
        derandomize=False,  # Hypothesis's CI default is True; here every run, CI's too, explores anew
        print_blob=True,
        phases=tuple(Phase) if SHRINK else tuple(p for p in Phase if p is not Phase.shrink),
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much,
                               *extra_health_checks],
    )
    return settings.get_profile(name)


# PROPERTY_REPORT=path.json: each family of property tests writes its figures there, one
# section per backend and family (`make soak` keeps them beside its other figures).
REPORT = os.environ.get("PROPERTY_REPORT")


def merge_report(backend: str, section: str, figures: dict) -> None:
    """Put `figures` under [backend][section] of PROPERTY_REPORT, keeping the other sections."""
    if not REPORT:
        return
    target = Path(REPORT)
    current = json.loads(target.read_text()) if target.exists() and target.stat().st_size else {}
    current.setdefault(backend, {})[section] = figures
    target.write_text(json.dumps(current, indent=2, ensure_ascii=False, default=str) + "\n")
