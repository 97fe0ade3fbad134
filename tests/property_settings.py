"""Hypothesis settings shared by the property tests (tests/test_property_*.py)."""

from __future__ import annotations

import os

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
