"""contrastkit.graph (under construction)."""
