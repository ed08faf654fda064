"""contrastkit.recsys (under construction)."""
