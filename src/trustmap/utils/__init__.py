"""Small shared helpers: atomic file writes, hashing, seeding, threads, progress bars."""

from trustmap.utils.files import atomic_write, atomic_write_bytes, atomic_write_text, check_writable, sha256_file
from trustmap.utils.seed import seed_everything, torch_generator
from trustmap.utils.progress import progress_bar
from trustmap.utils.threads import set_threads

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_writable",
    "sha256_file",
    "seed_everything",
    "set_threads",
    "torch_generator",
    "progress_bar",
]
