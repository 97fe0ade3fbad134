"""Operator tooling, run from the CLI: accounts, audit queries, retention and backup."""
