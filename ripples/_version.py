"""The package version, kept in one place (read by pyproject and sent as ``$sdk_version``)."""

__version__ = "1.0.0"
