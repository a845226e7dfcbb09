"""realcode.analysis.maintainability."""
