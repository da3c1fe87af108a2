"""``backend=model``: predict a Lithops job on AWS Lambda (or on this machine) instead of running it.

``parameters`` holds every number with its source, ``calibration`` reads what ``make calibrate``
(:mod:`aqstudy.backends.model.calibrate`) measured here, ``platforms`` turns both into what the simulator plays
the job on, ``simulator`` plays it out as a discrete-event simulation whose calls have the columns of a real
run's ``calls.csv``, and ``plugin``/``adapter`` make a tracked run of it. See docs/model.md.
"""

from aqstudy.backends.model.plugin import BACKEND, SCHEMA

__all__ = ["BACKEND", "SCHEMA"]
