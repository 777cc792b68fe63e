"""Seeing what Evergraph does: Prometheus metrics (:mod:`.metrics`, the worker's
endpoint in :mod:`.endpoint`, the Temporal SDK's own metrics in :mod:`.temporal_metrics`),
logs (:mod:`.logs`, run state changes in :mod:`.runs`) and OpenTelemetry traces
(:mod:`.tracing`). See README "Observability"."""
