"""A one-process cluster (in-process broker, SQLite) with the hostile-client settings, and
what tests need to look inside that process: its memory and its connections."""

from __future__ import annotations

from pathlib import Path

from .servers import ROOT, Cluster

__all__ = ["connection_open", "hostile_cluster", "memory"]


def hostile_cluster(workdir: Path) -> Cluster:
    """Started, working in `workdir`; the caller stops it."""
    return Cluster(
        workdir=workdir,
        database_url=f"sqlite+aiosqlite:///{workdir / 'h.db'}",
        redis_url=None,
        processes=1,
        config=str(ROOT / "tests" / "support" / "hearth-hostile.toml"),
    ).start()


def memory(pid: int) -> tuple[int, int]:
    """(resident, peak resident) bytes of a process, from /proc."""
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
    )
    return int(fields["VmRSS"].split()[0]) * 1024, int(fields["VmHWM"].split()[0]) * 1024


def connection_open(pid: int, server_port: int, client_port: int) -> bool:
    """Whether process `pid` holds a TCP socket between its `server_port` and a client's
    `client_port` on loopback (its file descriptors matched against /proc/net/tcp)."""
    inodes = set()
    for link in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = str(link.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            cols = line.split()
            local, remote, inode = cols[1], cols[2], cols[9]
            if (
                int(local.rsplit(":", 1)[1], 16) == server_port
                and int(remote.rsplit(":", 1)[1], 16) == client_port
                and inode in inodes
            ):
                return True
    return False
