"""Jinja2 templates and the CSS of the reports (package data)."""
