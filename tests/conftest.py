"""Shared fixtures."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
import threading
import time
from collections.abc import Iterator

import pytest

from dicomframe.plugins import CodecManager

# The plugin scan cache goes to a directory of the test run's own, never the user's
# ~/.cache; child processes the tests start inherit it. tests/plugins gives each test
# its own on top of this.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="dicomframe-test-cache-")


@pytest.fixture
def manager() -> CodecManager:
    """A fresh, empty codec manager: tests register what they need, never a global."""
    return CodecManager(entry_points=False)


@pytest.fixture(autouse=True, scope="module")
def _no_threads_left_behind() -> Iterator[None]:
    """Each test module ends with the threads it started gone.

    dicomframe forks its workers only from a process without other threads
    (fsspec's IO thread excepted), so a thread left by one module (fsspec's
    loop executor, dask's local scheduler pool, a test server's keep-alive
    handler) would turn the forking tests of a later module into serial runs.
    fsspec's loop and dask's pool are stopped here, and the others are given
    a moment to end.
    """
    before = set(threading.enumerate())
    yield
    _stop_fsspec_loop()
    _stop_dask_pool()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        left = [t for t in threading.enumerate() if t not in before and t.is_alive()]
        if not left:
            return
        time.sleep(0.05)


def _stop_fsspec_loop() -> None:
    """Close fsspec's cached filesystems and stop its IO loop and the loop's executor."""
    asyn = sys.modules.get("fsspec.asyn")
    if asyn is None or asyn.loop[0] is None:
        return
    import asyncio
    import gc

    from fsspec.spec import AbstractFileSystem

    loop, thread = asyn.loop[0], asyn.iothread[0]
    for kind in [AbstractFileSystem, *_subclasses(AbstractFileSystem)]:
        kind.clear_instance_cache()
    gc.collect()  # the filesystems' finalizers close their sessions on the loop
    with contextlib.suppress(Exception):  # a loop already stopping: nothing more to shut
        asyncio.run_coroutine_threadsafe(loop.shutdown_default_executor(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    if thread is not None:
        thread.join(5)
    if not loop.is_running():
        loop.close()
    asyn.loop[0] = None
    asyn.iothread[0] = None


def _stop_dask_pool() -> None:
    """Shut the pool of dask's local threaded scheduler (a ``compute()`` without a cluster)."""
    threaded = sys.modules.get("dask.threaded")
    pool = None if threaded is None else threaded.default_pool
    if pool is not None:
        pool.shutdown(wait=True)
        threaded.default_pool = None


def _subclasses(kind: type) -> list[type]:
    found = []
    for sub in kind.__subclasses__():
        found += [sub, *_subclasses(sub)]
    return found
