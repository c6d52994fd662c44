"""collections package."""
