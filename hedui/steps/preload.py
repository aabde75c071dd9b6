"""What the per-source workers of `hedui.pipeline.ingest_all` (`hedui.steps.source_pool`) share, made once in their forkserver.

Importing this module imports Great Expectations and the per-source step modules and fills the
caches every source would otherwise fill again in each worker: the characters where the SQL and
Python name normalizers may differ (`matching.normalize.name_sql_exceptions`, ≈ 0.5–0.9 CPU-s),
OpenCC's dictionaries and the macro statements of ``sql/macros.sql``.  The workers fork from the
forkserver after it has imported this module, so each of them starts with all of it done.
"""

from __future__ import annotations

import great_expectations  # noqa: F401  (seconds to import)

import hedui.privacy.protect  # noqa: F401
import hedui.steps.validate.check  # noqa: F401
from hedui.steps.stage_db import _macro_statements
from matching.normalize import _t2s, name_sql_exceptions

try:
    name_sql_exceptions()
    _t2s()
    _macro_statements()
except Exception:  # noqa: BLE001  the forkserver must start: a worker that needs one fills it and raises there
    pass
