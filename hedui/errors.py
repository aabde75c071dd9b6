"""hedui's exceptions: one root, small named errors whose message says what to do."""


class HeduiError(Exception):
    """Root of every error hedui raises on purpose."""


class PolicyError(HeduiError):
    """A policy file is malformed or no policy version applies to a household."""


class ConfigError(HeduiError):
    """A required setting (path, key, connection) is missing or wrong."""


class ReconciliationError(HeduiError):
    """Rows delivered differ from rows staged plus rows quarantined."""


class InputError(HeduiError):
    """What the user gave (a date, a folder, a parameter) is wrong or names nothing to process."""


class LockedError(HeduiError):
    """Another run holds the working folder (exit code 4)."""
