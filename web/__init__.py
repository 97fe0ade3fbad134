"""HTTP: the Starlette app, the GraphQL view and its transport rules, the request Context,
request ids, the import and export endpoints, and serving with uvicorn."""
