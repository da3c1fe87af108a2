"""Credentials kept out of what the study writes: log records, and (see test_units) params and config."""

from __future__ import annotations

import logging

import pytest

from aqstudy.study import redaction

KEY_ID = "AKIA" + "LOGGEDKEYFORTEST"
SECRET = "Logged/SecretKeyForTests+abcdefABCDEF012"  # 40 characters


@pytest.fixture
def log_redaction(monkeypatch):
    """Log redaction installed for this test only: the record factory is put back afterwards."""
    original = logging.getLogRecordFactory()
    monkeypatch.setattr(redaction, "_LOG_REDACTION_INSTALLED", False)
    redaction.install_log_redaction()
    yield
    logging.setLogRecordFactory(original)


def test_a_logged_key_leaves_every_handler_redacted(log_redaction, caplog):
    logger = logging.getLogger("aqstudy.tests.redaction")
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("signed with %s and %s", KEY_ID, SECRET)
        logger.info("plain %s, %d calls", "text", 3)
    signed, plain = caplog.records
    assert signed.getMessage() == "signed with *** and ***"
    assert KEY_ID not in caplog.text and SECRET not in caplog.text
    # A record with nothing to hide is left as it was made.
    assert (plain.msg, plain.args, plain.getMessage()) == ("plain %s, %d calls", ("text", 3), "plain text, 3 calls")


def test_log_redaction_is_installed_once_and_leaves_a_malformed_record_to_logging(log_redaction):
    factory = logging.getLogRecordFactory()
    redaction.install_log_redaction()
    assert logging.getLogRecordFactory() is factory  # not wrapped twice
    record = factory("x", logging.INFO, __file__, 1, "%d calls", ("many",), None)
    assert (record.msg, record.args) == ("%d calls", ("many",))  # logging reports it when it is emitted
