"""Temporal activities: the node attempt (one per task attempt, dynamic activity type
``<graph_id>.<node>``) and the run's local activities (``advance``, ``finish_run``)."""
