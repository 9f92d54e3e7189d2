"""``mxref audit`` (issue 19 §2): the MX tensors of a .safetensors checkpoint checked for structure
(:mod:`.tensor`), and with the source weights re-quantized with mxref and compared block by block,
each difference given a cause. The layouts are declared entries (:mod:`.layouts`); every tensor is
one Dask task (:mod:`.run`; ``pip install 'mxref[dask]'``)."""

from .layouts import LAYOUTS, Layout
from .run import audit_checkpoint
from .tensor import CAUSES


def main(argv=None, prog: str = "mxref audit") -> int:
    from .cli import main as _main

    return _main(argv, prog=prog)


__all__ = ["audit_checkpoint", "LAYOUTS", "Layout", "CAUSES", "main"]
