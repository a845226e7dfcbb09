"""Choosing how strongly workers are isolated, and the command that starts one.

Three levels, strongest first:

``bwrap``
    The worker runs inside bubblewrap: new pid, network, ipc and uts namespaces (no network at all), a root
    made of read-only binds of only what Python needs (``/usr``, the interpreter's prefix, site-packages, a
    few files of ``/etc``), a private tmpfs ``/tmp``, nothing of ``/work`` or any home directory. As root the
    worker keeps only the capabilities it needs to drop its children to an unprivileged uid and to kill and
    clean up after them; children run with no capabilities at all.
``unshare``
    ``unshare`` gives the worker new pid, network, mount, ipc and uts namespaces, private ``/tmp``,
    ``/dev/shm`` and ``/var/tmp``, and hides every top-level directory that holds neither the system nor the
    interpreter (``/work``, ``/home``, ``/srv``, ...) under an empty tmpfs. ``/usr``, ``/etc`` and ``/var``
    stay the host's: writes are stopped by the unprivileged uid, but world-readable files there can be read.
``rlimits``
    Resource limits and, as root, the unprivileged uid; no namespaces. Loudly reported.

Each worker gets its own unprivileged uid (a random one in a reserved range, as root): ``RLIMIT_NPROC`` counts
per uid, so a job's process limit is its own and is not shared with jobs running in other workers, and a
job's ``kill(-1, SIGKILL)`` reaches only its own processes, never the worker or the host.
"""

from __future__ import annotations

import logging
import os
import secrets
import shlex
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

log = logging.getLogger(__name__)

Level = Literal["bwrap", "unshare", "rlimits"]
LEVELS: tuple[Level, ...] = ("bwrap", "unshare", "rlimits")
UID_BASE = 2_000_000_000  # far above any real account; per-worker uids are drawn from here
UID_SPAN = 100_000_000
NOBODY_GID = 65534
WORKER_DIR = Path(__file__).resolve().parent
SANDBOX_WORKER_DIR = "/opt/realcode-sandbox"  # where the worker's two files appear inside bubblewrap
ETC_FILES = (
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/localtime",
    "/etc/nsswitch.conf",
    "/etc/passwd",
    "/etc/group",
    "/etc/hosts",
    "/etc/mime.types",
    "/etc/ssl",
    "/etc/ca-certificates",
    "/etc/alternatives",
    "/etc/os-release",
)
WORKER_CAPS = ("CAP_SETUID", "CAP_SETGID", "CAP_KILL", "CAP_DAC_OVERRIDE", "CAP_CHOWN", "CAP_FOWNER")


class SandboxUnavailable(RuntimeError):
    """The requested isolation level cannot run on this machine."""


@dataclass(frozen=True)
class IsolationReport:
    """The level in use and why each stronger level is not."""

    level: Level
    unavailable: dict[str, str] = field(default_factory=dict)  # stronger level -> reason
    separate_uid: bool = False  # children run as an unprivileged uid distinct from the worker's
    bwrap_version: str | None = None

    def describe(self) -> str:
        lines = [
            f"isolation: {self.level}"
            + (" (children drop to an unprivileged uid)" if self.separate_uid else "")
        ]
        lines += [f"  {level} unavailable: {reason}" for level, reason in self.unavailable.items()]
        return "\n".join(lines)


@dataclass(frozen=True)
class WorkerLaunch:
    """How to start one worker: its command, environment and first (config) frame."""

    command: list[str]
    env: dict[str, str]
    config: dict[str, Any]
    scratch: str | None = None  # a host directory to remove when the worker is gone (rlimits level)


def _python_roots() -> list[str]:
    """Directories the interpreter and its packages live in, deduplicated, outermost first."""
    candidates = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        path = sysconfig.get_paths().get(key)
        if path:
            candidates.add(path)
    candidates.add(str(Path(sys.executable).resolve().parent.parent))
    roots: list[str] = []
    for path in sorted((os.path.realpath(p) for p in candidates if p and os.path.isdir(p)), key=len):
        if not any(path == root or path.startswith(root + os.sep) for root in roots):
            roots.append(path)
    return roots


def _is_root() -> bool:
    return os.geteuid() == 0


def _bwrap_command(python: str) -> list[str]:
    command = [
        "bwrap",
        "--unshare-pid",
        "--unshare-net",
        "--unshare-ipc",
        "--unshare-uts",
        "--unshare-cgroup-try",
        "--die-with-parent",
        "--new-session",
        "--cap-drop",
        "ALL",
    ]
    if _is_root():
        for cap in WORKER_CAPS:
            command += ["--cap-add", cap]
    else:
        command += ["--unshare-user"]
    command += ["--ro-bind", "/usr", "/usr"]
    for name in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(name):
            command += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            command += ["--ro-bind", name, name]
    for path in ETC_FILES:
        command += ["--ro-bind-try", path, path]
    for root in _python_roots():
        if root == "/usr" or root.startswith("/usr/"):
            continue
        parents = [str(parent) for parent in reversed(Path(root).parents) if str(parent) != "/"]
        for parent in parents:  # e.g. /root is 0700 on the host: its stand-in must be traversable
            command += ["--perms", "0755", "--dir", parent]
        command += ["--ro-bind", root, root]
    command += [
        "--ro-bind",
        str(WORKER_DIR),
        SANDBOX_WORKER_DIR,
        # --perms applies to the next mount only: both scratch directories are sticky and world-writable, so
        # that a job's uid can write there as in any /tmp (the worker empties them after every job).
        "--perms",
        "1777",
        "--tmpfs",
        "/tmp",
        "--perms",
        "1777",
        "--tmpfs",
        "/dev/shm",
        "--proc",
        "/proc",
        "--dev",
        "/dev",
        "--chdir",
        "/tmp",
        python,
        "-I",
        "-B",
        f"{SANDBOX_WORKER_DIR}/worker.py",
    ]
    return command


# Top-level directories the interpreter may need; every other one (/work, /home, /srv, /mnt, ...) is hidden
# under an empty tmpfs in the worker's mount namespace, unless the interpreter lives there.
SYSTEM_DIRS = frozenset(
    {
        "usr",
        "bin",
        "sbin",
        "lib",
        "lib32",
        "lib64",
        "libx32",
        "etc",
        "proc",
        "dev",
        "sys",
        "tmp",
        "var",
        "run",
    }
)
HIDDEN_WORKER_DIR = ".realcode-sandbox"


def _unshare_setup(probe: str | None = None) -> str:
    """Shell run as root inside the new namespaces before the worker starts: private /tmp, /dev/shm and
    /var/tmp; the worker's own files copied into memory; every top-level directory that holds neither the
    system nor the interpreter hidden (so jobs cannot read the data, the repository or anyone's home)."""
    needed_tops = {Path(root).parts[1] for root in _python_roots() if len(Path(root).parts) > 1}
    worker_top = Path(WORKER_DIR).parts[1]
    hide = sorted(
        entry.name
        for entry in Path("/").iterdir()
        if entry.is_dir() and not entry.is_symlink() and entry.name not in SYSTEM_DIRS | needed_tops
    )
    if worker_top in needed_tops or worker_top in SYSTEM_DIRS:
        hide_worker_top = False
    else:
        hide_worker_top = worker_top in hide
    # The worker's sources are read into the shell before any mount: the package may itself live under /tmp
    # (a clone in a temporary directory), which the private /tmp below hides. The trailing "x" keeps the files'
    # final newlines through the command substitution.
    worker_src = shlex.quote(str(WORKER_DIR / "worker.py"))
    serialize_src = shlex.quote(str(WORKER_DIR / "serialize.py"))
    lines = [
        "set -e",
        f'w=$(cat {worker_src}; echo x); w="${{w%x}}"',
        f's=$(cat {serialize_src}; echo x); s="${{s%x}}"',
        "mount -t tmpfs -o mode=1777 tmpfs /tmp",
        "mount -t tmpfs -o mode=1777 tmpfs /dev/shm",
        "mount -t tmpfs -o mode=1777 tmpfs /var/tmp 2>/dev/null || true",
        f"mkdir /tmp/{HIDDEN_WORKER_DIR}",
        f"printf '%s' \"$w\" > /tmp/{HIDDEN_WORKER_DIR}/worker.py",
        f"printf '%s' \"$s\" > /tmp/{HIDDEN_WORKER_DIR}/serialize.py",
    ]
    for name in hide:
        lines.append(f"mount -t tmpfs -o mode=0711 tmpfs {shlex.quote('/' + name)}")
    target = f"/{worker_top}/{HIDDEN_WORKER_DIR}" if hide_worker_top else f"/run/{HIDDEN_WORKER_DIR}"
    if not hide_worker_top:
        lines.append("mount -t tmpfs -o mode=0755 tmpfs /run")
    lines += [
        f"mkdir -p {target}",
        f"cp /tmp/{HIDDEN_WORKER_DIR}/worker.py /tmp/{HIDDEN_WORKER_DIR}/serialize.py {target}/",
        f"rm -rf /tmp/{HIDDEN_WORKER_DIR}",
        f'exec "$0" -I -c {shlex.quote(probe)}' if probe else f'exec "$0" -I -B {target}/worker.py',
    ]
    return "\n".join(lines)


def _unshare_command(python: str, probe: str | None = None) -> list[str]:
    return [
        "unshare",
        "--net",
        "--pid",
        "--mount",
        "--ipc",
        "--uts",
        "--fork",
        "--kill-child",
        "--mount-proc",
        "--",
        "/bin/sh",
        "-c",
        _unshare_setup(probe),
        python,
    ]


def _base_env() -> dict[str, str]:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "PYTHONHASHSEED": "0"}
    return env


def _fresh_uid() -> int:
    return UID_BASE + secrets.randbelow(UID_SPAN)


def launch(level: Level, preimports: tuple[str, ...] = ()) -> WorkerLaunch:
    """Command, environment and config for one new worker at ``level``."""
    python = os.path.realpath(sys.executable)
    uid = _fresh_uid() if _is_root() else None
    config: dict[str, Any] = {
        "level": level,
        "uid": uid,
        "gid": NOBODY_GID if uid is not None else None,
        "tmp": "/tmp",
        "pidns": level != "rlimits",
        "private_tmp": level != "rlimits",
        "preimports": list(preimports),
    }
    if level == "bwrap":
        return WorkerLaunch(_bwrap_command(python), _base_env(), config)
    if level == "unshare":
        return WorkerLaunch(_unshare_command(python), _base_env(), config)
    scratch = tempfile.mkdtemp(prefix="realcode-sandbox-")
    os.chmod(scratch, 0o711)  # the children's uid must reach its job directory, nobody may list it
    config["tmp"] = scratch
    return WorkerLaunch([python, "-I", "-B", str(WORKER_DIR / "worker.py")], _base_env(), config, scratch)


def _probe(level: Level) -> str | None:
    """None if ``level`` can start a Python here, else the reason it cannot."""
    if level == "rlimits":
        return None
    tool = "bwrap" if level == "bwrap" else "unshare"
    if shutil.which(tool) is None:
        hint = " (apt-get install -y bubblewrap)" if tool == "bwrap" else ""
        return f"{tool} is not installed{hint}"
    if level == "unshare" and not _is_root():
        return "unshare needs root (CAP_SYS_ADMIN) for its mount namespace"
    check = "import os, sys, json"
    if level == "bwrap":
        command = launch(level).command
        command = [*command[: command.index("-I") + 1], "-c", check]
    else:  # the whole set-up, then a Python that only imports
        command = _unshare_command(os.path.realpath(sys.executable), probe=check)
    try:
        done = subprocess.run(command, capture_output=True, timeout=30, env=_base_env(), check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{tool} could not start: {exc}"
    if done.returncode != 0:
        return f"{tool} failed: {done.stderr.decode(errors='replace').strip()[:300] or done.returncode}"
    return None


_REPORTS: dict[str, IsolationReport] = {}


def _bwrap_version() -> str | None:
    if shutil.which("bwrap") is None:
        return None
    try:
        done = subprocess.run(["bwrap", "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def choose(requested: str = "auto") -> IsolationReport:
    """The strongest level that works (``auto``) or exactly ``requested``; probed once per process."""
    if requested not in ("auto", *LEVELS):
        raise ValueError(f"unknown isolation level {requested!r}; choose auto, bwrap, unshare or rlimits")
    if requested in _REPORTS:
        return _REPORTS[requested]
    unavailable: dict[str, str] = {}
    wanted: tuple[Level, ...] = (
        LEVELS if requested == "auto" else tuple(lv for lv in LEVELS if lv == requested)
    )
    chosen: Level | None = None
    for level in wanted:
        reason = _probe(level)
        if reason is None:
            chosen = level
            break
        unavailable[level] = reason
    if chosen is None:
        raise SandboxUnavailable(f"isolation {requested!r} is unavailable: {unavailable[requested]}")
    report = IsolationReport(chosen, unavailable, separate_uid=_is_root(), bwrap_version=_bwrap_version())
    if chosen == "rlimits":
        why = "; ".join(f"{k}: {v}" for k, v in unavailable.items())
        log.warning(
            "realcode sandbox: %s; untrusted code can read world-readable files and use the network. "
            "Install bubblewrap (apt-get install -y bubblewrap) for real isolation.",
            f"only rlimits isolation is available ({why})" if why else "rlimits isolation was requested",
        )
    _REPORTS[requested] = report
    return report
