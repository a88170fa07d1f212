"""Downloads of the datasets with stable public URLs: checksummed, resumable, atomic, with a progress bar.

Each file is fetched into ``NAME.part`` (continued with an HTTP Range request when a previous transfer broke),
its MD5 is checked against the published value, and only then is it renamed to its final name. ``WGANLAB_MIRROR``
(or ``mirror=``) replaces every base URL, for mirrors and for tests that serve fixtures on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from wganlab.errors import DataError

CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    name: str
    md5: str


@dataclass(frozen=True)
class RemoteDataset:
    base_url: str
    files: tuple[RemoteFile, ...]
    extract: bool = False  # a tar.gz archive to unpack in place
    marker: str = ""  # a path that exists once the dataset is usable


_MNIST_FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
                "t10k-labels-idx1-ubyte.gz")


def _idx_dataset(base_url: str, md5s: tuple[str, str, str, str]) -> RemoteDataset:
    """The four gzipped IDX files of an MNIST-style dataset."""
    files = tuple(RemoteFile(name, md5) for name, md5 in zip(_MNIST_FILES, md5s, strict=True))
    return RemoteDataset(base_url, files, marker=_MNIST_FILES[0])


REMOTE = {
    "mnist": _idx_dataset("https://ossci-datasets.s3.amazonaws.com/mnist/", (
        "f68b3c2dcbeaaa9fbdd348bbdeb94873", "d53e105ee54ea40749a09fcbcd1e9432",
        "9fb629c4189551a2d022fa330f9573f3", "ec29112dd5afa0611ce80d1b7f02629c")),
    "fashion-mnist": _idx_dataset("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/", (
        "8d4fb7e6c68d591d4c3dfef9ec88bf0d", "25c81989df183df01b3e8a0aad5dffbe",
        "bef4ecab320f06d8554ea6380940ec79", "bb300cfdad3c16e7a12a480ee83cd310")),
    "cifar10": RemoteDataset("https://www.cs.toronto.edu/~kriz/",
                             (RemoteFile("cifar-10-python.tar.gz", "c58f30108f718f92721af3b95e74349a"),),
                             extract=True, marker="cifar-10-batches-py"),
    "cifar100": RemoteDataset("https://www.cs.toronto.edu/~kriz/",
                              (RemoteFile("cifar-100-python.tar.gz", "eb9058c3a382ffc7106e4002c42a8d85"),),
                              extract=True, marker="cifar-100-python"),
}
MANUAL = {
    "celeba": "img_align_celeba/ and list_eval_partition.txt from the CelebA site (Google Drive)",
    "lsun": "a category's LMDB export or an image folder (the LSUN download script)",
}


def md5_of(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(name: str, root: Path, mirror: str | None = None, progress: bool = True,
             timeout: float = 60.0) -> Path:
    """Fetch dataset ``name`` into ``root/name`` and return that folder; existing verified files are kept."""
    if name not in REMOTE:
        known = ", ".join(REMOTE)
        raise DataError(f"'{name}' cannot be downloaded by wganlab (known: {known}); "
                        f"{MANUAL.get(name, 'see wganlab data list')}")
    spec = REMOTE[name]
    target = Path(root) / name
    target.mkdir(parents=True, exist_ok=True)
    base = mirror or os.environ.get("WGANLAB_MIRROR") or spec.base_url
    for remote in spec.files:
        path = target / remote.name
        if path.is_file() and md5_of(path) == remote.md5:
            continue
        fetch(base.rstrip("/") + "/" + remote.name, path, remote.md5, progress=progress, timeout=timeout)
        if spec.extract:
            extract_tar(path, target)
    return target


def fetch(url: str, path: Path, md5: str, progress: bool = True, timeout: float = 60.0) -> None:
    """Download ``url`` to ``path`` through ``path.part``, resuming a partial file, verifying ``md5``."""
    part = path.with_name(path.name + ".part")
    have = part.stat().st_size if part.is_file() else 0
    request = urllib.request.Request(url, headers={"Range": f"bytes={have}-"} if have else {})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        if err.code == 416 and have:  # the part file is already complete
            response = None
        else:
            raise DataError(f"download of {url} failed: HTTP {err.code} {err.reason}") from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DataError(f"cannot reach {url} ({reason}); check the network or set WGANLAB_MIRROR") from None
    if response is not None:
        with response:
            resumed = response.status == 206
            if not resumed:
                have = 0
            length = response.headers.get("Content-Length")
            total = have + int(length) if length is not None else None
            _stream(response, part, have, total, url, progress)
    got = md5_of(part)
    if got != md5:
        part.unlink(missing_ok=True)
        raise DataError(f"checksum mismatch for {path.name}: expected MD5 {md5}, got {got}; the file was deleted, "
                        "run the command again (or check the mirror)")
    with part.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(part, path)


def _stream(response, part: Path, have: int, total: int | None, url: str, progress: bool) -> None:
    written = have
    bar = tqdm(total=total, initial=have, unit="B", unit_scale=True, desc=part.name.removesuffix(".part"),
               disable=not progress, file=sys.stderr)
    try:
        with part.open("ab" if have else "wb") as handle:
            while True:
                try:
                    chunk = response.read(CHUNK)
                except (OSError, ValueError) as err:  # connection reset, or http.client.IncompleteRead
                    raise DataError(f"transfer of {url} broke after {written} bytes ({type(err).__name__}); "
                                    "run the same command again to resume") from None
                if not chunk:
                    break
                handle.write(chunk)
                written += len(chunk)
                bar.update(len(chunk))
    finally:
        bar.close()
    if total is not None and written < total:
        raise DataError(f"transfer of {url} broke after {written} of {total} bytes; "
                        "run the same command again to resume")


def extract_tar(archive: Path, into: Path) -> None:
    """Unpack a tar.gz, refusing members that would land outside ``into`` (absolute paths, '..', links)."""
    into = into.resolve()
    with tarfile.open(archive, "r:gz") as tar:
        members = tar.getmembers()
        for member in members:
            target = (into / member.name).resolve()
            if not target.is_relative_to(into) or member.issym() or member.islnk() or member.isdev():
                raise DataError(f"'{archive.name}' contains an unsafe member '{member.name}'; not extracting it")
        if hasattr(tarfile, "data_filter"):  # Python >= 3.11.4 / 3.10.12: the standard library's own check too
            tar.extractall(into, members=members, filter="data")
        else:  # pragma: no cover
            tar.extractall(into, members=members)


def is_present(name: str, root: Path) -> bool:
    spec = REMOTE.get(name)
    folder = Path(root) / name
    if spec is None:
        return folder.is_dir() and any(folder.iterdir())
    return (folder / spec.marker).exists()
