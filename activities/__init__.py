"""Temporal activities: the node attempt (one per task attempt, dynamic activity type
``<graph_id>.<node>``) and the bookkeeping activities of runs, threads and crons.
Each reaches the core through a port (``activities/ports.py``).

See docs/architecture.md for the layers."""
