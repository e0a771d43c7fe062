"""How level 3's worker processes start: spawned, without the user's script.

``multiprocessing``'s spawn and forkserver start methods run the parent's
``__main__`` module again in every new process (and forkserver in its server as
well), so that functions defined there can be found by name. A script without an
``if __name__ == "__main__":`` guard then runs again, whole, in each worker: its
prints appear once per worker, and its own level-3 calls try to start pools from
inside the workers' start-up. optlevel's workers never need the script: a
function defined in ``__main__`` is sent by value (:mod:`.ship`, with
cloudpickle), with the current values of the globals it reads. So the pool's
processes start as ``spawn`` does, minus the two entries of the start-up data
that name the main module. The fork start method is not used: it copies a
process whose other threads (Numba's, BLAS's, the caller's) may hold locks.

``_launch`` follows :class:`multiprocessing.popen_spawn_posix.Popen._launch`
(Python 3.8 to 3.13) and differs only in the data handed to the child. Where
there is no POSIX spawn (Windows), :func:`context` returns the standard spawn
context, and the usual ``__main__`` guard applies there.
"""

from __future__ import annotations

import io
import multiprocessing
import os
from multiprocessing import context as mp_context
from multiprocessing import reduction, spawn, util
from typing import Any

__all__ = ["context", "MAIN_KEYS"]

#: The start-up data that makes a spawned child run the parent's ``__main__``.
MAIN_KEYS = ("init_main_from_name", "init_main_from_path")


def context() -> Any:
    """The start method of level 3's process pool (see the module docstring)."""
    if os.name != "posix":
        return multiprocessing.get_context("spawn")
    return _NoMainContext()


def _popen_class() -> type:
    from multiprocessing import popen_spawn_posix

    class NoMainPopen(popen_spawn_posix.Popen):
        def _launch(self, process_obj: Any) -> None:
            from multiprocessing import resource_tracker

            tracker_fd = resource_tracker.getfd()
            self._fds.append(tracker_fd)  # type: ignore[attr-defined]
            prep_data = spawn.get_preparation_data(process_obj._name)
            for key in MAIN_KEYS:  # the one change: the child never runs __main__
                prep_data.pop(key, None)
            fp = io.BytesIO()
            mp_context.set_spawning_popen(self)
            try:
                reduction.dump(prep_data, fp)
                reduction.dump(process_obj, fp)
            finally:
                mp_context.set_spawning_popen(None)
            parent_r = child_w = child_r = parent_w = None
            try:
                parent_r, child_w = os.pipe()
                child_r, parent_w = os.pipe()
                cmd = spawn.get_command_line(tracker_fd=tracker_fd, pipe_handle=child_r)
                self._fds.extend([child_r, child_w])  # type: ignore[attr-defined]
                fds = self._fds  # type: ignore[attr-defined]
                self.pid = util.spawnv_passfds(spawn.get_executable(),  # type: ignore[arg-type]
                                               cmd, fds)
                self.sentinel = parent_r
                with open(parent_w, "wb", closefd=False) as f:
                    f.write(fp.getbuffer())
            finally:
                self.finalizer = util.Finalize(
                    self, util.close_fds,  # type: ignore[attr-defined]
                    [fd for fd in (parent_r, parent_w) if fd is not None])
                for fd in (child_r, child_w):
                    if fd is not None:
                        os.close(fd)

    return NoMainPopen


class _NoMainProcess(mp_context.SpawnProcess):
    _start_method = "spawn"

    @staticmethod
    def _Popen(process_obj: Any) -> Any:
        return _popen_class()(process_obj)


class _NoMainContext(mp_context.SpawnContext):
    Process = _NoMainProcess
