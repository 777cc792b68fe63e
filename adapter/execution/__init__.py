"""Running a graph on Temporal: the superstep driver, node attempts on the node loop, policies, run config, stream modes, recording a run's end.

See docs/architecture.md for the layers."""
