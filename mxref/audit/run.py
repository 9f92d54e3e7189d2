"""Running an audit on Dask: every MX tensor one task (memory-mapped reads inside the task, one
tensor at a time, so memory stays bounded by the largest tensor), then the summary."""

from __future__ import annotations

import sys

from .layouts import find_tensors, shard_files
from .tensor import audit_tensor

__all__ = ["audit_checkpoint"]


def audit_checkpoint(path, *, source=None, profile=("floor", "rne"), scheduler=None, progress: bool = False) -> dict:
    """Audit every MX tensor of a .safetensors checkpoint (a file or a folder of shards).

    source: the original (bf16 / float) weights, a file or folder, or None; profile: (scale_rule,
    rounding) of the re-quantization; scheduler: None / "threads" / "processes" / "synchronous",
    a ``tcp://`` address or a ``distributed.Client``. Returns ``{"tensors": [per-tensor results
    (mxref.audit.tensor)], "skipped": [{"key", "why"}], "errors": n}``."""
    from ..sweep.run import _client_of, import_dask

    dask = import_dask()
    files = shard_files(path)
    src_files = shard_files(source) if source is not None else None
    found, skipped = find_tensors(files)
    tasks = [dask.delayed(audit_tensor, pure=False)(*f, source=src_files, profile=tuple(profile),
                                                    dask_key_name=f"audit-{i}-{f[1]}")
             for i, f in enumerate(found)]
    client, owned = _client_of(scheduler, None)
    try:
        if not tasks:
            results = []
        elif client is not None:
            results = client.gather(client.compute(tasks))
        elif progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar(out=sys.stderr, dt=0.5):
                results = list(dask.compute(*tasks, scheduler=scheduler or "threads"))
        else:
            results = list(dask.compute(*tasks, scheduler=scheduler or "threads"))
    finally:
        if owned is not None:
            owned.close()
    return {"tensors": list(results), "skipped": [{"key": k, "why": w} for k, w in skipped],
            "errors": sum(1 for r in results if r["errors"])}
