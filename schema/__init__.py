"""The GraphQL schema's declarations: types, inputs, enums, the root types (and, in schema/operations/,
the persisted operations' documents: execution/documents.py serves them).

Importing it builds nothing: schema/build.py assembles the schema when the app factory (or a
command that needs the SDL) calls `build_schema(settings)`.
"""
