"""What every benchmark shares: the database it runs on.

With DATABASE_URL set, that PostgreSQL; without it, the embedded PostgreSQL in the data
directory (var/ by default), started for the run and stopped after it, as ``ispbills run``
does.
"""

import os
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def on_database(run: Callable[[], int]) -> int:
    """Run ``run`` with the database up; returns its exit code."""
    server = None
    if not os.environ.get("DATABASE_URL"):
        from ispbills.core.embedded_db import EmbeddedPostgres

        server = EmbeddedPostgres(Path(os.environ.get("ISPBILLS_DATA_DIR", ROOT / "var")))
        if not server.start():
            server = None
    try:
        return run()
    finally:
        if server is not None:
            server.stop()
