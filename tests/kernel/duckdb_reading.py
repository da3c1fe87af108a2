"""DuckDB's reading of an object: the engine whose semantics the kernel follows, as an independent check.

The kernel no longer runs DuckDB; these tests keep it honest against DuckDB's JSON reader (strict ``value``:
its JSON text cast, so a string or boolean is not a number) on every object DuckDB accepts.
"""

from __future__ import annotations

import duckdb

from aqstudy.kernel import aggregate as kernel
from aqstudy.kernel.columns import KEY_COLUMNS, PARTIAL_COLUMNS

_COLUMNS = (
    "{'date': 'STRUCT(utc VARCHAR)', 'parameter': 'VARCHAR', 'value': 'JSON', 'unit': 'VARCHAR', "
    "'location': 'VARCHAR', 'city': 'VARCHAR', 'country': 'VARCHAR', "
    "'coordinates': 'STRUCT(latitude DOUBLE, longitude DOUBLE)'}"
)
_KEYS = ", ".join(KEY_COLUMNS)
_READINGS = f"""
SELECT country, city, location, coordinates.latitude AS latitude, coordinates.longitude AS longitude,
       parameter, unit, left(date.utc, 10) AS day, x
FROM (SELECT *, TRY_CAST(value::VARCHAR AS DOUBLE) AS number
      FROM read_ndjson(?, columns={_COLUMNS}, format='newline_delimited', compression=?)),
     LATERAL (SELECT CASE WHEN number >= 0 AND isfinite(number) THEN number END AS x)
"""


def duckdb_partial(path: str) -> kernel.Partial:
    """The partial aggregate DuckDB computes for one file; raises duckdb.Error where DuckDB rejects it."""
    compression = "gzip" if kernel.is_gzip(open(path, "rb").read(2)) else "none"
    connection = duckdb.connect(config={"threads": 1})
    try:
        table = connection.sql(
            f"SELECT {_KEYS}, sum(x) AS sum, count(x) AS count, max(x) AS max FROM ({_READINGS}) "
            "GROUP BY ALL HAVING count(x) > 0", params=[path, compression]).to_arrow_table()
        records, valid = connection.execute(f"SELECT count(*), count(x) FROM ({_READINGS})",
                                            [path, compression]).fetchall()[0]
    finally:
        connection.close()
    table = table.select(list(PARTIAL_COLUMNS)).cast(kernel.partial_schema())
    return kernel.Partial(table=table, records=records, invalid_records=records - valid)
