"""realcode.rewards."""
