"""Small shared helpers: atomic file writes, hashing, seeding, progress bars."""

from trustmap.utils.files import atomic_write, atomic_write_bytes, atomic_write_text, check_writable, sha256_file
from trustmap.utils.seed import seed_everything, torch_generator
from trustmap.utils.progress import progress_bar

__all__ = [
    "atomic_write",
    "atomic_write_bytes",
    "atomic_write_text",
    "check_writable",
    "sha256_file",
    "seed_everything",
    "torch_generator",
    "progress_bar",
]
