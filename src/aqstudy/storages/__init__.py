"""Object storages as plug-ins found by name: where the dataset and Lithops' job files live.

``storage=X`` selects ``conf/storage/X.yaml`` and the module ``aqstudy.storages.X`` (see
:mod:`aqstudy.storages.base`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aqstudy.storages.base import Storage


def storage_named(name: str) -> Storage:
    """The plug-in of storage ``name``."""
    from aqstudy.backends import _plugin

    return _plugin("aqstudy.storages", name, "STORAGE", kind="storage")
