"""contrastkit.text (under construction)."""
