"""The response cache: answers of repeated queries, keyed by document, variables, scope and data version."""
