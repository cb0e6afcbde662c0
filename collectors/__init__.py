"""Collectors: pull from the outside world, normalise, write through the store."""
