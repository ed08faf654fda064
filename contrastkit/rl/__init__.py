"""contrastkit.rl (under construction)."""
