"""The original study's pandas map and reduce (``seeds/001``), re-implemented faithfully as a baseline.

Used by ``benchmarks/`` to measure how much faster this project's kernel is and how far the original's
results are from the documented semantics (:mod:`aqstudy.kernel.aggregate`). Nothing in a study run uses it unless a
benchmark passes it in.

What is the original's and what had to be supplied:

- ``day_average_map`` / ``day_average_reduce`` are the original's lines, with the changes pandas 3.1
  forces: ``pd.read_json`` needs a file-like object (``io.StringIO``); ``.sum(['count', 'sum'])``, whose
  list went to ``numeric_only`` (truthy, so ``True`` in pandas 1.x), is written ``.sum(numeric_only=True)``;
  and ``drop(columns=..., axis=1)`` loses its redundant ``axis=1``, which pandas 3 rejects beside
  ``columns=`` (three lines).
- ``preprocess`` and ``loads_recursive`` are not in the seeds. ``loads_recursive`` becomes "one JSON object
  per line" (our objects are NDJSON); ``preprocess`` does what the original's columns need: ``date`` as the
  UTC day, ``latitude``/``longitude`` out of ``coordinates``, readings with ``value ≥ 0`` only, and the
  columns the merge carries (``location``, ``unit``).

Its known faults, reproduced on purpose: ``groupby`` drops keys with a null part (stations without a city
or coordinates vanish), the key has no ``location``/``unit`` (co-located stations and two units of one gas
are mixed, then multiplied by the merge), and the reduce re-parses every partial from JSON text.
"""

from __future__ import annotations

import io
import json

#: The original's group key.
KEYS = ["country", "city", "date", "parameter", "latitude", "longitude"]


def loads_recursive(data: bytes) -> list[dict]:
    """The records of one NDJSON object (the original parsed one JSON document per object)."""
    return [json.loads(line) for line in data.decode(encoding="utf-8").splitlines() if line.strip()]


def preprocess(df):
    """The columns the original's groupby and merge use, from raw OpenAQ records (not in the seeds)."""
    df = df.copy()
    df["date"] = df["date"].map(lambda d: d["utc"][:10] if isinstance(d, dict) else None)
    df["latitude"] = df["coordinates"].map(lambda c: c.get("latitude") if isinstance(c, dict) else None)
    df["longitude"] = df["coordinates"].map(lambda c: c.get("longitude") if isinstance(c, dict) else None)
    df = df[df["value"] >= 0]
    return df[["country", "city", "location", "date", "parameter", "unit", "latitude", "longitude", "value"]]


def day_average_map(data: bytes) -> str:
    """The original's map over one object's bytes (it downloaded them itself); a JSON text out."""
    import pandas as pd

    df = pd.DataFrame(loads_recursive(data))
    df_to_process = preprocess(df)
    df_sum = df_to_process.groupby(KEYS)["value"].agg(["sum", "count"])
    df_to_process = df_to_process.drop(columns=["value"])
    df_merged = pd.merge(df_sum, df_to_process, on=KEYS).drop_duplicates()
    return df_merged.to_json()


def day_average_reduce(results: list[str]) -> str:
    """The original's reduce over the maps' JSON texts; a JSON text out."""
    import pandas as pd

    dfs = [pd.read_json(io.StringIO(result)) for result in results]
    df_concatenated = pd.concat(dfs)
    df_concatenated.reset_index(drop=True, inplace=True)

    df_avg = df_concatenated.groupby(KEYS).sum(numeric_only=True)
    df_avg["average"] = df_avg.apply(lambda row: row["sum"] / row["count"], axis=1)

    df_avg = df_avg.drop(columns=["count", "sum"]).dropna()
    df_concatenated = df_concatenated.drop(columns=["count", "sum"]).dropna()

    df_merged = pd.merge(df_avg, df_concatenated, on=KEYS).drop_duplicates()
    return df_merged.to_json()


def result_rows(result: str) -> list[dict]:
    """The original's reduce output as rows keyed like this project's result (``day`` as ``YYYY-MM-DD``)."""
    columns = json.loads(result)
    if not columns:
        return []
    index = list(columns["average"])
    rows = []
    for i in index:
        day = columns["date"][i]
        # read_json turned `date` into timestamps (epoch ms in to_json's output).
        day = _day(day)
        rows.append({
            "country": columns["country"][i], "city": columns["city"][i], "location": columns["location"][i],
            "latitude": columns["latitude"][i], "longitude": columns["longitude"][i],
            "parameter": columns["parameter"][i], "unit": columns["unit"][i], "day": day,
            "value": columns["average"][i],
        })
    return rows


def _day(value) -> str | None:
    import datetime

    if value is None:
        return None
    if isinstance(value, int | float):
        return datetime.datetime.fromtimestamp(value / 1000, tz=datetime.UTC).strftime("%Y-%m-%d")
    return str(value)[:10]


def as_partial_table(result: str):
    """The original's result as a partial table (``sum`` = its average, ``count`` = 1), for the study run."""
    import pyarrow as pa

    from aqstudy.kernel.aggregate import partial_schema

    rows = result_rows(result)
    columns = {name: [row[name] for row in rows] for name in
               ("country", "city", "location", "latitude", "longitude", "parameter", "unit", "day")}
    columns |= {"sum": [row["value"] for row in rows], "count": [1] * len(rows), "max": [row["value"] for row in rows]}
    return pa.table(columns, schema=partial_schema())


def map_object(bucket: str, key: str, size: int, storage, sha256: str | None = None) -> dict:
    """A Lithops map running the original's map (same iterdata as :func:`aqstudy.kernel.functions.map_object`;
    like the original, it checks nothing)."""
    data = storage.get_object(bucket, key)
    return {"partial": day_average_map(data), "input_bytes": len(data)}


def reduce_partials(results: list[dict]) -> dict:
    """A Lithops reduce running the original's reduce, its output handed on as this project's result table.

    The conversion (JSON text → Arrow IPC) is the only work added to the original's, and it is small.
    """
    from aqstudy.kernel.aggregate import to_ipc

    combined = as_partial_table(day_average_reduce([result["partial"] for result in results]))
    return {
        "combined": to_ipc(combined),
        "calls": [{name: value for name, value in result.items() if name != "partial"} for result in results],
    }
