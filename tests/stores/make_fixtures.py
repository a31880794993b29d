"""Write the committed store fixtures with the trackers' own clients (store_writers.py).

    pip install -e '.[test,test-trackers]' wandb && python tests/stores/make_fixtures.py

Each store is packed as fixtures/<name>.tar.gz; fixtures/VERSIONS.txt records which client
version wrote it. The tests write fresh stores when the client is installed and read these
otherwise, so a machine without the trackers still tests the readers on real files.
"""

from __future__ import annotations

import importlib.metadata
import shutil
import sys
import tarfile
import tempfile
from pathlib import Path

import store_writers as writers

FIXTURES = Path(__file__).parent / "fixtures"


def pack(name: str, root: Path) -> None:
    """root's content as fixtures/<name>.tar.gz, paths relative to root, no owner or times."""

    def clean(info: tarfile.TarInfo) -> tarfile.TarInfo:
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.mtime = 0
        return info

    with tarfile.open(FIXTURES / f"{name}.tar.gz", "w:gz") as tar:
        for path in sorted(root.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False, filter=clean)


def main() -> None:
    curve = writers.curve_from_log()
    versions = []
    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        for name, write in (
            (
                "mlflow_db",
                lambda d: writers.write_mlflow(
                    f"sqlite:///{d / 'mlflow.db'}", curve, runs=("overfit", "overfit-again")
                ),
            ),
            ("mlruns", lambda d: writers.write_mlflow((d / "mlruns").as_uri(), curve)),
            ("trackio", lambda d: writers.write_trackio(d, curve, runs=("overfit", "again"))),
            ("hf_output", lambda d: writers.write_hf_output(d / "out", curve)),
            ("wandb", lambda d: _wandb(d, curve)),
        ):
            root = work / name
            root.mkdir()
            write(root)
            for junk in root.rglob("*.lock"):  # trackio's process lock: not part of the store
                junk.unlink()
            pack(name, root)
        for package in ("mlflow-skinny", "trackio", "transformers", "safetensors", "wandb"):
            versions.append(f"{package}=={importlib.metadata.version(package)}")
    (FIXTURES / "VERSIONS.txt").write_text("written by make_fixtures.py with:\n" + "\n".join(versions) + "\n")


def _wandb(directory: Path, curve: writers.Curve) -> None:
    run = writers.write_wandb(directory, writers.OVERFIT_LOG, curve)
    for extra in ("logs", "tmp"):  # wandb's own debug logs and scratch space
        shutil.rmtree(run / extra, ignore_errors=True)
    (run / "files" / "requirements.txt").unlink(missing_ok=True)  # this machine's packages
    for path in (directory / "wandb").iterdir():
        if path != run:
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


if __name__ == "__main__":
    sys.exit(main())
