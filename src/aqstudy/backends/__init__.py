"""Compute backends as plug-ins found by name, and the Lithops adapter they share.

``backend=X`` on the command line selects ``conf/backend/X.yaml`` and the module ``aqstudy.backends.X``
(see :mod:`aqstudy.backends.base`). Adding a backend is adding that module and that YAML file.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aqstudy.backends.base import Backend


def backend_named(name: str) -> Backend:
    """The plug-in of backend ``name``."""
    return _plugin("aqstudy.backends", name, "BACKEND", kind="backend")


def _plugin(package: str, name: str, attribute: str, *, kind: str):
    from aqstudy.config import ConfigError
    from aqstudy.study.paths import PROJECT_ROOT

    try:
        module = importlib.import_module(f"{package}.{name}")
    except ModuleNotFoundError as error:
        if error.name != f"{package}.{name}":
            raise  # the plug-in exists but something it imports does not
        module = None
    if module is None or not hasattr(module, attribute):
        known = sorted(p.stem for p in (PROJECT_ROOT / "conf" / kind).glob("*.yaml"))
        raise ConfigError(f"{kind}={name!r} is not known; choose one of {', '.join(known)}")
    return getattr(module, attribute)
