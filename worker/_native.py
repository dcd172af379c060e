"""Which build of the classifier runs: the mypyc one in ``worker/core``, or its sources.

``scripts/build_native.py`` (run by ``make install``) may have compiled the classifier's
modules in ``worker/core``. The build is used only while it is a build of these very
sources: its manifest names each compiled module with its source's digest, and when any
differs (a source edited since), or with ``OPTOUT_PURE_PYTHON=1``, every one of them is
imported from its source instead. All or none: compiled modules call each other
directly, so one stale module would go on running inside the fresh ones.

This runs from ``worker/__init__.py``, before any ``worker.core`` module is imported; it
lives here, not in ``worker/core``, because it reads files and ``worker/core`` does no I/O.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

_HERE = Path(__file__).resolve().parent / "core"
_PACKAGE = "worker.core"
_MANIFEST = _HERE / "_native.json"


def _compiled_modules() -> dict[str, str]:
    """{module: source digest} of a build that is present, else {}."""
    try:
        manifest = json.loads(_MANIFEST.read_text())
        return {str(k): str(v) for k, v in manifest["sources"].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        return {}


def _current(modules: dict[str, str]) -> bool:
    for name, expected in modules.items():
        try:
            if hashlib.sha256((_HERE / f"{name}.py").read_bytes()).hexdigest() != expected:
                return False
        except OSError:
            return False
    return True


def _load_shared_library() -> bool:
    """mypyc's shared library, which its module stubs import by a top-level name."""
    found = False
    for lib in _HERE.glob("*__mypyc.*.so"):
        found = True
        name = lib.name.split(".", 1)[0]
        if name in sys.modules:
            continue
        loader = importlib.machinery.ExtensionFileLoader(name, str(lib))
        spec = importlib.util.spec_from_file_location(name, lib, loader=loader)
        if spec is None:  # pragma: no cover - a path Python cannot load from
            return False
        module: ModuleType = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        loader.exec_module(module)
    return found


class _FromSource(importlib.abc.MetaPathFinder):
    """Imports the named modules of this package from their ``.py`` files."""

    def __init__(self, names: set[str]) -> None:
        self.names = {f"{_PACKAGE}.{n}" for n in names}

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        return importlib.util.spec_from_file_location(
            fullname, _HERE / f"{fullname.rpartition('.')[2]}.py"
        )


def _choose() -> tuple[str, ...]:
    modules = _compiled_modules()
    built = {p.name.split(".", 1)[0] for p in _HERE.glob("*.so") if "__mypyc" not in p.name}
    if not modules and not built:
        return ()
    if modules and not os.environ.get("OPTOUT_PURE_PYTHON") and _current(modules):
        try:
            if _load_shared_library():
                return tuple(sorted(modules))
        except ImportError:  # built for another Python, say: run as plain Python
            pass
    sys.meta_path.insert(0, _FromSource(set(modules) | built))
    return ()


#: the modules of ``worker.core`` that run compiled (empty: all run as plain Python)
COMPILED: tuple[str, ...] = _choose()
