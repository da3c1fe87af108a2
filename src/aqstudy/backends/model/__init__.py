"""The model backend: predict a Lithops job on AWS Lambda (or on this machine) instead of running it.

``parameters`` holds every number with its source, ``calibration`` reads what ``make calibrate``
(:mod:`aqstudy.backends.model.calibrate`) measured here, ``simulator`` plays the job out as a discrete-event
simulation whose calls have the columns of a real run's ``calls.csv``.
"""
