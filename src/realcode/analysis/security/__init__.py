"""realcode.analysis.security."""
