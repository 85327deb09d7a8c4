"""The SQLite results store."""

from trustmap.store.sqlite import (
    ResultsStore,
    RunInterrupted,
    RunRecord,
    default_store_path,
    library_versions,
    recorded,
)

__all__ = ["ResultsStore", "RunInterrupted", "RunRecord", "default_store_path", "library_versions", "recorded"]
