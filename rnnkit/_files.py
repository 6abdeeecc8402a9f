"""Atomic writes of files and folders (used by `Task.save` and `rnnkit.export`).

A file or folder is written under a temporary name in the target's own directory (so the final
`os.replace` is a rename on one file system), flushed to disk (`fsync`) and only then renamed
into place. Whatever goes wrong, the temporary is removed; a temporary that a killed process
left behind carries that process's id in its name and is cleaned by the next write to the same
directory. Files and folders get the permissions the umask gives (not `tempfile`'s 0600/0700).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import time
from collections.abc import Iterator

# `.rnnkit-partial-<host>-<pid>-<token>-<target name>`: the host and pid tell whether the
# writer still runs; the target name keeps the suffix (`.keras`) that writers check.
_PREFIX = ".rnnkit-partial-"
_PATTERN = re.compile(r"^\.rnnkit-partial-([0-9a-f]{8})-(\d+)-[0-9a-f]+-")
# Temporaries older than this are stale whoever wrote them (pids are reused; another host's
# writer cannot be asked).
STALE_AFTER_S = 24 * 3600.0
# Names written by rnnkit before this module: cleaned once they are this old.
_LEGACY = re.compile(r"^\.(saving-.*\.keras|export-.+|replaced-.+)$")


def _host() -> str:
    import zlib

    return f"{zlib.crc32(socket.gethostname().encode()) & 0xFFFFFFFF:08x}"


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, someone else's
    try:  # a killed child its parent has not reaped yet is a zombie: it writes nothing more
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


def _is_stale(name: str, directory: str, now: float) -> bool:
    try:
        age = now - os.lstat(os.path.join(directory, name)).st_mtime
    except OSError:
        return False
    match = _PATTERN.match(name)
    if match is None:
        return _LEGACY.match(name) is not None and age > STALE_AFTER_S
    if age > STALE_AFTER_S:
        return True
    host, pid = match.group(1), int(match.group(2))
    return host == _host() and not _pid_alive(pid)


def _remove(path: str) -> None:
    if os.path.isdir(path) and not os.path.islink(path):
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def clean_stale(directory: str) -> list[str]:
    """Removes the temporaries that dead writers left in `directory`; returns their names."""
    try:
        names = os.listdir(directory)
    except OSError:
        return []
    now = time.time()
    removed = []
    for name in names:
        if name.startswith(".") and _is_stale(name, directory, now):
            _remove(os.path.join(directory, name))
            removed.append(name)
    return removed


def _fsync(path: str) -> None:
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) if os.path.isdir(path) else os.O_RDONLY
    try:
        fd = os.open(path, flags)
    except OSError:  # e.g. directories on Windows
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(fd)


def _fsync_tree(path: str) -> None:
    if not os.path.isdir(path):
        _fsync(path)
        return
    for root, _dirs, files in os.walk(path):
        for name in files:
            _fsync(os.path.join(root, name))
        _fsync(root)


def _apply_umask(path: str) -> None:
    # Writers such as `tempfile` use 0600/0700 whatever the umask: give the result what a
    # plain `open`/`mkdir` would have given it.
    mask = os.umask(0)
    os.umask(mask)
    if not os.path.isdir(path):
        os.chmod(path, 0o666 & ~mask)
        return
    for root, dirs, files in os.walk(path):
        os.chmod(root, 0o777 & ~mask)
        for name in dirs:
            os.chmod(os.path.join(root, name), 0o777 & ~mask)
        for name in files:
            os.chmod(os.path.join(root, name), 0o666 & ~mask)


def check_target(
    path: str | os.PathLike,
    *,
    overwrite: bool,
    folder: bool = False,
    advice: str = "pass `overwrite=True`",
) -> str:
    """Refuses an existing `path` unless `overwrite`; returns it as an absolute path.

    A folder is never replaced by a file nor a file by a folder, `overwrite` or not.
    """
    path = os.path.abspath(os.fspath(path))
    if not os.path.lexists(path):
        return path
    if os.path.isdir(path) != folder:
        found, wanted = ("a folder", "file") if os.path.isdir(path) else ("a file", "folder")
        raise FileExistsError(
            f"{path!r} is {found}, and a {wanted} is to be written there; choose another path."
        )
    if not overwrite:
        raise FileExistsError(
            f"{path!r} already exists; {advice} to replace it, or choose another path."
        )
    return path


@contextlib.contextmanager
def atomic_path(
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    folder: bool = False,
    advice: str = "pass `overwrite=True`",
) -> Iterator[str]:
    """Yields a temporary path to write; on success it is synced and renamed to `path`.

    The temporary sits in `path`'s directory and does not exist yet: the caller creates it (a
    folder when `folder=True`, else a file). A file replaces an existing file at once (`os.replace`); a folder
    replaces an existing folder by two renames, the old one removed only once the new one is
    in place. On any exception (KeyboardInterrupt included) the temporary is removed and an
    existing `path` is left as it was.

    Args:
        path: the file or folder to write.
        overwrite: replace an existing `path`; otherwise a `FileExistsError` says `advice`.
        folder: whether a folder (True) or a file is written.
        advice: how the caller's user asks to overwrite (the CLI says `--overwrite`).
    """
    target = check_target(path, overwrite=overwrite, folder=folder, advice=advice)
    parent, name = os.path.split(target)
    os.makedirs(parent, exist_ok=True)
    clean_stale(parent)
    stem = f"{_PREFIX}{_host()}-{os.getpid()}-"
    tmp = os.path.join(parent, f"{stem}{secrets.token_hex(4)}-{name}")
    try:
        yield tmp
        if not os.path.lexists(tmp) or os.path.isdir(tmp) != folder:
            raise RuntimeError(f"no {'folder' if folder else 'file'} was written at {tmp!r}")
        _apply_umask(tmp)
        _fsync_tree(tmp)
        check_target(target, overwrite=overwrite, folder=folder, advice=advice)  # appeared since?
        if folder and os.path.isdir(target):
            old = os.path.join(parent, f"{stem}{secrets.token_hex(4)}-old-{name}")
            os.replace(target, old)
            try:
                os.replace(tmp, target)
            except BaseException:
                os.replace(old, target)
                raise
            _remove(old)
        else:
            os.replace(tmp, target)
        _fsync(parent)
    finally:
        if os.path.lexists(tmp):
            _remove(tmp)
