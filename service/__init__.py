"""Portagent: a self-hosted, multi-user gateway to Claude agents."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("portagent")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
