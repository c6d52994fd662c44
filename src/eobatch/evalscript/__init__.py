"""evalscript package."""
