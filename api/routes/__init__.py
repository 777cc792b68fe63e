"""Route modules, one per resource (system, assistants, threads, runs)."""
