"""GX's page views for hedui's Data Docs, with their Jinja templates compiled once per process.

GX makes a Jinja environment per kind of page (suite, validation, index) each time the
site is built, and each compiles the same templates again: that compiling was most of
the CPU of rendering one source's pages.  These views share one in-memory bytecode
cache (`jinja2.BytecodeCache`, checked against each template's source), so a worker
that validates several sources compiles GX's templates once.  Named in the site
configuration of `hedui.steps.validate.datadocs.build_data_docs`; imports GX, so it
is imported only when the site is built.
"""

from __future__ import annotations

from great_expectations.render.view import DefaultJinjaIndexPageView, DefaultJinjaPageView
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket


class _CompiledTemplates(BytecodeCache):
    """Compiled templates kept in memory for the process (Jinja checks each against its source)."""

    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED = _CompiledTemplates()


class PageView(DefaultJinjaPageView):
    """GX's suite and validation page view, sharing the compiled templates."""

    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = COMPILED


class IndexPageView(DefaultJinjaIndexPageView):
    """GX's index page view, sharing the compiled templates."""

    def __init__(self, custom_styles_directory=None, custom_views_directory=None) -> None:
        super().__init__(custom_styles_directory, custom_views_directory)
        self.env.bytecode_cache = COMPILED
