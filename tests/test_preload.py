"""The forkserver preload of the per-source workers (hedui.steps.preload)."""

import importlib


def test_preload_fills_the_caches_the_workers_share():
    from hedui.steps.stage_db import _macro_statements
    from matching.normalize import _t2s, name_sql_exceptions

    for cached in (name_sql_exceptions, _t2s, _macro_statements):
        cached.cache_clear()
    importlib.reload(importlib.import_module("hedui.steps.preload"))
    for cached in (name_sql_exceptions, _t2s, _macro_statements):
        assert cached.cache_info().currsize == 1, cached.__name__


def test_the_pool_preloads_it():
    import inspect

    from hedui.steps import source_pool

    assert 'set_forkserver_preload(["hedui.steps.preload"])' in inspect.getsource(source_pool.run_sources)
