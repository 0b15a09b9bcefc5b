"""Code for the user's kernel (seeding, file-access recorder, variable transport) and its generator.

``runtime`` runs inside the kernel and is stdlib-only; ``codegen`` runs in the runner's process and
turns the runtime into cells (bootstrap, prelude, epilogue) for kernels that lack jupyter-repro.
This package imports nothing at import time so that importing it inside a kernel stays cheap.
"""
