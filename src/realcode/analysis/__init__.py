"""realcode.analysis."""
