"""Policies shipped with fairdue, as package data: `default.yaml` is the seed's ladder (S1-S7)."""
