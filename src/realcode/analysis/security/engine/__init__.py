"""The analysis engine: control-flow graphs, taint data flow, guards, and API models (sources, sinks, sanitizers)."""
