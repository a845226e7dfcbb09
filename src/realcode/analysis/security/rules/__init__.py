"""realcode.analysis.security.rules."""
