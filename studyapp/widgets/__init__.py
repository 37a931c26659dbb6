"""Reusable Qt widgets: heatmap, token chips, loss plot."""
