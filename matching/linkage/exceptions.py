"""Errors raised by the linker; all derive from :class:`LinkageError`."""

from __future__ import annotations


class LinkageError(Exception):
    """Root of every error the linker raises."""


class SpecError(LinkageError, ValueError):
    """The link spec is malformed: the message names the key, the value and the fix."""


class BlockingError(LinkageError):
    """The blocking rules would produce more candidate pairs than the spec allows."""


class InputError(LinkageError):
    """An input table or file is missing a column the spec needs, or cannot be read."""
