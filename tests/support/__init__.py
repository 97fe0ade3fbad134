"""Helpers shared by the test areas: the environment, documents, servers, fault and fuzz kits."""
