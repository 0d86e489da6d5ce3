"""One student process, driven one run at a time from the grader's side.

A :class:`Session` forks a child through the worker's zygote, sends it the
:class:`~grader.sandbox.protocol.Setup`, and then, per run, writes that
run's inputs into the shared input region, sends a
:class:`~grader.sandbox.protocol.RunRequest` and waits for exactly one
matching :class:`~grader.sandbox.protocol.RunReport`.

Every limit is set and enforced here, from outside the child, and nothing
the child sends extends it:

* a CPU-time limit per run (the child's own CPU seconds, read from
  ``/proc``: a busy machine does not make correct code "slow") and an
  absolute wall-clock deadline per run (for code that sleeps or blocks);
* resident memory (polled), on top of the child's ``RLIMIT_AS``;
* captured stdout/stderr (the first ``output_bytes`` kept, the rest
  counted; what hidden runs print is never kept);
* the size and the order of what the child sends: a frame that is
  malformed, oversized, out of turn, or carries the wrong nonce stops the
  child (``protocol``) — never an exception in the grader;
* at the end, an ``exit`` request the child must obey within
  :data:`EXIT_GRACE` seconds, else it is killed; its temp folder is always
  removed.
"""

from __future__ import annotations

import mmap
import os
import secrets
import selectors
import signal
import struct
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from grader.sandbox import protocol, wire
from grader.sandbox.procfs import _rss_kb, cpu_seconds, remove_tree, run_queue_seconds
from grader.sandbox.protocol import TAMPER_EXIT, ImportReport, InputLayout, ProtocolError, RunReport, RunRequest, Setup

__all__ = ["Session", "Stop", "RunOutcome", "ImportOutcome", "EXIT_GRACE", "MAX_RESULT_BYTES", "remove_tree",
           "cpu_seconds"]

MAX_RESULT_BYTES = 512 << 20
EXIT_GRACE = 2.0
_HEAD = struct.Struct("<4sIQ")


def _widen(fd: int, size: int = 1 << 20) -> None:
    """Grow a pipe's buffer (Linux ``F_SETPIPE_SZ``) up to ``size`` bytes, or as far as allowed."""
    import fcntl

    op = getattr(fcntl, "F_SETPIPE_SZ", 1031)
    for n in (size, 256 << 10):
        try:
            fcntl.fcntl(fd, op, n)
            return
        except OSError:  # above /proc/sys/fs/pipe-max-size, or not Linux
            continue


@dataclass(frozen=True)
class Stop:
    """Why the grader stopped (or lost) the child.

    Attributes:
        reason: ``timeout`` (CPU or wall limit of the current run), ``memory``,
            ``output`` (sent back more than any answer needs), ``protocol``
            (wrote to the result channel out of turn, or garbage), ``crash``
            (the process ended on its own), ``budget`` (the submission's time ran out).
        detail: one sentence for the report.
        limit_s: the limit that was exceeded (seconds), when a time limit.
        exit_status: the child's wait status, when known.
    """

    reason: str
    detail: str = ""
    limit_s: float | None = None
    exit_status: int | None = None


@dataclass(frozen=True)
class ImportOutcome:
    """The submission's cells ran (``report``), or the child was stopped first (``stop``)."""

    report: ImportReport | None
    stop: Stop | None = None
    cpu_seconds: float = 0.0


@dataclass(frozen=True)
class RunOutcome:
    """One run: the child's report (None when stopped), and what the grader measured itself.

    Attributes:
        report: the validated report, or None.
        stop: why the child was stopped during this run, or None.
        cpu_seconds / wall_seconds: measured by the grader.
        modified: paths (``("args", 0)``, ``("kwargs", "x")``...) of input tensors whose memory
            changed during the call, read back from the shared region by the grader.
        output: what the run printed (empty for hidden runs: never kept).
    """

    report: RunReport | None
    stop: Stop | None = None
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    modified: tuple = ()
    output: str = ""


@dataclass
class _Streams:
    keep: int
    data: dict = field(default_factory=lambda: {"out": bytearray(), "err": bytearray()})
    dropped: int = 0
    hidden_bytes: int = 0


class Session:
    """A child running one submission module; cases are sent to it one at a time.

    Args:
        worker: a started :class:`grader.sandbox.worker.Worker`.
        setup: what to import and how to confine it (``sandbox.tmpdir`` and
            ``region_size`` are filled in here).
        memory_mb: resident memory allowed beyond the child's start, MiB.
        output_bytes: stdout+stderr bytes kept.
        region_size: bytes of the shared input region (the largest run's inputs, aligned).

    Use as a context manager, or call :meth:`close`. Never raises for
    anything the child does.
    """

    def __init__(self, worker, setup: dict, *, memory_mb: int, output_bytes: int, region_size: int) -> None:
        self.worker = worker
        self.setup = dict(setup)
        self.memory_mb = memory_mb
        self.streams = _Streams(keep=output_bytes)
        self.region_size = max(int(region_size), protocol.ALIGN)
        self.pid: int | None = None
        self.stop: Stop | None = None
        self.exit_status: int | None = None
        self.peak_rss_mb = 0.0
        self._next_index = 0
        self._rss0: int | None = None
        self._buf = bytearray()
        self._total = 0
        self._reports: list = []
        self._res_open = True
        self._sel: selectors.BaseSelector | None = None
        self._fds: dict[str, int] = {}
        self._pending = b""
        self._region = None
        self._tmp = None
        self._segments: list[str] = []
        self._hidden = False
        self.history: list[str] = []  # the function of every run sent, in order

    # -- lifecycle ----------------------------------------------------------
    def __enter__(self) -> "Session":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        return self.pid is not None and self.stop is None

    def open(self, *, cpu_limit: float, wall_limit: float) -> ImportOutcome:
        """Fork the child, send the setup, wait for the submission's cells to run."""
        self._tmp = tempfile.mkdtemp(prefix="grade-run-")
        os.chmod(self._tmp, 0o700)
        sb = dict(self.setup.get("sandbox", {}), tmpdir=self._tmp)
        sb["read_roots"] = list(self.worker.read_roots) + list(sb.get("read_roots", []))
        sb["library_dirs"] = list(self.worker.library_dirs)
        self.setup["sandbox"] = sb
        self.setup["region_size"] = self.region_size
        memfd = os.memfd_create("grade-inputs", os.MFD_CLOEXEC) if hasattr(os, "memfd_create") else -1
        if memfd >= 0:
            os.ftruncate(memfd, self.region_size)
            self._region = mmap.mmap(memfd, self.region_size)
        req_r, req_w = os.pipe()
        res_r, res_w = os.pipe()
        _widen(res_r)  # outputs of a megabyte or more in fewer round trips
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        fds = [req_r, res_w, out_w, err_w] + ([memfd] if memfd >= 0 else [])
        try:
            self.pid = self.worker._fork(fds)
        except Exception as e:  # noqa: BLE001 - the worker itself failed
            for fd in (req_w, res_r, out_r, err_r):
                os.close(fd)
            self.stop = Stop("crash", f"the grading worker could not start a process ({e})")
            return ImportOutcome(None, self.stop)
        finally:
            for fd in fds:
                os.close(fd)
        self._fds = {"req": req_w, "res": res_r, "out": out_r, "err": err_r}
        self._sel = selectors.DefaultSelector()
        for name in ("res", "out", "err"):
            os.set_blocking(self._fds[name], False)
            self._sel.register(self._fds[name], selectors.EVENT_READ, name)
        os.set_blocking(req_w, False)
        self._send(wire.encode(None, Setup(**{k: self.setup[k] for k in (
            "module_name", "filename", "cells", "notebook", "banned", "banned_ops", "limits", "sandbox",
            "region_size", "devices", "function_bans")}).to_meta()))
        cpu0 = cpu_seconds(self.pid) or 0.0
        got = self._wait(lambda: bool(self._reports), cpu_limit=cpu_limit, wall_limit=wall_limit, cpu0=cpu0)
        cpu = (cpu_seconds(self.pid) or cpu0) - cpu0
        if got is None:
            return ImportOutcome(None, self.stop, cpu)
        rep = self._reports.pop(0)
        if not isinstance(rep, ImportReport) or self._reports:
            self._halt(Stop("protocol", "the process wrote to the grader's result channel out of turn"))
            return ImportOutcome(None, self.stop, cpu)
        if not rep.ok:
            self.close()
        return ImportOutcome(rep, None, cpu)

    def run(self, *, function: str, device: str, inputs: Any, seed: int, cpu_limit: float, wall_limit: float,
            hidden: bool = False, trajectory: dict | None = None) -> RunOutcome:
        """Run ``function`` on ``inputs`` (a decoded ``{"args", "kwargs"}`` tree) and wait for its report.

        With ``trajectory`` the child drives the function as an update rule for every step of a
        trajectory case and reports the whole run (see :class:`~grader.sandbox.protocol.RunRequest`).
        """
        if not self.alive:
            return RunOutcome(None, self.stop or Stop("crash", "the process is no longer running"))
        # Bytes that arrived since the last report belong to the previous run, not to this one.
        if self._extra_bytes():
            self._halt(Stop("protocol", "the process wrote to the grader's result channel out of turn (a frame "
                                        "the grader did not ask for); the results of this process are not trusted"))
            return RunOutcome(None, self.stop)
        index = self._next_index
        self._next_index += 1
        self.history.append(function)
        nonce = secrets.randbits(63)
        layout: InputLayout | None = None
        value = None
        if self._region is not None:
            layout = protocol.layout_inputs(inputs, capacity=self.region_size)
        if layout is not None:
            for off, raw, _ in layout.blocks:
                self._region[off:off + len(raw)] = raw
            header = layout.header
        else:
            header, value = None, inputs
        req = RunRequest(index=index, nonce=nonce, function=function, device=device, seed=int(seed),
                         inputs=header, trajectory=trajectory)
        self._hidden = hidden
        mark = self._output_mark()
        self._send(wire.encode(value, req.to_meta()) if header is None else wire.encode(None, req.to_meta()))
        t0 = time.monotonic()
        cpu0 = cpu_seconds(self.pid) or 0.0
        got = self._wait(lambda: bool(self._reports), cpu_limit=cpu_limit, wall_limit=wall_limit, cpu0=cpu0)
        wall = time.monotonic() - t0
        cpu = max(0.0, (cpu_seconds(self.pid) or cpu0) - cpu0)
        self._drain_streams(0.0)
        output = self._output_since(mark)
        self._hidden = False
        if got is None:
            return RunOutcome(None, self.stop, cpu, wall, output=output)
        rep = self._reports.pop(0)
        if (not isinstance(rep, RunReport) or rep.index != index or rep.nonce != nonce or self._reports
                or self._extra_bytes()):
            self._halt(Stop("protocol", "the process wrote to the grader's result channel out of turn (a frame "
                                        "the grader did not ask for); the results of this process are not trusted"))
            return RunOutcome(None, self.stop, cpu, wall, output=output)
        modified = tuple(protocol.modified_inputs(layout, self._region)) if layout is not None else ()
        return RunOutcome(rep, None, cpu, wall, modified, output)

    def close(self) -> int | None:
        """Ask the child to exit, kill it after :data:`EXIT_GRACE` seconds, remove its temp folder.

        Returns its wait status when known. A frame received after the last
        report marks the session as tampered (``stop.reason == "protocol"``).
        """
        if self.pid is not None and self._fds:
            if self.stop is None:
                try:
                    self._send(wire.encode(None, {"kind": "exit"}), timeout=0.5)
                except Exception:  # noqa: BLE001
                    pass
                self._wait(lambda: not self._res_open, cpu_limit=EXIT_GRACE, wall_limit=EXIT_GRACE,
                           cpu0=cpu_seconds(self.pid) or 0.0, quiet=True)
                if self._reports or self._buf:
                    self.stop = Stop("protocol", "the process wrote to the grader's result channel after its last "
                                                 "result")
            self._kill()
        self._cleanup()
        return self.exit_status

    # -- internals ------------------------------------------------------------
    def _send(self, frame: bytes, timeout: float | None = None) -> None:
        self._pending += frame
        if timeout is not None:
            end = time.monotonic() + timeout
            while self._pending and time.monotonic() < end:
                self._pump(0.02)

    def _output_mark(self) -> int:
        return len(self._segments)

    def _output_since(self, mark: int) -> str:
        return "".join(self._segments[mark:])

    def _take_stream(self, name: str, data: bytes) -> None:
        st = self.streams
        if self._hidden:
            st.hidden_bytes += len(data)
            return
        room = st.keep - (len(st.data["out"]) + len(st.data["err"]))
        if room > 0:
            part = data[:room]
            st.data[name] += part
            self._segments.append(part.decode("utf-8", "replace"))
        st.dropped += max(0, len(data) - max(room, 0))

    def _pump(self, timeout: float) -> None:
        """One round of I/O: write pending request bytes, read whatever the child sent."""
        if self._sel is None:
            time.sleep(timeout)
            return
        if self._pending:
            try:
                n = os.write(self._fds["req"], self._pending[:1 << 16])
                self._pending = self._pending[n:]
                timeout = 0.0 if self._pending else timeout
            except BlockingIOError:
                timeout = min(timeout, 0.005)
            except OSError:
                self._pending = b""
        for key, _ in self._sel.select(timeout):
            name = key.data
            fd = key.fd
            try:
                data = os.read(fd, 1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                self._sel.unregister(fd)
                if name == "res":
                    self._res_open = False
                continue
            if name == "res":
                self._buf += data
                self._total += len(data)
                if self._total > MAX_RESULT_BYTES:
                    self._halt(Stop("output", "sent back more data than any correct answer needs; stopped."))
                    return
                try:
                    self._parse()
                except Exception as e:  # noqa: BLE001 - whatever the bytes (RecursionError included): a verdict
                    why = str(e) if isinstance(e, (wire.WireError, ProtocolError)) else type(e).__name__
                    self._halt(Stop("protocol", f"the process corrupted the grader's result channel ({why})"))
                    return
            else:
                self._take_stream(name, data)

    def _parse(self) -> None:
        while len(self._buf) >= _HEAD.size:
            magic, hlen, plen = _HEAD.unpack_from(self._buf, 0)
            if magic != wire.MAGIC or hlen > wire.MAX_HEADER or plen > wire.MAX_PAYLOAD:
                raise ProtocolError("corrupt result stream")
            end = _HEAD.size + hlen + plen
            if len(self._buf) < end:
                return
            header = bytes(self._buf[_HEAD.size:_HEAD.size + hlen])
            payload = bytes(self._buf[_HEAD.size + hlen:end])
            del self._buf[:end]
            meta, value = wire.decode(header, payload)
            self._reports.append(protocol.parse_report(meta, value))

    def _extra_bytes(self) -> bool:
        """After a report: is anything more already waiting in the result pipe?"""
        self._pump(0.0)
        return bool(self._buf) or bool(self._reports)

    def _wait(self, done, *, cpu_limit: float, wall_limit: float, cpu0: float, quiet: bool = False):
        """Pump until ``done()``; stop the child on a limit. Returns True, or None when stopped."""
        start = time.monotonic()
        deadline = start + wall_limit
        backstop = start + max(10 * wall_limit, wall_limit + 120)  # however starved: never wait longer
        rq0 = run_queue_seconds(self.pid) if self.pid else None
        next_poll = 0.0
        while True:
            if self.stop is not None:
                return None
            if done():
                return True
            now = time.monotonic()
            if not self._res_open and not self._reports:
                if quiet:
                    return None
                self._lost()
                return None
            if now >= deadline:
                # Time the child spent waiting for a CPU (a busy machine) does not count: move the deadline.
                rq = run_queue_seconds(self.pid) if (rq0 is not None and self.pid) else None
                if rq is not None and rq - rq0 > 0 and now < backstop:
                    deadline = min(start + wall_limit + (rq - rq0), backstop)
                if now >= deadline:
                    if quiet:
                        return None
                    self._halt(Stop("timeout", f"timed out after {wall_limit:.3g} s of wall-clock time (the limit for "
                                               "this case; is it waiting or sleeping?).", limit_s=wall_limit))
                    return None
            if now >= next_poll:
                next_poll = now + 0.02
                cpu = cpu_seconds(self.pid)
                if cpu is not None and cpu - cpu0 > cpu_limit and not quiet:
                    self._halt(Stop("timeout", f"timed out after {cpu_limit:.3g} s of CPU time (the limit for this "
                                               "case).", limit_s=cpu_limit))
                    return None
                rss = _rss_kb(self.pid)
                if rss is not None:
                    if self._rss0 is None:
                        self._rss0 = rss
                    extra = (rss - self._rss0) / 1024
                    self.peak_rss_mb = max(self.peak_rss_mb, extra)
                    if extra > self.memory_mb and not quiet:
                        self._halt(Stop("memory", f"exceeded the memory limit: used more than {self.memory_mb} MiB."))
                        return None
            self._pump(max(0.0, min(0.02, deadline - now)))

    def _drain_streams(self, seconds: float) -> None:
        """Read what stdout/stderr hold, waiting up to ``seconds`` for more; stops early at their end."""
        end = time.monotonic() + seconds
        while self._sel is not None:
            streams = [k for k in self._sel.get_map().values() if k.data != "res"]
            if not streams:
                return
            left = max(0.0, end - time.monotonic())
            events = [(k, e) for k, e in self._sel.select(min(left, 0.01)) if k.data != "res"]
            if not events and left <= 0:
                return
            for key, _ in events:
                try:
                    data = os.read(key.fd, 1 << 20)
                except (BlockingIOError, OSError):
                    data = b""
                if not data:
                    self._sel.unregister(key.fd)
                    continue
                self._take_stream(key.data, data)

    def _lost(self) -> None:
        """The child closed its result channel without being asked: it ended on its own (or the sandbox's
        ledger ended it because the grader's guard was modified: exit code ``TAMPER_EXIT``)."""
        self._kill()
        st = self.exit_status
        if st is not None and os.WIFEXITED(st) and os.WEXITSTATUS(st) == TAMPER_EXIT:
            self.stop = Stop("tamper", "the grader's guard was modified while your code ran", exit_status=st)
        else:
            self.stop = Stop("crash", "the process ended unexpectedly", exit_status=st)

    def _halt(self, stop: Stop) -> None:
        self.stop = stop
        self._kill()
        if stop.exit_status is None and self.exit_status is not None:
            self.stop = Stop(stop.reason, stop.detail, stop.limit_s, self.exit_status)

    def _kill(self) -> None:
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        for f in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
            try:
                f()
            except OSError:
                pass
        self._drain_streams(0.05)
        self.exit_status = self.worker._wait_exit(pid, 5.0)
        self._last_pid = pid

    def _cleanup(self) -> None:
        if self._sel is not None:
            self._sel.close()
            self._sel = None
        for fd in self._fds.values():
            try:
                os.close(fd)
            except OSError:
                pass
        self._fds = {}
        if self._region is not None:
            try:
                self._region.close()
            except BufferError:
                pass
            self._region = None
        if self._tmp:
            remove_tree(self._tmp)
            self._tmp = None

    @property
    def suspects(self) -> set[str]:
        """After a protocol violation: the function whose results it may have forged (the function of the
        last run sent: frames that arrived before a request was sent are caught before it is); empty otherwise."""
        if self.stop is None or self.stop.reason != "protocol" or not self.history:
            return set()
        return {self.history[-1]}

    @property
    def printed(self) -> tuple[bytes, bytes, int, int]:
        """(stdout kept, stderr kept, bytes dropped beyond the cap, bytes printed by hidden runs)."""
        st = self.streams
        return bytes(st.data["out"]), bytes(st.data["err"]), st.dropped, st.hidden_bytes
