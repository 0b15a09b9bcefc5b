"""The package version, read by hatch and kept in step with package.json."""

__version__ = "0.1.0"
