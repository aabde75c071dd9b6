"""The per-source worker processes of `hedui run` (`hedui.pipeline.ingest_all`), two sources at a time.

Workers fork from a fresh single-threaded forkserver that has imported GX and filled the shared
caches once (`hedui.steps.preload`); forking the run's process, which may run DuckDB/polars threads
already, can deadlock them.  The forkserver and its workers ignore Ctrl+C: the run's process alone
hears it, stops the workers at once and prints its one Chinese line.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

#: the environment a worker takes from the run that starts it: hedui's settings and Airflow's connections
INHERITED = ("HEDUI_", "AIRFLOW_CONN_")


def _worker_init(threads: int, log_level: int, environ: dict | None = None) -> None:
    from hedui.settings import use_threads

    # the forkserver may have started before the caller set its environment (sources config, connections), or
    # under settings the caller has since dropped (an earlier run's sources config): the caller's, exactly
    if environ is not None:
        for stale in [k for k in os.environ if k.startswith(INHERITED) and k not in environ]:
            del os.environ[stale]
        os.environ.update(environ)
    use_threads(threads)
    if log_level < logging.WARNING:  # a verbose run: the workers log like the parent (masked)
        from hedui.logs import setup_logging

        setup_logging(verbose=True)


def _inherited_environ() -> dict:
    """The caller's hedui settings and Airflow connections, for the per-source workers."""
    return {k: v for k, v in os.environ.items() if k.startswith(INHERITED)}


def run_sources(fn: Callable, ctx, order: list[str], workers: int, threads: int, progress=None) -> dict:
    """``fn(ctx, source)`` for each source of `order` in `workers` processes; {source: its result}.

    A failing source raises after the others have finished; an interrupt stops the workers at once.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(["hedui.steps.preload"])
    _start_forkserver_deaf_to_ctrl_c(mp)
    with ProcessPoolExecutor(workers, mp_context=mp, initializer=_worker_init,
                             initargs=(max(1, threads // workers), logging.getLogger().getEffectiveLevel(),
                                       _inherited_environ())) as pool:
        try:
            futures = {s: pool.submit(fn, ctx, s) for s in order}
            names = {f: s for s, f in futures.items()}
            for f in as_completed(futures.values()):
                if progress is not None:
                    progress.advance(f"导入 {names[f]}")
            errors = [f.exception() for f in futures.values() if f.exception() is not None]
        except BaseException:  # Ctrl+C (or a kill) here: stop the workers now, not after their sources
            pool.shutdown(wait=False, cancel_futures=True)
            for proc in list((getattr(pool, "_processes", None) or {}).values()):
                proc.terminate()
            raise
    if errors:
        raise errors[0]
    return {s: f.result() for s, f in futures.items()}


def _start_forkserver_deaf_to_ctrl_c(mp) -> None:
    """Start the workers' forkserver with SIGINT blocked, so that it and the workers forked from it never see it.

    Ctrl+C in a terminal reaches the whole process group: the forkserver (importing GX) and each
    worker printed a KeyboardInterrupt traceback before the run's one Chinese line.  A signal mask
    is inherited across fork and exec; the forkserver ignores SIGINT once its imports are done
    (dropping what was pending), its workers keep it blocked.  This process never ignores SIGINT:
    ignoring it here, even with this thread's mask blocking it, lost a press that the kernel handed
    to another thread (DuckDB's, polars'), and the run went on to the end.  A press meanwhile is held
    until a first child has forked (workers forked after this process ended print tracebacks), then
    raised.  Only the main thread can change a signal's handler: elsewhere (no terminal) it is not held.
    """
    import signal
    import threading
    from multiprocessing import forkserver, resource_tracker

    resource_tracker.ensure_running()  # started first: its start unblocks SIGINT (bpo-33613)
    held: list[bool] = []
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, lambda *_: held.append(True)) if main else None
    try:
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            forkserver.ensure_running()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)  # a press meanwhile reaches `held` now
        first = mp.Process(target=os.getpid)  # returns once the forkserver's imports are done
        first.start()
        first.join()
    finally:
        if main:
            signal.signal(signal.SIGINT, previous)
    if held:
        raise KeyboardInterrupt
