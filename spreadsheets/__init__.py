"""The registry as a spreadsheet: the template's columns, reading what people send, writing exports.

Depends on models only (enums, the reference trees); resolvers build imports and exports on it.
"""
