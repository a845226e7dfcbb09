"""realcode.generation."""
