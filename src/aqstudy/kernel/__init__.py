"""What runs inside a Lithops function: the scanner, the partial aggregates, the map and reduce entry points.

Nothing is imported here eagerly: a function's start-up pays only for the modules it uses.
"""


def warm() -> None:
    """Import the map's modules and load the compiled scanner (named in ``backend.preload`` as
    ``aqstudy.kernel:warm``); see :func:`aqstudy.kernel.aggregate.warm`."""
    from aqstudy.kernel.aggregate import warm as warm_aggregate

    warm_aggregate()
