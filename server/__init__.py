"""Passerelle's companion service: find the people an X user follows on Bluesky and fedi."""

from __future__ import annotations

from importlib import metadata

try:
    __version__ = metadata.version("passerelle")
except metadata.PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0+source"


def create_app(test_config=None, workers=1, listen=None):  # type: ignore[no-untyped-def]
    """Build the Flask app (see `server.web.app`); imported lazily so the CLI starts fast."""
    from .web.app import create_app as _create

    return _create(test_config, workers, listen)
