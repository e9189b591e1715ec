"""What ``-o`` and the files specc reads may name: devices, FIFOs, symlinks, and signals mid-write.

Every case runs the real CLI in a subprocess on real special files made in a
temporary folder: a character device made with ``mknod`` (the tests run as
root in CI containers, as users' CI does), a FIFO, symbolic links, and a
process that is sent SIGTERM or SIGKILL while it writes.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from bombs import run_limited
from conftest import require

SPEC = "model m {\n  input 8\n  dense 4\n}\n"
# 67 million parameters (268 MB of weights), drawn fast: the write takes a while.
BIG = (
    "model big {\n  input 4096\n  dense 8192 kernel_initializer=zeros\n"
    "  dense 4096 kernel_initializer=zeros\n}\n"
)
root_only = pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")


def specc(*args: str, cwd: Path, timeout: float = 120, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "specc.cli", *args],
        cwd=cwd,
        capture_output="stdout" not in kwargs,
        timeout=timeout,
        **kwargs,
    )


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "m.cnn").write_text(SPEC)
    return tmp_path


def keras_source(folder: Path) -> bytes:
    return specc("keras", "m.cnn", cwd=folder).stdout


# -- writing ------------------------------------------------------------------


@root_only
def test_a_character_device_is_written_to_not_replaced(folder):
    os.mknod(folder / "null", 0o666 | stat.S_IFCHR, os.makedev(1, 3))  # the same as /dev/null
    done = specc("init", "m.cnn", "-o", "null", cwd=folder)
    assert done.returncode == 0, done.stderr
    st = os.stat(folder / "null")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(1, 3)
    assert sorted(p.name for p in folder.iterdir()) == ["m.cnn", "null"]


def test_dev_null_and_dev_stdout_are_sinks(folder):
    assert specc("onnx", "m.cnn", "-o", "/dev/null", cwd=folder).returncode == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    done = specc("keras", "m.cnn", "-o", "/dev/stdout", cwd=folder)
    assert done.returncode == 0 and done.stdout == keras_source(folder)


def test_data_written_to_dev_stdout_is_the_file_and_nothing_else(folder):
    import io
    import zipfile

    onnx = require("onnx")
    np.save(folder / "x.npy", np.ones((2, 8), np.float32))
    made = {}
    for command, extra in (("onnx", ()), ("init", ()), ("run", ("-i", "x.npy"))):
        done = specc(command, "m.cnn", *extra, "-o", "/dev/stdout", cwd=folder)
        assert done.returncode == 0, done.stderr
        made[command] = done.stdout
    onnx.checker.check_model(onnx.load_from_string(made["onnx"]))
    assert zipfile.ZipFile(io.BytesIO(made["init"])).testzip() is None
    assert np.load(io.BytesIO(made["run"])).shape == (2, 4)


def test_dev_stdout_appends_to_what_the_shell_opened(folder):
    log = folder / "log"
    log.write_bytes(b"before\n")
    with open(log, "ab") as out:  # a shell's >>
        specc("keras", "m.cnn", "-o", "/dev/stdout", cwd=folder, stdout=out, stderr=subprocess.PIPE)
    assert log.read_bytes() == b"before\n" + keras_source(folder)


def test_a_fifo_is_written_to_not_replaced(folder):
    fifo = folder / "pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done = specc("keras", "m.cnn", "-o", "pipe", cwd=folder)
    reader.join(30)
    assert done.returncode == 0, done.stderr
    assert received == [keras_source(folder)]
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)


def test_a_symlink_is_followed_and_stays(folder):
    (folder / "out").mkdir()
    target = folder / "out" / "model.py"
    target.write_text("old")
    (folder / "link.py").symlink_to("out/model.py")
    done = specc("keras", "m.cnn", "-o", "link.py", cwd=folder)
    assert done.returncode == 0, done.stderr
    assert (folder / "link.py").is_symlink()
    assert target.read_bytes() == keras_source(folder)
    assert sorted(p.name for p in (folder / "out").iterdir()) == ["model.py"]


def test_fmt_rewrites_a_symlinked_spec_through_the_link(folder):
    (folder / "real.cnn").write_text("model m {\ninput 8\n    dense 4\n}\n")
    (folder / "link.cnn").symlink_to("real.cnn")
    assert specc("fmt", "link.cnn", cwd=folder).returncode == 0
    assert (folder / "link.cnn").is_symlink()
    assert (folder / "real.cnn").read_text() == SPEC


def test_a_file_on_the_way_is_not_a_directory(folder):
    done = specc("onnx", "m.cnn", "-o", "m.cnn/x.onnx", cwd=folder, text=True)
    assert done.returncode == 2
    assert "m.cnn/x.onnx:1:1: error[E615]: cannot write: Not a directory" in done.stderr
    assert (folder / "m.cnn").read_text() == SPEC


@root_only
def test_a_block_device_is_refused(folder):
    os.mknod(folder / "disk", 0o600 | stat.S_IFBLK, os.makedev(7, 250))
    done = specc("keras", "m.cnn", "-o", "disk", cwd=folder, text=True)
    assert done.returncode == 2
    assert "error[E615]: cannot write: a block device, not a regular file" in done.stderr
    assert stat.S_ISBLK(os.stat(folder / "disk").st_mode)


# -- reading ------------------------------------------------------------------


def test_a_fifo_is_refused_as_spec_weights_and_input(folder):
    os.mkfifo(folder / "pipe")
    np.save(folder / "x.npy", np.ones((1, 8), np.float32))
    specc("init", "m.cnn", "-o", "w.npz", cwd=folder)
    cases = {
        ("check", "pipe"): "pipe:1:1: error[E100]: cannot read file: a FIFO (named pipe)",
        ("run", "m.cnn", "-w", "pipe", "-i", "x.npy"): "pipe:1:1: error[E501]: is a FIFO",
        ("run", "m.cnn", "-i", "pipe"): "pipe:1:1: error[E601]: is a FIFO (named pipe)",
    }
    for args, expected in cases.items():
        done = specc(*args, cwd=folder, text=True, timeout=30)  # a read would block for ever
        said = done.stdout + done.stderr  # check reports on stdout, run on stderr
        assert done.returncode == 2 and expected in said, (args, said)


def test_a_spec_linked_to_dev_zero_is_refused_in_bounded_memory(folder):
    (folder / "zero.cnn").symlink_to("/dev/zero")
    done = run_limited(["check", "zero.cnn"], 512 * 2**20, folder)
    assert done.returncode == 2, done.stderr
    assert "zero.cnn:1:1: error[E100]: cannot read file: a character device" in done.stdout


def test_a_file_that_reports_no_size_is_still_bounded():
    from specc.io import FileTooLargeError, read_bounded

    with pytest.raises(FileTooLargeError) as caught:
        read_bounded("/proc/self/maps", 16)  # st_size is 0; the content is longer
    assert caught.value.size is None and "over the limit of 16" in caught.value.strerror


# -- signals ------------------------------------------------------------------


def _interrupt_mid_write(folder: Path, sig: signal.Signals) -> subprocess.Popen:
    """Start ``specc init`` of a 268 MB model; send ``sig`` once the output is open."""
    (folder / "big.cnn").write_text(BIG)
    proc = subprocess.Popen(
        [sys.executable, "-m", "specc.cli", "init", "big.cnn", "-o", "big.k.npz"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    fds = Path(f"/proc/{proc.pid}/fd")
    while proc.poll() is None:
        opened = []
        for fd in list(fds.iterdir()) if fds.exists() else []:
            try:
                opened.append(os.readlink(fd))
            except OSError:
                continue
        if any(p.startswith(f"{folder}/") and ".cnn" not in p for p in opened):  # not a listing
            proc.send_signal(sig)
            break
        time.sleep(0.0005)
    proc.wait(60)
    return proc


def test_sigterm_mid_write_leaves_no_temporary_file(tmp_path):
    proc = _interrupt_mid_write(tmp_path, signal.SIGTERM)
    assert proc.returncode == 128 + signal.SIGTERM, proc.stderr.read()  # type: ignore[union-attr]
    assert b"terminated" in proc.stderr.read()  # type: ignore[union-attr]
    assert [p.name for p in tmp_path.iterdir()] == ["big.cnn"]


def test_sigkill_mid_write_leaves_no_temporary_file(tmp_path):
    try:
        os.close(os.open(tmp_path, os.O_TMPFILE | os.O_WRONLY))
    except (AttributeError, OSError):
        pytest.skip("this file system has no O_TMPFILE: a killed write leaves its dot-file")
    proc = _interrupt_mid_write(tmp_path, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL
    assert [p.name for p in tmp_path.iterdir()] == ["big.cnn"]
