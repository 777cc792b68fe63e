"""Route modules, one per resource (system, assistants, threads, runs, crons, store,
the v2 thread protocol). Routes parse the request, call the core
(:mod:`evergraph.adapter.resources`) and shape the response; no route module imports
another. See docs/architecture.md."""
