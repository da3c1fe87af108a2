"""Can this machine build the map's scanner (a C extension, see setup.py)? One line naming the fix if not.

    python runtime/check_compiler.py

Run by ``make setup`` and by the Lambda image's build before the package is installed, so a missing compiler
or missing Python headers stop the build with the fix instead of a compiler's traceback. Standard library only.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
import sysconfig


def problem() -> str | None:
    """What is missing to build a C extension for this interpreter, with the fix; None when nothing is."""
    compiler = shlex.split(os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc")[0]
    if shutil.which(compiler) is None:
        return (f"no C compiler ({compiler}) to build the map's scanner: install one (Debian/Ubuntu: apt-get install "
                "gcc; Fedora/Amazon Linux: dnf install gcc; macOS: xcode-select --install) or set CC, then run make "
                "setup again")
    headers = os.path.join(sysconfig.get_paths()["include"], "Python.h")
    if not os.path.exists(headers):
        return (f"no Python headers ({headers}) to build the map's scanner: install them (Debian/Ubuntu: apt-get "
                f"install python{sys.version_info.major}.{sys.version_info.minor}-dev) or use a Python that has them, "
                "then run make setup again")
    return None


if __name__ == "__main__":
    message = problem()
    if message:
        print(message, file=sys.stderr)
    sys.exit(1 if message else 0)
