"""The `minegraph` command (`python -m cli`): cli/main.py builds it, the sub-apps live beside it."""
