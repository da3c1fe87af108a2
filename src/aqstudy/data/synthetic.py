"""A deterministic generator of OpenAQ "realtime" NDJSON, so the study runs with no download.

The shape follows the real archive (``openaq-fetches/realtime``): one JSON object per line with ``date``,
``parameter``, ``value``, ``unit``, ``averagingPeriod``, ``location``, ``city``, ``country``,
``coordinates``, ``attribution``, ``sourceName``, ``sourceType`` and ``mobile``. It also has what makes the
analysis non-trivial: stations without a city or coordinates, stations sharing coordinates, ppm and µg/m³
for the same gas in different countries, and a small share of invalid readings (the -999 sentinel and
small negatives). Object ``i`` depends only on ``(seed, i)``, so any object can be made on its own.
"""

from __future__ import annotations

import gzip
import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from omegaconf import MISSING

from aqstudy.config.schema import DatasetConfig
from aqstudy.data.source import Dataset, DatasetError, Source, SourceObject, fingerprint_of
from aqstudy.kernel.columns import POLLUTANTS

#: Bump when the generator's output changes, so old staged copies are not reused.
SYNTHETIC_FORMAT = 1

#: Countries, a UTC offset for ``date.local`` and whether gases are reported in ppm there (as in the US
#: and Taiwan feeds) or in µg/m³ (as in the EEA feeds).
_COUNTRIES = (
    ("US", -5, True), ("TW", 8, True), ("CL", -3, True), ("PL", 1, False), ("DE", 1, False),
    ("GB", 0, False), ("FR", 1, False), ("IN", 5.5, False), ("AF", 4.5, False), ("ES", 1, False),
    ("GR", 2, False), ("TH", 7, False), ("CA", -5, True), ("AU", 10, False), ("MX", -6, True),
)
_SOURCES = ("AirNow", "EEA", "Taiwan", "CPCB", "StateAir", "Sinaica", "GIOS", "DEFRA")
_GASES = ("o3", "no2", "so2", "co")
#: Typical level of each pollutant in µg/m³ and ppm; readings scatter around it.
_LEVEL_UGM3 = {"pm25": 18.0, "pm10": 32.0, "o3": 60.0, "no2": 25.0, "so2": 6.0, "co": 400.0, "bc": 1.5}
_LEVEL_PPM = {"o3": 0.03, "no2": 0.012, "so2": 0.002, "co": 0.35}
_EPOCH = datetime(2020, 10, 31, tzinfo=UTC)


@dataclass(frozen=True)
class _Series:
    """One station measuring one pollutant: everything of a line but the time and the value."""

    prefix: str
    suffix: str
    level: float
    decimals: int
    local_offset_h: float


def _stations(seed: int, station_count: int) -> list[dict]:
    rng = random.Random(f"stations-{seed}")
    stations = []
    for index in range(station_count):
        country, offset_h, gases_in_ppm = _COUNTRIES[index % len(_COUNTRIES)]
        station = {
            "location": f"{rng.choice(_SOURCES)} station {index:05d}",
            "country": country,
            "offset_h": offset_h,
            "ppm": gases_in_ppm,
            "source": f"{rng.choice(_SOURCES)}_{country}",
            "pollutants": sorted(rng.sample(POLLUTANTS, rng.randint(1, 5)), key=POLLUTANTS.index),
        }
        # About 4% of stations have no city: half null, half absent (both occur in the archive).
        roll = rng.random()
        station["city"] = None if roll < 0.02 else ("<absent>" if roll < 0.04 else f"City {index % 397}")
        roll = rng.random()
        if roll < 0.03:
            station["coordinates"] = None
        elif roll < 0.06 and stations:
            # Co-located stations (several networks on one roof) share the coordinates of an earlier one.
            station["coordinates"] = stations[-1]["coordinates"] or (52.23, 21.01)
        else:
            station["coordinates"] = (round(rng.uniform(-55, 70), 6), round(rng.uniform(-170, 175), 6))
        stations.append(station)
    return stations


def _series(seed: int, station_count: int) -> list[_Series]:
    """Pre-render the constant parts of every line: a line is then two string joins and two numbers."""
    series = []
    for station in _stations(seed, station_count):
        for pollutant in station["pollutants"]:
            in_ppm = station["ppm"] and pollutant in _GASES
            unit = "ppm" if in_ppm else "µg/m³"
            level = (_LEVEL_PPM if in_ppm else _LEVEL_UGM3)[pollutant]
            head = {"parameter": pollutant}
            tail = {
                "unit": unit,
                "averagingPeriod": {"value": 1, "unit": "hours"},
                "location": station["location"],
            }
            if station["city"] != "<absent>":
                tail["city"] = station["city"]
            tail["country"] = station["country"]
            if station["coordinates"] is not None:
                lat, lon = station["coordinates"]
                tail["coordinates"] = {"latitude": lat, "longitude": lon}
            tail["attribution"] = [{"name": station["source"], "url": "http://example.org/openaq-source"}]
            tail["sourceName"] = station["source"]
            tail["sourceType"] = "government"
            tail["mobile"] = False
            prefix = json.dumps(head, ensure_ascii=False)[:-1] + ', "value": '
            suffix = ", " + json.dumps(tail, ensure_ascii=False)[1:]
            series.append(_Series(prefix, suffix, level, 4 if in_ppm else 1, station["offset_h"]))
    return series


class SyntheticOpenAQ:
    """Objects of OpenAQ-style NDJSON, each about ``object_bytes`` long, reproducible from ``seed``.

    :param seed: makes the data; the same seed gives byte-identical objects.
    :param station_count: stations in the network (each measures 1 to 5 pollutants).
    :param object_bytes: target size of one object in bytes (the study used ~25 MB).
    :param invalid_share: share of readings that are invalid (-999 sentinel or a small negative value).
    """

    def __init__(self, *, seed: int, station_count: int, object_bytes: int, invalid_share: float = 0.01):
        self.seed = seed
        self.object_bytes = object_bytes
        self.invalid_share = invalid_share
        self._series = _series(seed, station_count)

    def object_bytes_for(self, index: int) -> bytes:
        """The NDJSON bytes of object ``index``: successive hourly sweeps over the stations.

        Each object holds consecutive hours of the whole network, so days span objects and a day's groups
        are split between map calls, as in the real archive.
        """
        rng = random.Random(f"object-{self.seed}-{index}")
        lines: list[str] = []
        written = 0
        # Hours are numbered globally so that object i+1 continues where object i stopped.
        line_bytes = 470
        hours_per_object = max(1, round(self.object_bytes / (line_bytes * len(self._series))))
        hour = index * hours_per_object
        while written < self.object_bytes:
            utc = _EPOCH + timedelta(hours=hour, minutes=rng.choice((0, 0, 30)))
            for series in self._series:
                roll = rng.random()
                if roll < self.invalid_share / 2:
                    value = "-999"
                elif roll < self.invalid_share:
                    value = f"{-rng.random():.{series.decimals}f}"
                else:
                    value = f"{rng.lognormvariate(0, 0.6) * series.level:.{series.decimals}f}"
                local = utc + timedelta(hours=series.local_offset_h)
                line = (
                    f'{{"date": {{"utc": "{utc:%Y-%m-%dT%H:%M:%S}.000Z", "local": "{local:%Y-%m-%dT%H:%M:%S}'
                    f'{_offset(series.local_offset_h)}"}}, {series.prefix[1:]}{value}{series.suffix}\n'
                )
                lines.append(line)
                written += len(line) + 2  # µ and ³ are two bytes each in UTF-8; close enough for sizing
                if written >= self.object_bytes:
                    break
            hour += 1
        return "".join(lines).encode()


def _offset(hours: float) -> str:
    sign = "-" if hours < 0 else "+"
    minutes = round(abs(hours) * 60)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass
class SyntheticDatasetConfig(DatasetConfig):
    """``conf/dataset/synthetic.yaml``."""

    seed: int = MISSING
    station_count: int = MISSING
    object_mb: float = MISSING
    invalid_share: float = MISSING
    compression: str = MISSING


def synthetic_source(*, seed: int, station_count: int, object_mb: float, data_size_gb: float,
                     invalid_share: float = 0.01, compression: str = "none") -> Source:
    """The synthetic OpenAQ dataset of ``data_size_gb`` GB in objects of ``object_mb`` MB.

    :param seed: makes the data; same seed, same bytes.
    :param station_count: stations of the synthetic network.
    :param object_mb: size of one object in MB (10^6 bytes), before compression.
    :param data_size_gb: total input in GB (10^9 bytes), before compression.
    :param invalid_share: share of invalid readings.
    :param compression: ``none`` or ``gzip``: how objects are stored.
    """
    if data_size_gb is None or data_size_gb <= 0:
        raise DatasetError(f"data_size={data_size_gb} must be a positive number of GB for the synthetic dataset")
    if object_mb <= 0:
        raise DatasetError(f"dataset.object_mb={object_mb} must be positive")
    if compression not in ("none", "gzip"):
        raise DatasetError(f"dataset.compression={compression!r} is not known; choose none or gzip")
    object_bytes = int(object_mb * 1e6)
    count = max(1, round(data_size_gb * 1e9 / object_bytes))
    generator: SyntheticOpenAQ | None = None

    def loader(index: int) -> Callable[[], bytes]:
        def load() -> bytes:
            nonlocal generator
            generator = generator or SyntheticOpenAQ(
                seed=seed, station_count=station_count, object_bytes=object_bytes, invalid_share=invalid_share
            )
            data = generator.object_bytes_for(index)
            return gzip.compress(data, compresslevel=6, mtime=0) if compression == "gzip" else data

        return load

    suffix = ".ndjson.gz" if compression == "gzip" else ".ndjson"
    payload = {"format": SYNTHETIC_FORMAT, "seed": seed, "stations": station_count, "object_bytes": object_bytes,
               "objects": count, "invalid_share": invalid_share, "compression": compression}
    return Source(
        name="synthetic",
        fingerprint=fingerprint_of(payload),
        objects=[SourceObject(f"part-{i:05d}{suffix}", loader(i), object_bytes) for i in range(count)],
        description=f"synthetic OpenAQ, seed {seed}, {count} objects of {object_mb:g} MB",
    )


class SyntheticDataset(Dataset):
    name = "synthetic"

    def source(self, dataset: Any, *, data_size_gb: float | None, progress: bool) -> Source:
        return synthetic_source(seed=dataset.seed, station_count=dataset.station_count, object_mb=dataset.object_mb,
                                data_size_gb=data_size_gb, invalid_share=dataset.invalid_share,
                                compression=dataset.compression)

    def check(self, dataset: Any) -> None:
        self.check_objects(dataset)

    def planned_sizes(self, dataset: Any, *, data_size_gb: float | None) -> list[int]:
        object_bytes = self.object_bytes(dataset, data_size_gb=data_size_gb)
        return [object_bytes] * max(1, round(data_size_gb * 1e9 / object_bytes))


SCHEMA = SyntheticDatasetConfig
DATASET = SyntheticDataset()
