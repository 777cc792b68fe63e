"""The REST facade: the LangGraph Agent Server API (paths, fields, status codes, SSE)
over Evergraph's adapter layer. Routes call adapter services only.

See docs/architecture.md for the layers."""
