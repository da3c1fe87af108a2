"""Map functions that misbehave on purpose, for the fault tests (importable by Lithops workers)."""

from __future__ import annotations

import os

from aqstudy.kernel.functions import map_object

#: Maps fail on the object whose key ends with this.
FAILING_SUFFIX = "part-00001.ndjson"


def fail_on_one_object(bucket: str, key: str, size: int, storage, sha256: str | None = None) -> dict:
    """The real map, except that it raises on one object."""
    if key.endswith(FAILING_SUFFIX):
        raise RuntimeError(f"injected failure on {key}")
    return map_object(bucket, key, size, storage, sha256)


def fail_once(bucket: str, key: str, size: int, storage, sha256: str | None = None) -> dict:
    """Raises the first time it sees the failing object (a marker file remembers), then behaves."""
    marker = os.path.join(os.environ["AQSTUDY_TEST_MARKERS"], key.replace("/", "_"))
    if key.endswith(FAILING_SUFFIX) and not os.path.exists(marker):
        open(marker, "w").close()
        raise RuntimeError(f"transient failure on {key}")
    return map_object(bucket, key, size, storage, sha256)


#: Bytes each :func:`with_ballast` output carries: four of them pass Lithops' 4 MiB cap on a job's data.
BALLAST_BYTES = 1_500_000


def with_ballast(bucket: str, key: str, size: int, storage, sha256: str | None = None) -> dict:
    """The real map, with an output as heavy as the original study's JSON partials."""
    return {**map_object(bucket, key, size, storage, sha256), "ballast": os.urandom(BALLAST_BYTES)}


def reduce_dropping_ballast(results: list[dict]) -> dict:
    """The real reduce, once it has checked and dropped the ballast."""
    from aqstudy.kernel.functions import reduce_partials

    assert all(len(result.pop("ballast")) == BALLAST_BYTES for result in results)
    return reduce_partials(results)


#: Shaped as AWS keys are (an access key id, a 40-character secret key), and fake.
FAKE_KEY_ID = "AKIA" + "FAKEKEYFORTESTS7"
FAKE_SECRET = "Fake/SecretKeyInAnException+abcdefABCDEF"


def fail_with_a_secret(bucket: str, key: str, size: int, storage, sha256: str | None = None) -> dict:
    """The real map, except that on one object it raises an error whose message holds a key pair."""
    if key.endswith(FAILING_SUFFIX):
        raise RuntimeError(f"cannot sign the request with {FAKE_KEY_ID}:{FAKE_SECRET}")
    return map_object(bucket, key, size, storage, sha256)


def interrupt_the_host(bucket: str, key: str, size: int, storage, sha256: str | None = None) -> dict:
    """The real map, except that on one object it sends SIGINT to the host process (``AQSTUDY_TEST_HOST_PID``)
    and then takes its time, as Ctrl-C pressed while the calls run."""
    import signal
    import time

    if key.endswith(FAILING_SUFFIX):
        os.kill(int(os.environ["AQSTUDY_TEST_HOST_PID"]), signal.SIGINT)
        time.sleep(2)
    return map_object(bucket, key, size, storage, sha256)
