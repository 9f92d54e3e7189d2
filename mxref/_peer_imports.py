"""Quiet imports of peer libraries (a leaf module: it imports nothing from mxref).

Peer libraries print chatter on import that is not the output of the mxref tool importing them:
torchao 0.18 logs "Failed to load ..." for each CUDA-only extension it cannot load on a CPU
machine, and torch 2.13 logs a deprecation of torchao's ``register_constant`` on Enums.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

__all__ = ["quiet_torchao"]


@contextlib.contextmanager
def quiet_torchao():
    """A context manager for importing (or first using) torch and torchao without their
    import-time chatter: while the block runs, every Python warning is ignored and logging below
    ERROR is off (``logging.disable(logging.WARNING)``); both are restored afterwards, whatever
    the block raises, so an ImportError still propagates. Keep the block short -- it silences
    every logger and warning, not only torchao's; mxref's tools print their own messages rather
    than log them.

        with quiet_torchao():
            import torch
            from torchao.prototype.mx_formats.mx_tensor import MXTensor
    """
    before = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        logging.disable(before)
