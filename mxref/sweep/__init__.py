"""``mxref sweep`` (issue 19 §1): every float32 (or float16 / bfloat16) input through mxref.encode,
and every positive finite amax through every scale rule, against an independent oracle
(:mod:`.oracle`), cut into chunks that run as Dask tasks (:mod:`.run`).

Above the core: the core never imports this package. Dask is imported only when a sweep runs
(``pip install 'mxref[dask]'``); the oracle and the chunk work are NumPy only.
"""

from .oracle import encode_oracle, scale_oracle
from .run import read_checkpoint, run_sweep
from .work import DETERMINISTIC_ROUNDINGS, SWEEP_FORMATS, Job, check_chunk, default_jobs


def main(argv=None, prog: str = "mxref sweep") -> int:
    from .cli import main as _main

    return _main(argv, prog=prog)


__all__ = ["run_sweep", "read_checkpoint", "default_jobs", "Job", "check_chunk", "encode_oracle", "scale_oracle",
           "DETERMINISTIC_ROUNDINGS", "SWEEP_FORMATS", "main"]
