"""Record a live peer library's outputs for the checker (tests/peers/recordings/<library>/).

    PYTHONPATH=. python tools/record_peers.py LIBRARY [DIR]

Runs the adapter on level-1 cases and keeps a small sample per target
(mxref.conformance.record.write_recordings); the tests classify it without the library.
"""

import sys
import time
from pathlib import Path

from mxref.conformance.adapters import make_adapter
from mxref.conformance.record import write_recordings
from mxref.conformance.adapters.compressed_tensors_ import ct_call
from mxref.conformance.adapters.modelopt_ import modelopt_call
from mxref.conformance.adapters.onnx_ import onnx_call
from mxref.conformance.adapters.quark_ import quark_call

CALLS = {"onnx": onnx_call, "onnxruntime": onnx_call, "compressed_tensors": ct_call, "modelopt": modelopt_call,
         "quark": quark_call,
         "ml_dtypes": lambda t: ("x.astype(ml_dtypes.float8_e8m0fnu)" if t.operation == "encode_e8m0"
                                 else f"x.astype(ml_dtypes.<{t.format}>)")}

if __name__ == "__main__":
    lib = sys.argv[1]
    a = make_adapter(lib)
    why = a.availability()
    if why:
        sys.exit(f"{lib}: {why}")
    d = Path(sys.argv[2]) if len(sys.argv) > 2 else Path("tests/peers/recordings") / lib
    t0 = time.perf_counter()
    m = write_recordings(a, d, profiles="all", calls=CALLS.get(lib))
    print(f"{lib} {m['version']}: {len(m['targets'])} targets, {len(m['sha256'])} files in {d} "
          f"[{time.perf_counter() - t0:.1f} s]")
