"""contrastkit.timeseries (under construction)."""
