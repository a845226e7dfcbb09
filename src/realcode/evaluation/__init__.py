"""realcode.evaluation."""
