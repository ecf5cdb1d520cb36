"""Sequences: finished takes cut together into one video, and the recipe each take carries."""
