"""grids package."""
