"""Small language models trained in the project, and trust checks for any text generator.

- :mod:`trustmap.llm.lm`: a tiny word-level GPT trained on Rotten Tomatoes snippets (safetensors + JSON).
- :mod:`trustmap.llm.generators`: the one-method :class:`TextGenerator` plugin interface and its registry.
- :mod:`trustmap.llm.trust`: TrustLLM-style tasks (refusal, over-refusal, leakage, toxicity) and their runner.
"""
