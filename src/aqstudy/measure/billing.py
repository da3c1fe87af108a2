r"""What AWS billed a run's invocations, read from the REPORT lines Lambda writes to CloudWatch Logs.

After each invocation Lambda writes one line to the function's log group ``/aws/lambda/<function>``::

    REPORT RequestId: 8f507cfc-…\tDuration: 15.74 ms\tBilled Duration: 150 ms\tMemory Size: 128 MB\t
    Max Memory Used: 56 MB\tInit Duration: 133.64 ms\t      (one line; broken here to fit)

(or, with the JSON log format, a ``platform.report`` event with the same figures). ``Billed Duration``
already holds what is billed of INIT: AWS bills INIT of container images and, since 2025-08-01, of ZIP
managed runtimes too, within the billed duration. ``Init Duration`` is kept apart for information only.

The parser and the pricing are pure; :func:`read_reports` is the thin boto3 adapter. Log lines arrive late
(seconds to minutes), so the reader waits with a bound and says which invocations it did not find: billing is
a check on the model, never a reason to fail a run. Only Lambda appears in these lines: the S3 terms of the
cost model have nothing to be checked against here, and are left out of both sides of the comparison.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from aqstudy.measure import cost as c

log = logging.getLogger(__name__)

#: Metric names, defined once. ``billed_gb_s`` (without a source) is the cost model's, see aqstudy.cost.
BILLED_COST_USD = "billed_cost_usd"
REPORTED_GB_S = "reported_gb_s"
INIT_DURATION_S_SUM = "init_duration_s_sum"
MAX_MEMORY_USED_MB = "max_memory_used_mb"
COST_MODEL_ERROR_PCT = "cost_model_error_pct"
INVOCATIONS_REPORTED = "invocations_reported"
INVOCATIONS_UNREPORTED = "invocations_unreported"
#: The cost model's terms that Lambda bills (and REPORT lines can check); the S3 ones are not among them.
LAMBDA_TERMS = ("compute", "init", "requests", "ephemeral")
#: CloudWatch Logs filter: the phrase every text REPORT line starts with.
REPORT_FILTER = '"REPORT RequestId"'
JSON_REPORT_FILTER = '"platform.report"'

_FIELD = re.compile(r"([A-Za-z][A-Za-z ]*?):\s*([^\t]*?)\s*(?=\t|$)")


@dataclass(frozen=True)
class InvocationReport:
    """One invocation's REPORT line, in the units of the study.

    :param request_id: the invocation's request id (Lithops' activation id of its calls).
    :param duration_s: handler time.
    :param billed_duration_s: what AWS billed (rounded up to 1 ms; includes billed INIT).
    :param memory_size_mb: configured memory.
    :param max_memory_used_mb: the environment's peak memory so far.
    :param init_duration_s: INIT of a cold start, None for a warm one.
    """

    request_id: str
    duration_s: float
    billed_duration_s: float
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_s: float | None = None


def _ms(text: str) -> float:
    value, _, unit = text.partition(" ")
    if unit.strip() not in ("ms", ""):
        raise ValueError(f"unexpected unit in {text!r}")
    return _seconds(float(value))


def _seconds(ms: float) -> float:
    # REPORT lines give ms to 2 decimals: to the µs in seconds, without binary noise in the last digit.
    return round(ms / 1000, 6)


def _mb(text: str) -> int:
    value, _, unit = text.partition(" ")
    if unit.strip() not in ("MB", ""):
        raise ValueError(f"unexpected unit in {text!r}")
    return int(float(value))


def parse_report(message: str) -> InvocationReport | None:
    """The REPORT line (text or JSON ``platform.report``) in a log message, else None (other lines, garbage)."""
    text = message.strip()
    if text.startswith("{"):
        return _parse_json_report(text)
    if not text.startswith("REPORT "):
        return None
    fields = dict(_FIELD.findall(text[len("REPORT "):]))
    try:
        init = fields.get("Init Duration")
        return InvocationReport(
            request_id=fields["RequestId"].strip(),
            duration_s=_ms(fields["Duration"]),
            billed_duration_s=_ms(fields["Billed Duration"]),
            memory_size_mb=_mb(fields["Memory Size"]),
            max_memory_used_mb=_mb(fields["Max Memory Used"]),
            init_duration_s=_ms(init) if init else None,
        )
    except (KeyError, ValueError):
        log.warning("a REPORT line could not be read: %.200s", text)
        return None


def _parse_json_report(text: str) -> InvocationReport | None:
    try:
        event = json.loads(text)
    except ValueError:
        return None
    if not isinstance(event, dict) or event.get("type") != "platform.report":
        return None
    record = event.get("record") or {}
    metrics = record.get("metrics") or {}
    try:
        init = metrics.get("initDurationMs")
        return InvocationReport(
            request_id=str(record["requestId"]),
            duration_s=_seconds(float(metrics["durationMs"])),
            billed_duration_s=_seconds(float(metrics["billedDurationMs"])),
            memory_size_mb=int(metrics["memorySizeMB"]),
            max_memory_used_mb=int(metrics["maxMemoryUsedMB"]),
            init_duration_s=_seconds(float(init)) if init is not None else None,
        )
    except (KeyError, TypeError, ValueError):
        log.warning("a platform.report event could not be read: %.200s", text)
        return None


@dataclass
class ReportsRead:
    """What :func:`read_reports` found: a report per expected request id, the ids still missing, why."""

    reports: dict[str, InvocationReport] = field(default_factory=dict)
    missing: set[str] = field(default_factory=set)
    waited_s: float = 0.0
    error: str | None = None


def billed_metrics(reports: Iterable[InvocationReport], *, region: str, architecture: str = "x86_64",
                   ephemeral_mb: int = c.LAMBDA_FREE_EPHEMERAL_MB) -> dict[str, float]:
    """The Lambda bill of these invocations, priced with the cost model's table (pure).

    :param reports: one per invocation.
    :param region: compute region (picks the GB-second price).
    :param architecture: x86_64 or arm64.
    :param ephemeral_mb: configured /tmp (REPORT lines do not carry it).
    """
    reports = list(reports)
    billed_s = sum(report.billed_duration_s for report in reports)
    gb_s = sum(report.billed_duration_s * report.memory_size_mb / 1024 for report in reports)
    extra_ephemeral_gb = max(0, ephemeral_mb - c.LAMBDA_FREE_EPHEMERAL_MB) / 1024
    usd = (c.tiered_gb_second_usd(gb_s, region=region, architecture=architecture)
           + len(reports) * c.LAMBDA_REQUEST_USD + extra_ephemeral_gb * billed_s * c.LAMBDA_EPHEMERAL_GB_SECOND_USD)
    metrics = {BILLED_COST_USD: usd, REPORTED_GB_S: gb_s,
               INIT_DURATION_S_SUM: sum(report.init_duration_s or 0.0 for report in reports),
               INVOCATIONS_REPORTED: len(reports)}
    if reports:
        metrics[MAX_MEMORY_USED_MB] = max(report.max_memory_used_mb for report in reports)
    return metrics


def modelled_lambda_usd(cost_metrics: dict[str, float]) -> float:
    """The cost model's Lambda terms of a run (what REPORT lines can check), from its ``cost_<term>_usd``."""
    return sum(cost_metrics.get(c.cost_metric(term)) or 0.0 for term in LAMBDA_TERMS)


def billing_outcome(read: ReportsRead, *, expected: int, region: str, architecture: str, ephemeral_mb: int,
                    cost_metrics: dict[str, float], wait_s: float) -> tuple[dict[str, float], dict[str, str]]:
    """Metrics and tags of the billing check (pure): the bill of the invocations found, the model's error
    against it when every invocation was found, and a tag saying what was missing.

    :param read: what :func:`read_reports` found.
    :param expected: invocations the run made.
    :param cost_metrics: the run's modelled ``cost_<term>_usd`` metrics.
    :param wait_s: the bound the reader waited up to (quoted in the tag).
    """
    metrics = billed_metrics(read.reports.values(), region=region, architecture=architecture,
                             ephemeral_mb=ephemeral_mb)
    unreported = max(0, expected - len(read.reports))
    metrics[INVOCATIONS_UNREPORTED] = unreported
    tags = {"billing_source": "CloudWatch Logs REPORT lines (Lambda terms only: compute with billed INIT, "
                              "requests, ephemeral storage; S3 is not in them)"}
    if read.error:
        tags["billing_error"] = read.error
    if unreported:
        tags["billing_missing"] = (f"{unreported} of {expected} invocations had no REPORT line after "
                                   f"{read.waited_s:.0f} s (billing.wait_s={wait_s:g}); billed_* cover the "
                                   f"{len(read.reports)} found, and {COST_MODEL_ERROR_PCT} is not computed")
    elif metrics[BILLED_COST_USD] > 0:
        modelled = modelled_lambda_usd(cost_metrics)
        metrics[COST_MODEL_ERROR_PCT] = 100 * (modelled - metrics[BILLED_COST_USD]) / metrics[BILLED_COST_USD]
    return metrics, tags


def read_reports(logs_client, *, log_group: str, request_ids: Iterable[str], start_ms: int, wait_s: float,
                 poll_s: float = 5.0, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> ReportsRead:
    """The REPORT lines of ``request_ids`` in ``log_group``, waiting up to ``wait_s`` for late ones. Never raises.

    :param logs_client: a boto3 ``logs`` client.
    :param log_group: ``/aws/lambda/<function name>``.
    :param request_ids: the run's invocations (Lithops' activation ids).
    :param start_ms: epoch ms before the first invocation (older lines are not read).
    :param wait_s: how long to keep looking for missing lines.
    :param poll_s: seconds between two looks.
    """
    wanted = {str(rid) for rid in request_ids if rid}
    read = ReportsRead(missing=set(wanted))
    started = clock()
    while True:
        try:
            for report in _scan(logs_client, log_group=log_group, start_ms=start_ms):
                if report.request_id in read.missing:
                    read.reports[report.request_id] = report
                    read.missing.discard(report.request_id)
        except Exception as error:  # no permission, no network: the run goes on, the tag says why
            name = type(error).__name__
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            if code != "ResourceNotFoundException":  # the group appears with the first invocation's logs
                read.error = f"{name}{f' ({code})' if code else ''}: {error}"[:500]
                break
        read.waited_s = clock() - started
        if not read.missing or read.waited_s >= wait_s:
            break
        sleep(min(poll_s, max(0.0, wait_s - read.waited_s)))
    read.waited_s = clock() - started
    return read


def _scan(logs_client, *, log_group: str, start_ms: int) -> Iterable[InvocationReport]:
    for pattern in (REPORT_FILTER, JSON_REPORT_FILTER):
        token = None
        while True:
            kwargs = {"logGroupName": log_group, "startTime": int(start_ms), "filterPattern": pattern}
            if token:
                kwargs["nextToken"] = token
            page = logs_client.filter_log_events(**kwargs)
            for event in page.get("events", []):
                report = parse_report(event.get("message", ""))
                if report is not None:
                    yield report
            token = page.get("nextToken")
            if not token:
                break
