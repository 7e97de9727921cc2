"""The gridgov web application: factory, map pages, command line."""

from web.app import create_app

__all__ = ["create_app"]
