"""Executing a document: the abuse limits and cost, the drill-down prefetch, the statistics' argument
flow, the fast executor of large answers and the error codes."""
