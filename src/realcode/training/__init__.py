"""realcode.training."""
