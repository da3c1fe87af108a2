"""The result of a real run equals one computed by hand, however the data is split and run.

Each station-day's readings are spread over several objects, so the reduce really combines partials of one
group (sums, counts and maxima); the data is split two ways (3 and 7 objects) and run with several
``workers``/``chunksize`` values and both ways of submitting the reducer. Every run's ``result_sha256`` must
equal that of the expected table, computed here in plain Python from the readings: a wrong reduce (a min for
the max, a lost partial) gives the same wrong result on every config, which only a reference catches.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict

import pyarrow as pa
import pytest

from aqstudy.analysis import RESULT_SHA256_VERSION, result_sha256
from aqstudy.kernel.columns import KEY_COLUMNS, RESULT_COLUMNS
from aqstudy.study.runner import run_study

pytestmark = pytest.mark.integration

#: Stations as (country, city, location, coordinates, parameter, unit); ... = the field is absent.
STATIONS = [
    ("PL", "Warszawa", "Marszałkowska", (52.2297, 21.0122), "pm25", "µg/m³"),
    ("PL", "Warszawa", "Marszałkowska", (52.2297, 21.0122), "no2", "µg/m³"),
    ("PL", "Warszawa", "Targówek", (52.2297, 21.0122), "pm25", "µg/m³"),  # co-located with the first
    ("US", "Boston", "Roxbury", (42.3293, -71.0826), "no2", "ppm"),
    ("US", "Boston", "Roxbury", (42.3293, -71.0826), "o3", "ppm"),
    ("TW", "Taipei", "Wanhua", (25.0465, 121.5079), "so2", "ppm"),
    ("TW", "Taipei", "Wanhua", (25.0465, 121.5079), "so2", "µg/m³"),  # one gas, another unit: kept apart
    ("AF", None, "US Diplomatic Post: Kabul", (34.535812, 69.190514), "pm25", "µg/m³"),  # null city
    ("IN", ..., "Anand Vihar", ..., "pm10", "µg/m³"),  # no city, no coordinates
    ("CL", "Santiago", "Parque O'Higgins", None, "co", "ppm"),  # coordinates null
]
DAYS = ("2020-10-30", "2020-10-31", "2020-11-01")


def _readings(seed: int = 16) -> list[tuple[tuple, str, dict]]:
    """(group key, value as its JSON text, record) for every reading, a few invalid ones among them."""
    rng = random.Random(seed)
    readings = []
    for country, city, location, coordinates, parameter, unit in STATIONS:
        decimals = 4 if unit == "ppm" else 1
        for day in DAYS:
            for hour in range(0, 24, 2):
                value = f"{rng.lognormvariate(0, 0.6) * (0.02 if unit == 'ppm' else 25):.{decimals}f}"
                if rng.random() < 0.03:
                    value = rng.choice(("-999", "-0.5", '"12.5"'))  # invalid: counted, never aggregated
                record = {"date": {"utc": f"{day}T{hour:02d}:00:00.000Z"}, "parameter": parameter, "unit": unit,
                          "location": location, "country": country}
                if city is not ...:
                    record["city"] = city
                if coordinates is not ...:
                    record["coordinates"] = (None if coordinates is None else
                                             {"latitude": coordinates[0], "longitude": coordinates[1]})
                latitude, longitude = coordinates if isinstance(coordinates, tuple) else (None, None)
                key = (country, None if city is ... else city, location, latitude, longitude, parameter, unit, day)
                readings.append((key, value, record))
    return readings


def _line(value: str, record: dict) -> str:
    return json.dumps(record, ensure_ascii=False)[:-1] + f', "value": {value}}}\n'


def _expected(readings, analysis: str) -> pa.Table:
    """The result computed by hand: mean (exact sum) or maximum, and count, of each group's valid readings."""
    groups: dict[tuple, list[float]] = defaultdict(list)
    for key, value, _ in readings:
        number = json.loads(value)
        if isinstance(number, float | int) and number >= 0:
            groups[key].append(float(number))
    rows = [{**dict(zip(KEY_COLUMNS, key, strict=True)),
             "value": math.fsum(values) / len(values) if analysis == "day_average" else max(values),
             "count": len(values)} for key, values in groups.items()]
    schema = pa.schema([pa.field(name, pa.float64() if name in ("latitude", "longitude", "value") else
                                 pa.int64() if name == "count" else pa.string()) for name in RESULT_COLUMNS])
    return pa.Table.from_pylist(rows, schema=schema)


def _write(folder, readings, *, objects: int, seed: int) -> dict[tuple, set[int]]:
    """The readings shuffled and dealt into ``objects`` files; which files hold each group."""
    shuffled = random.Random(seed).sample(readings, len(readings))
    holders: dict[tuple, set[int]] = defaultdict(set)
    folder.mkdir()
    for index in range(objects):
        part = shuffled[index::objects]
        (folder / f"part-{index}.ndjson").write_text("".join(_line(value, record) for _, value, record in part))
        for key, _, _ in part:
            holders[key].add(index)
    return holders


#: (objects the readings are dealt into, overrides of each run on them).
LAYOUTS = [
    (3, [["workers=1", "chunksize=1"], ["workers=3", "chunksize=2"], ["workers=2", "backend.spawn_reducer=0"]]),
    (7, [["workers=2", "chunksize=auto"], ["workers=3", "chunksize=3", "backend.reduce_poll_s=null"],
         ["workers=4", "chunksize=1", "backend.spawn_reducer=0", "backend.reduce_poll_s=null"]]),
]


@pytest.mark.parametrize("analysis", ["day_average", "day_max"])
def test_every_split_and_config_gives_the_result_computed_by_hand(compose, tmp_path, analysis):
    readings = _readings()
    expected = result_sha256(_expected(readings, analysis))
    seen = []
    for objects, configs in LAYOUTS:
        folder = tmp_path / f"in-{objects}"
        holders = _write(folder, readings, objects=objects, seed=objects)
        assert min(len(files) for files in holders.values()) >= 2  # every group has partials to combine
        for overrides in configs:
            result = run_study(compose("dataset=local", f"dataset.path={folder}", "data_size=null",
                                       f"analysis={analysis}", *overrides))
            assert result.status == "FINISHED", result.error
            assert result.params["objects"] == objects
            assert result.tags["result_sha256_version"] == RESULT_SHA256_VERSION
            seen.append((objects, overrides, result.tags["result_sha256"]))
    assert all(digest == expected for *_, digest in seen), (expected, seen)
