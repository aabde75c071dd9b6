"""One Settings object: every resource knob read in one place, with one default each."""

from __future__ import annotations

import pytest

from hedui.errors import ConfigError
from hedui.settings import Settings


def test_defaults_are_one_value_each():
    s = Settings.from_env({})
    assert (s.threads, s.memory_limit, s.source_memory_limit, s.report_pdf, s.report_batch) == (
        2, "4GB", "1GB", "auto", 0)
    assert 1 <= s.ingest_workers <= 2


def test_values_come_from_the_environment():
    s = Settings.from_env({"HEDUI_THREADS": "4", "HEDUI_MEMORY_LIMIT": "8GB", "HEDUI_REPORT_PDF": "none",
                           "HEDUI_INGEST_WORKERS": "3", "HEDUI_REPORT_POOL_MIN": "10"})
    assert (s.threads, s.memory_limit, s.report_pdf, s.ingest_workers, s.report_pool_min) == (4, "8GB", "none", 3, 10)


@pytest.mark.parametrize("env, named", [
    ({"HEDUI_THREADS": "two"}, "HEDUI_THREADS"),
    ({"HEDUI_THREADS": "0"}, "HEDUI_THREADS"),
    ({"HEDUI_REPORT_PDF": "some"}, "HEDUI_REPORT_PDF"),
])
def test_a_bad_value_is_a_chinese_error_naming_the_variable(env, named):
    with pytest.raises(ConfigError, match=named):
        Settings.from_env(env)
