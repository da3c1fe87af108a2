"""``make mutate``: mutation testing of the study's pure core, and its score as the last line printed.

mutmut copies ``src/`` to ``mutants/``, where every function of the files in ``[tool.mutmut] only_mutate``
(pyproject.toml) can be switched to a mutant: one small change (an operator, a constant, a string, an argument
left out). It runs the fast tests once to learn which tests call which function, then, for each mutant of
the functions in :data:`CORE`, forks and runs the tests that call it: the mutant is *killed* when one fails,
it *survived* when none does. A mutant no fast test reaches counts as survived. What survives and why is in
docs/mutation.md.

    make mutate                  # a fresh run: mutants/ is made anew (the figure to report)
    make mutate ARGS=--reuse     # re-check only what the last run did not kill (for iterating on tests)

Last line: ``killed=… survived=… score=…`` (score = killed / (killed + survived)).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The pure core under test: module → the functions scored (None: every function mutmut mutates there).
CORE: dict[str, tuple[str, ...] | None] = {
    "aqstudy.analysis": None,  # the analyses' semantics and the checksum
    # The line reader: the semantics line by line (the compiled scanner is checked against it).
    "aqstudy.kernel.aggregate": ("_text", "_number", "_coordinates", "reading_key", "valid_value", "_int_token",
                                 "_float_token", "_python_json", "_has_lone_surrogate", "_parse_line",
                                 "scan_lines", "_RawNumber.of"),
    "aqstudy.measure.cost": None,
    "aqstudy.measure.invocations": None,  # which calls share an invocation, so what is billed
    "aqstudy.measure.metrics": None,
    "aqstudy.measure.usage": None,
    "aqstudy.sweeps.fingerprint": None,
    "aqstudy.study.runner": ("find_finished_run",),  # the resume lookup; the rest of the runner is an adapter
    "aqstudy.study.redaction": None,
}

#: mutmut's exit codes by verdict (mutmut/stats.py). A mutant whose tests ran out of time or crashed was
#: caught too: the tests did not pass with it.
_FAILED_TESTS = {1, 3}
_TIMED_OUT = {24, -24, 152, 255, 36}
_CRASHED = {-9, -11}
_KILLED = _FAILED_TESTS | _TIMED_OUT | _CRASHED
_SURVIVED = {0}
_NOT_REACHED = {5, 33}


def _patterns() -> list[str]:
    """mutmut's mutant names of :data:`CORE`: ``module.x_function__mutmut_N``, ``module.xǁClassǁmethod__mutmut_N``."""
    patterns = []
    for module, functions in CORE.items():
        if functions is None:
            patterns.append(f"{module}.x*__mutmut_*")
            continue
        for function in functions:
            owner, _, name = function.rpartition(".")
            patterns.append(f"{module}.xǁ{owner}ǁ{name}__mutmut_*" if owner else f"{module}.x_{name}__mutmut_*")
    return patterns


def _check_config() -> None:
    """The files mutmut mutates are the modules of :data:`CORE`, no more, no fewer."""
    configured = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mutmut"]["only_mutate"]
    expected = {f"src/{module.replace('.', '/')}.py" for module in CORE}
    if set(configured) != expected:
        sys.exit(f"error: [tool.mutmut] only_mutate in pyproject.toml lists {sorted(configured)}; "
                 f"make it the modules of CORE in tools/mutate.py: {sorted(expected)}")


def _verdicts(patterns: list[str]) -> dict[str, int | None]:
    """Each scored mutant's exit code, from mutmut's ``.meta`` files."""
    from fnmatch import fnmatchcase

    verdicts = {}
    for meta in sorted((ROOT / "mutants").rglob("*.py.meta")):
        for name, code in json.loads(meta.read_text())["exit_code_by_key"].items():
            if any(fnmatchcase(name, pattern) for pattern in patterns):
                verdicts[name] = code
    return verdicts


def _diff(name: str) -> str:
    """The changed lines of one mutant, as ``mutmut show`` prints them."""
    shown = subprocess.run([sys.executable, "-m", "mutmut", "show", name], cwd=ROOT, capture_output=True, text=True)
    return "\n".join(line for line in shown.stdout.splitlines()
                     if line[:1] in "-+" and not line.startswith(("---", "+++")))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reuse", action="store_true",
                        help="keep mutants/ and its kills; re-check only the mutants the last run did not kill")
    args = parser.parse_args()
    _check_config()
    patterns = _patterns()
    to_check = patterns
    if args.reuse:
        # Tests added since cannot revive a killed mutant; the source must not have changed meanwhile.
        to_check = sorted(name for name, code in _verdicts(patterns).items() if code not in _KILLED) or patterns
    else:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    started = time.monotonic()
    (ROOT / "mutants").mkdir(exist_ok=True)
    log_path = ROOT / "mutants" / "mutmut-run.log"
    print(f"mutmut over {len(CORE)} modules of the core, fast tests only (log: {log_path.relative_to(ROOT)})",
          flush=True)
    with log_path.open("w") as log:
        # mutmut's "mutants/" is relative to the working directory: run it from the checkout's root.
        done = subprocess.run([sys.executable, "-m", "mutmut", "run", *to_check], cwd=ROOT, stdout=log,
                              stderr=subprocess.STDOUT)
    elapsed_s = time.monotonic() - started
    if done.returncode != 0:
        print(log_path.read_text()[-3000:])
        print(f"error: mutmut exited {done.returncode}; its output is in {log_path}")
        return 1

    verdicts = _verdicts(patterns)
    killed = sorted(name for name, code in verdicts.items() if code in _KILLED)
    survived = sorted(name for name, code in verdicts.items() if code in _SURVIVED)
    not_reached = sorted(name for name, code in verdicts.items() if code in _NOT_REACHED)
    other = Counter(code for code in verdicts.values() if code not in _KILLED | _SURVIVED | _NOT_REACHED)
    if other:
        print(f"error: mutants without a verdict (exit code: count): {dict(other)}; see {log_path}")
        return 1
    by_module = Counter(name.partition(".x")[0] for name in verdicts)
    lost = Counter(name.partition(".x")[0] for name in survived + not_reached)
    caught_otherwise = sum(1 for code in verdicts.values() if code in _TIMED_OUT | _CRASHED)
    checked = f"{len(to_check)} re-checked" if to_check is not patterns else "all checked"
    print(f"{len(verdicts)} mutants, {checked} in {elapsed_s / 60:.1f} min ({caught_otherwise} of the killed by a "
          "timeout or a crash)")
    for module in CORE:
        total = by_module[module]
        print(f"  {module:<28} {total - lost[module]:>4} of {total:>4} killed")
    for title, names in (("survived", survived), ("reached by no fast test", not_reached)):
        if names:
            print(f"\n{title}:")
            for name in names:
                print(f"{name}\n{_diff(name)}")
    missed = len(survived) + len(not_reached)
    score = len(killed) / (len(killed) + missed) if verdicts else 0.0
    print(f"\nkilled={len(killed)} survived={missed} score={score:.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
