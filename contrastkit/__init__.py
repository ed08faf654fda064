"""contrastkit: contrastive representation learning across domains."""
