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


def test_lists_are_redacted_item_by_item_and_an_unset_secret_stays_unset():
    config = {"hosts": ["id " + KEY_ID, "plain", 3, None], "pair": ("a", SECRET), "token": "", "password": None,
              "api_key": 0}
    assert redaction.redact(config) == {"hosts": ["id ***", "plain", 3, None], "pair": ["a", "***"], "token": "",
                                        "password": None, "api_key": "***"}
    # A plain value with no key around it is redacted by its shape only.
    assert redaction.redact(SECRET) == "***" and redaction.redact("token") == "token"


def test_the_record_factory_takes_logrecords_keyword_arguments(log_redaction):
    record = logging.getLogRecordFactory()(name="x", level=logging.INFO, pathname=__file__, lineno=1,
                                           msg="key %s", args=(KEY_ID,), exc_info=None, func="f", sinfo=None)
    assert (record.getMessage(), record.funcName) == ("key ***", "f")
