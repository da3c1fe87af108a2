"""The map's fast path: one pass over an object's bytes that parses, validates and aggregates its readings.

The scanner is C (``kernel/_scanner.c``), compiled ahead of time by ``make setup``: a function imports it in
about a millisecond, with nothing else (no numpy, no pyarrow, no JIT compiler). It reads each NDJSON line as
strict RFC 8259 JSON, takes the fields of the group key and ``value``, and adds the reading to an
open-addressing hash table of groups (:class:`Groups`); no per-line Python object is ever made. A line
outside what it decides exactly is *handed back* (its byte span) for the line-by-line reader of
:mod:`aqstudy.kernel.aggregate`, which defines the semantics: the two paths agree on every line the scanner keeps, and
the line reader's groups are merged into the same table (:meth:`Groups.add`).

Handed back: anything not strict JSON (NaN literals, trailing commas, bad UTF-8, control characters, nesting
deeper than 60), a tracked key spelled with an escape or given twice, a key part that is not a string or
null (or is a string with an escape), a coordinate or value whose decimal text is not exactly one double
operation away (more than 15-16 significant digits or a power of ten beyond 10^22: the fast path of
Clinger's algorithm, correctly rounded), and a ``date.utc`` with non-ASCII text in its
first ten bytes. Real OpenAQ exports have none of these; the synthetic data only the odd NaN.

:meth:`Groups.encode` writes the groups as the map's partial: a flat table the reduce wraps in Arrow arrays
without copying (:func:`aqstudy.kernel.aggregate.read_partial`).
"""

from __future__ import annotations

#: The first bytes of an encoded partial (:meth:`Groups.encode`): the format and its version.
PARTIAL_MAGIC = b"AQPART01"

try:
    from aqstudy.kernel._scanner import Groups
except ImportError as error:  # pragma: no cover - a checkout where `make setup` has not run
    raise ImportError(
        "aqstudy's compiled scanner (aqstudy.kernel._scanner) is not built; run `make setup` (it needs a C compiler: "
        "apt-get install gcc, or xcode-select --install on macOS)"
    ) from error

__all__ = ["PARTIAL_MAGIC", "Groups"]
