"""`python -m cli ...` and the `minegraph` script: logging first, then the command."""

from __future__ import annotations

from cli.main import main

main()
