"""Downloads against an HTTP server on 127.0.0.1: checksums, broken transfers, resume, archives, the CLI."""

import gzip
import hashlib
import io
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.conftest import cli
from wganlab.data import download as dl
from wganlab.errors import DataError


class FixtureServer:
    """Serves ``files``; ``break_after[name] = n`` cuts the first response for ``name`` after n bytes."""

    def __init__(self, files):
        self.files, self.break_after, self.ranges = files, {}, []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                name = self.path.lstrip("/")
                if name not in server.files:
                    self.send_error(404)
                    return
                body = server.files[name]
                start = 0
                header = self.headers.get("Range")
                server.ranges.append(header)
                if header:
                    start = int(header.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                self.send_header("Content-Length", str(len(body) - start))
                self.end_headers()
                cut = server.break_after.pop(name, None)
                self.wfile.write(body[start:] if cut is None else body[start : start + cut])
                self.wfile.flush()
                if cut is not None:
                    self.close_connection = True

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def idx_gz(kind, n):
    header = bytes([0, 0, 8, 3 if kind == "images" else 1]) + n.to_bytes(4, "big")
    if kind == "images":
        header += (28).to_bytes(4, "big") * 2
    return gzip.compress(header + bytes(n * (784 if kind == "images" else 1)))


@pytest.fixture
def fashion(monkeypatch):
    files = {name: idx_gz("images" if "images" in name else "labels", 50) for name in dl._MNIST_FILES}
    spec = dl.RemoteDataset("http://unused.invalid/", tuple(
        dl.RemoteFile(n, hashlib.md5(b).hexdigest()) for n, b in files.items()), marker="train-images-idx3-ubyte.gz")
    monkeypatch.setitem(dl.REMOTE, "fashion-mnist", spec)
    return files


def test_download_verifies_and_is_idempotent(tmp_path, fashion):
    with FixtureServer(fashion) as server:
        folder = dl.download("fashion-mnist", tmp_path, mirror=server.url, progress=False)
        assert sorted(p.name for p in folder.iterdir()) == sorted(fashion)
        assert (folder / "t10k-labels-idx1-ubyte.gz").read_bytes() == fashion["t10k-labels-idx1-ubyte.gz"]
        requests = len(server.ranges)
        dl.download("fashion-mnist", tmp_path, mirror=server.url, progress=False)
        assert len(server.ranges) == requests  # verified files are not fetched again
    assert dl.is_present("fashion-mnist", tmp_path)


def test_checksum_mismatch_deletes_the_file(tmp_path, fashion):
    tampered = dict(fashion, **{"train-labels-idx1-ubyte.gz": b"tampered"})
    with FixtureServer(tampered) as server, pytest.raises(DataError, match="checksum mismatch"):
        dl.download("fashion-mnist", tmp_path, mirror=server.url, progress=False)
    assert not (tmp_path / "fashion-mnist" / "train-labels-idx1-ubyte.gz").exists()
    assert not (tmp_path / "fashion-mnist" / "train-labels-idx1-ubyte.gz.part").exists()


def test_broken_transfer_resumes_with_a_range_request(tmp_path, fashion):
    with FixtureServer(fashion) as server:
        server.break_after["train-images-idx3-ubyte.gz"] = 40
        with pytest.raises(DataError, match=r"broke after 40 .*run the same command again"):
            dl.download("fashion-mnist", tmp_path, mirror=server.url, progress=False)
        part = tmp_path / "fashion-mnist" / "train-images-idx3-ubyte.gz.part"
        assert part.stat().st_size == 40
        dl.download("fashion-mnist", tmp_path, mirror=server.url, progress=False)
        assert "bytes=40-" in server.ranges
    final = tmp_path / "fashion-mnist" / "train-images-idx3-ubyte.gz"
    assert final.read_bytes() == fashion["train-images-idx3-ubyte.gz"] and not part.exists()


def test_cifar_archive_is_extracted(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/readme.html")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"hello"))
    archive = buffer.getvalue()
    spec = dl.RemoteDataset("http://unused.invalid/", (dl.RemoteFile("cifar-10-python.tar.gz",
                                                                      hashlib.md5(archive).hexdigest()),),
                            extract=True, marker="cifar-10-batches-py")
    monkeypatch.setitem(dl.REMOTE, "cifar10", spec)
    with FixtureServer({"cifar-10-python.tar.gz": archive}) as server:
        folder = dl.download("cifar10", tmp_path, mirror=server.url, progress=False)
    assert (folder / "cifar-10-batches-py" / "readme.html").read_text() == "hello"


def test_archive_with_path_traversal_is_refused(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../../escaped.txt")
        info.size = 1
        tar.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(DataError, match="unsafe member"):
        dl.extract_tar(archive, tmp_path / "into")
    assert not (tmp_path / "escaped.txt").exists()


def test_cli_download_and_list(tmp_path):
    files = {name: idx_gz("images" if "images" in name else "labels", 3) for name in dl._MNIST_FILES}
    with FixtureServer(files) as server:
        # The real checksums do not match the fixtures: the CLI must say so in one line and exit 2.
        result = cli("data", "download", "mnist", "--root", str(tmp_path), "--mirror", server.url)
    last = result.stderr.strip().splitlines()[-1]  # the lines before it are the progress bar
    assert result.returncode == 2 and last.startswith("wganlab: error: checksum mismatch")
    assert "Traceback" not in result.stderr
    listing = cli("data", "list", "--root", str(tmp_path))
    assert listing.returncode == 0 and "cifar10" in listing.stdout and "missing" in listing.stdout


def test_unreachable_server_is_one_clear_error(tmp_path):
    with pytest.raises(DataError, match="cannot reach"):
        dl.fetch("http://127.0.0.1:9/none", tmp_path / "x", "0" * 32, progress=False, timeout=5)
