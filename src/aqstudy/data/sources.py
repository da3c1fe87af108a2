"""The dataset plug-ins by name: ``dataset=X`` is ``conf/dataset/X.yaml`` and the module ``aqstudy.data.X``
(the synthetic generator, a local folder, the public OpenAQ archive), which exports ``SCHEMA`` and ``DATASET``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aqstudy.data.source import DatasetError, Source

if TYPE_CHECKING:
    from aqstudy.data.source import Dataset

__all__ = ["DatasetError", "dataset_named", "source_from_config", "planned_sizes"]


def dataset_named(name: str) -> Dataset:
    """The plug-in of dataset ``name``."""
    from aqstudy.backends import _plugin

    return _plugin("aqstudy.data", name, "DATASET", kind="dataset")


def source_from_config(dataset: Any, *, data_size_gb: float | None, progress: bool = True) -> Source:
    """The source described by the ``dataset`` config (its objects are listed, not loaded)."""
    return dataset_named(dataset.name).source(dataset, data_size_gb=data_size_gb, progress=progress)


def planned_sizes(dataset: Any, *, data_size_gb: float | None) -> list[int]:
    """Sizes in bytes of the objects a run would read, from the config alone (no download, nothing staged)."""
    return dataset_named(dataset.name).planned_sizes(dataset, data_size_gb=data_size_gb)
