"""Network I/O: every upstream call lives under this package."""
