"""Quiet imports of peer libraries (a leaf module: it imports nothing from mxref).

Peer libraries print chatter on import that is not the output of the mxref tool importing them:
torchao 0.18 logs "Failed to load ..." for each CUDA-only extension it cannot load on a CPU
machine, and torch 2.13 logs a deprecation of torchao's ``register_constant`` on Enums.
"""

from __future__ import annotations

import contextlib
import logging
import warnings

__all__ = ["quiet_torchao", "TORCHAO_LOGGERS"]


#: Loggers that print while torch / torchao import on a CPU-only machine (native libraries that do
#: not load, deprecation notes).
TORCHAO_LOGGERS = ("torchao", "torch.utils._pytree")


@contextlib.contextmanager
def quiet_torchao():
    """A context manager for importing (or first using) torch and torchao without their
    import-time chatter: while the block runs, the loggers in :data:`TORCHAO_LOGGERS` show errors
    only and Python warnings raised from torchao's own modules are ignored; every other logger
    and warning is left as it is (mxref's messages still show), and the levels are restored
    afterwards, whatever the block raises, so an ImportError still propagates.

        with quiet_torchao():
            import torch
            from torchao.prototype.mx_formats.mx_tensor import MXTensor
    """
    loggers = [logging.getLogger(name) for name in TORCHAO_LOGGERS]
    levels = [lg.level for lg in loggers]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"torchao(\.|$)")
        for lg in loggers:
            lg.setLevel(logging.ERROR)
        try:
            yield
        finally:
            for lg, lv in zip(loggers, levels):
                lg.setLevel(lv)
