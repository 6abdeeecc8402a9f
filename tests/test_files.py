"""Atomic writes: nothing half-written, nothing left behind, the umask's permissions."""

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time

import pytest

from rnnkit import _files
from tests.training.test_task import _fitted

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def umask():
    old = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(old)


def _write_folder(tmp):
    os.mkdir(tmp)
    os.mkdir(os.path.join(tmp, "variables"))
    with open(os.path.join(tmp, "variables", "v"), "w") as handle:
        handle.write("new")


@pytest.mark.parametrize(
    "mask, file_mode, dir_mode", [(0o022, 0o644, 0o755), (0o077, 0o600, 0o700)]
)
def test_results_follow_the_umask(tmp_path, umask, mask, file_mode, dir_mode):
    umask(mask)
    task, _ = _fitted()
    task.save(tmp_path / "t.keras")
    assert _mode(tmp_path / "t.keras") == file_mode
    task.export(tmp_path / "e")
    assert _mode(tmp_path / "e") == dir_mode
    for root, dirs, files in os.walk(tmp_path / "e"):
        assert all(_mode(os.path.join(root, d)) == dir_mode for d in dirs)
        assert all(_mode(os.path.join(root, f)) == file_mode for f in files)


def test_data_is_synced_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: events.append("fsync") or real_fsync(fd))
    monkeypatch.setattr(os, "replace", lambda a, b: events.append("replace") or real_replace(a, b))
    with _files.atomic_path(tmp_path / "f.txt") as tmp:
        with open(tmp, "w") as handle:
            handle.write("data")
    assert events[0] == "fsync" and events.index("replace") > 0
    assert events[-1] == "fsync"  # the folder, so the rename itself is durable
    assert (tmp_path / "f.txt").read_text() == "data"


@pytest.mark.parametrize("error", [RuntimeError("disk full"), KeyboardInterrupt()])
@pytest.mark.parametrize("folder", [False, True])
def test_any_exception_removes_the_temporary_and_keeps_the_old_target(tmp_path, error, folder):
    target = tmp_path / "out"
    if folder:
        os.mkdir(target)
        (target / "old").write_text("old")
    else:
        target.write_text("old")
    with pytest.raises(type(error)):
        with _files.atomic_path(target, overwrite=True, folder=folder) as tmp:
            if folder:
                _write_folder(tmp)
            else:
                with open(tmp, "w") as handle:
                    handle.write("half")
            raise error
    assert sorted(os.listdir(tmp_path)) == ["out"]
    if folder:
        assert sorted(os.listdir(target)) == ["old"]
    else:
        assert target.read_text() == "old"


def test_a_folder_replaces_a_folder_and_never_a_file(tmp_path):
    target = tmp_path / "out"
    os.mkdir(target)
    (target / "old").write_text("x")
    with _files.atomic_path(target, overwrite=True, folder=True) as tmp:
        _write_folder(tmp)
    assert sorted(os.listdir(target)) == ["variables"]
    assert sorted(os.listdir(tmp_path)) == ["out"]
    with pytest.raises(FileExistsError, match="is a folder, and a file is to be written"):
        with _files.atomic_path(target, overwrite=True):
            pass
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="is a file, and a folder is to be written"):
        with _files.atomic_path(tmp_path / "file", overwrite=True, folder=True):
            pass
    with pytest.raises(FileExistsError, match="already exists; pass `--overwrite`"):
        with _files.atomic_path(target, folder=True, advice="pass `--overwrite`"):
            pass


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_stale_temporaries_of_dead_writers_are_cleaned(tmp_path):
    host = _files._host()
    dead = tmp_path / f".rnnkit-partial-{host}-{_dead_pid()}-abcd-e"
    _write_folder(dead)
    mine = tmp_path / f".rnnkit-partial-{host}-{os.getpid()}-abcd-t.keras"
    mine.write_text("being written by a live process")
    other_host = tmp_path / f".rnnkit-partial-00000000-{_dead_pid()}-abcd-t.keras"
    other_host.write_text("another machine's writer may be alive")
    old = tmp_path / f".rnnkit-partial-00000000-{os.getpid()}-abcd-t.keras.old"
    old.write_text("a day old")
    day_ago = time.time() - _files.STALE_AFTER_S - 60
    os.utime(old, (day_ago, day_ago))
    user_file = tmp_path / ".hidden-user-file"
    user_file.write_text("not ours")
    task, _ = _fitted()
    task.export(tmp_path / "e")
    assert sorted(os.listdir(tmp_path)) == sorted([mine.name, other_host.name, user_file.name, "e"])


def test_a_save_killed_midway_never_stops_the_next_one(tmp_path):
    target = tmp_path / "t.keras"
    ready = tmp_path / "ready"
    script = textwrap.dedent(
        f"""
        import time
        from tests.training.test_task import _fitted

        task, _ = _fitted()
        write = task.model_.save

        def slow_save(path, *args, **kwargs):
            write(path, *args, **kwargs)  # the Keras archive is half of the file
            open({str(ready)!r}, "w").write(path)
            time.sleep(600)

        task.model_.save = slow_save
        task.save({str(target)!r})
        """
    )
    env = dict(os.environ, PYTHONPATH=REPO, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.Popen([sys.executable, "-c", script], cwd=REPO, env=env)
    try:
        deadline = time.monotonic() + 300
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert ready.exists(), f"the saving process did not get mid-save (exit {proc.poll()})"
        time.sleep(0.2)
        partial = ready.read_text()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert os.path.exists(partial) and not target.exists()
    task, _ = _fitted()
    task.save(target)
    assert sorted(os.listdir(tmp_path)) == ["ready", "t.keras"]
    type(task).load(target)
