"""Compile the classifier's modules with mypyc, in place (``make install`` runs this).

Classification is most of the CPU an inbound message costs, and it is plain typed
Python that ``mypy --strict`` already checks, which is what mypyc compiles to C: the
same source, about 1.25 times faster on the bench_intake backlog (paired runs), nothing to keep in
step by hand. The extension modules land beside their sources (``worker/core/*.so``,
git-ignored) with a manifest of the sources' digests; ``worker/_native.py`` loads
them only while every digest still matches, so an edited source is never shadowed by
a stale build (it runs as plain Python until the next ``make install``).

``python scripts/build_native.py`` builds; ``--clean`` removes the build. With
``OPTOUT_PURE_PYTHON=1`` in the environment the package ignores the build.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORE = ROOT / "worker" / "core"
#: the modules a message's classification runs through (worker.core.prepared down);
#: the rest of worker/ stays interpreted: it is I/O-bound or monkeypatched by tests
MODULES = (
    "addresses",
    "bounces",
    "classify",
    "complaints",
    "headers_text",
    "intent",
    "message",
    "phrases",
    "prepared",
    "quotes",
    "signals",
    "verdict",
)
#: the shared library's name: mypyc puts it at top level; it is moved into worker/core
GROUP = "optout_native"
MANIFEST = CORE / "_native.json"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def built() -> list[Path]:
    return sorted(p for p in CORE.iterdir() if p.suffix == ".so")


def clean() -> None:
    for path in built():
        path.unlink()
    MANIFEST.unlink(missing_ok=True)


def build() -> None:
    from mypyc.build import mypycify
    from setuptools import Distribution

    clean()  # a half-replaced build must never load
    sources = [CORE / f"{name}.py" for name in MODULES]
    with tempfile.TemporaryDirectory(prefix="optout-mypyc-") as tmp:
        cwd = Path.cwd()
        os.chdir(ROOT)  # mypyc names the modules after paths relative to here
        try:
            ext = mypycify(
                [str(p.relative_to(ROOT)) for p in sources],
                opt_level="3",
                group_name=GROUP,
                target_dir=str(Path(tmp) / "c"),
            )
            dist = Distribution({"name": "optout-native", "ext_modules": ext})
            cmd = dist.get_command_obj("build_ext")
            cmd.inplace = True
            cmd.build_temp = str(Path(tmp) / "temp")
            cmd.ensure_finalized()
            cmd.run()
        finally:
            os.chdir(cwd)
    for lib in ROOT.glob(f"{GROUP}__mypyc.*.so"):
        shutil.move(str(lib), CORE / lib.name)
    names = {p.name.split(".", 1)[0] for p in built()}
    missing = sorted({*MODULES, f"{GROUP}__mypyc"} - names)
    if missing:
        clean()
        raise SystemExit(f"mypyc build incomplete, nothing installed: {missing} missing")
    MANIFEST.write_text(
        json.dumps(
            {"group": GROUP, "sources": {n: digest(CORE / f"{n}.py") for n in MODULES}},
            indent=2,
        )
        + "\n"
    )


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clean", action="store_true", help="remove the build")
    args = parser.parse_args(argv)
    if args.clean:
        clean()
    else:
        build()
        print(f"compiled {len(MODULES)} modules of worker/core with mypyc")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
