"""Simulated borrowers and staff for `fairdue simulate` (pure: a seeded Random is passed in)."""
