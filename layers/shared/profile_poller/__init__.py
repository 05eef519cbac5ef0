"""Tracks asynchronous Webex Campaign profile requests to the end (see README.md)."""

__version__ = "0.1.0"
