"""Keep credentials out of everything the study logs: params, artifacts, error messages, reports."""

from __future__ import annotations

import logging
import re
from typing import Any

REDACTED = "***"
#: Config keys whose values are secrets whatever they hold.
_SECRET_KEY = re.compile(r"(secret|password|passwd|token|credential|session_key|access_key|api_key|private_key)",
                         re.IGNORECASE)
#: Values that are secrets wherever they appear: AWS access key ids and 40-character secret keys.
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b")
_SECRET_CANDIDATE = re.compile(r"(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])")


def _looks_like_secret_key(match: re.Match) -> str:
    # Mixed case sets a secret key apart from a 40-character git commit id (lowercase hex).
    text = match.group(0)
    mixed = any(c.isupper() for c in text) and any(c.islower() for c in text)
    return REDACTED if mixed else text


def is_secret_key(key: str) -> bool:
    """Whether a config key names a credential (``aws_secret_access_key``, ``token`` …)."""
    return bool(_SECRET_KEY.search(key))


def redact_text(text: str) -> str:
    """``text`` with anything shaped like an AWS key replaced by ``***``."""
    return _SECRET_CANDIDATE.sub(_looks_like_secret_key, _ACCESS_KEY_ID.sub(REDACTED, text))


def redact(value: Any, key: str = "") -> Any:
    """A copy of a nested config with secret-named keys and key-shaped values replaced by ``***``."""
    if key and is_secret_key(key) and value not in (None, ""):
        return REDACTED
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


_LOG_REDACTION_INSTALLED = False


def install_log_redaction() -> None:
    """Make every log record of this process leave with AWS-key-shaped text replaced by ``***``.

    botocore at DEBUG logs each request's Authorization header, which names the access key id. Redacting
    when a record is made covers every handler (console, Hydra's file, pytest's capture) at once. Idempotent.
    """
    global _LOG_REDACTION_INSTALLED
    if _LOG_REDACTION_INSTALLED:
        return
    make_record = logging.getLogRecordFactory()

    def redacting_record(*args, **kwargs) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logging's to report, not ours
            return record
        redacted = redact_text(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return record

    logging.setLogRecordFactory(redacting_record)
    _LOG_REDACTION_INSTALLED = True
