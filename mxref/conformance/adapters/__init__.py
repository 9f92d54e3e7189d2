"""The adapters, one file per library, and the registry :data:`ADAPTERS`.

Each adapter fulfils :class:`~.base.Adapter` (the declared contract: run, record or compare).
A new library: one file here, subclassing Adapter, and one line in :data:`ADAPTERS`.
"""

from __future__ import annotations

from .base import MODES, Adapter
from .dump import DumpAdapter, write_dump
from .gfloat_ import GfloatAdapter
from .microxcaling import MicroxcalingAdapter, default_recordings
from .mma_sim import MmaSimAdapter
from .ml_dtypes_ import MlDtypesAdapter
from .mxref_ import MxrefAdapter
from .spec_vectors import VectorsAdapter, default_vectors
from .torchao_ import TorchaoAdapter
from .onnx_ import OnnxAdapter
from .onnxruntime_ import OnnxruntimeAdapter
from .compressed_tensors_ import CompressedTensorsAdapter
from .modelopt_ import ModeloptAdapter
from .quark_ import QuarkAdapter
from .recorded import RecordedAdapter

__all__ = ["ADAPTERS", "MODES", "Adapter", "DumpAdapter", "GfloatAdapter", "MicroxcalingAdapter",
           "MlDtypesAdapter", "MmaSimAdapter", "MxrefAdapter", "TorchaoAdapter", "VectorsAdapter", "default_recordings",
           "default_vectors", "make_adapter", "write_dump"]

#: Adapter classes by --library name. ``dump`` reads either layout: dump.json, or the
#: spec_vectors layout when the directory holds MANIFEST.json and no dump.json
#: (``spec_vectors`` asks for the latter by name).
ADAPTERS = {"ml_dtypes": MlDtypesAdapter, "gfloat": GfloatAdapter, "torchao": TorchaoAdapter,
            "microxcaling": MicroxcalingAdapter, "dump": DumpAdapter, "spec_vectors": VectorsAdapter,
            "mxref": MxrefAdapter, "mma-sim": MmaSimAdapter}
# issue 16: the CPU-installable MX ecosystem (one file each) and their recordings
ADAPTERS.update({"onnx": OnnxAdapter, "onnxruntime": OnnxruntimeAdapter, "recorded": RecordedAdapter,
                 "compressed_tensors": CompressedTensorsAdapter, "modelopt": ModeloptAdapter,
                 "quark": QuarkAdapter})

#: libraries that read a directory given by --dump (not run by --library all without one)
NEEDS_DUMP = ("dump", "spec_vectors")


def make_adapter(library, dump=None, recordings=None, vectors=None) -> Adapter:
    """The adapter of a --library name (an Adapter is returned as it is), built from the data
    locations: ``dump`` (--dump), ``recordings`` (--recordings), ``vectors`` (--vectors)."""
    if isinstance(library, Adapter):
        return library
    if library not in ADAPTERS:
        raise ValueError(f"unknown library {library!r}; known: {', '.join(ADAPTERS)}")
    return ADAPTERS[library].from_options(dump=dump, recordings=recordings, vectors=vectors)
