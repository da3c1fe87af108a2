"""The study's data contract: which fields of an OpenAQ reading matter and what the result looks like.

One place for column names so the kernel, the reference implementation, the checksum and the reports agree.
"""

#: The seven pollutants of the OpenAQ realtime feed.
POLLUTANTS = ("pm25", "pm10", "o3", "no2", "so2", "co", "bc")

#: Group key of both analyses, in the order results are sorted and written.
KEY_COLUMNS = ("country", "city", "location", "latitude", "longitude", "parameter", "unit", "day")

#: Columns of ``result.csv``, exactly.
RESULT_COLUMNS = (*KEY_COLUMNS, "value", "count")

#: Columns of a map call's partial aggregate: the key plus what the reduce needs for mean and max.
PARTIAL_COLUMNS = (*KEY_COLUMNS, "sum", "count", "max")

#: Analyses and the partial column each one turns into ``value``.
ANALYSES = ("day_average", "day_max")

#: Decimal places ``value``, ``latitude`` and ``longitude`` are rounded to before hashing a result, so that
#: float summation order (which differs with partitioning) cannot change the checksum.
CHECKSUM_DECIMALS = 6
