"""Bundled data: the demo's leads."""
