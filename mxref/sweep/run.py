"""Running a sweep on Dask: every chunk one task; a checkpoint file to resume; a progress bar.

Checkpoint file: JSON Lines, one JSON object per line, each the result of one completed chunk
(``{"key", "n", "mismatches", "first"}``), appended with one ``write`` and flushed as the chunk
completes, so a chunk is either recorded whole or not at all (a torn last line of a killed run is
ignored on reading). Resuming skips every chunk whose key is in the file.
"""

from __future__ import annotations

import json
import os
import sys

from .work import INPUT_BITS, check_chunk, chunks, default_jobs

__all__ = ["run_sweep", "read_checkpoint", "import_dask"]


def import_dask():
    try:
        import dask  # noqa: F401
        import dask.delayed  # noqa: F401
    except ImportError as exc:
        raise ImportError("mxref sweep / audit need Dask: pip install 'mxref[dask]' "
                          "(dask[array] and distributed)") from exc
    return dask


def read_checkpoint(path) -> dict:
    """{key: chunk result} of a checkpoint file (missing file: {})."""
    done = {}
    if path is None or not os.path.exists(path):
        return done
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            try:
                r = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line of an interrupted run
            if isinstance(r, dict) and "key" in r:
                done[r["key"]] = r
    return done


class _Recorder:
    """Appends chunk results to the checkpoint file, one line each."""

    def __init__(self, path):
        self.fh = open(path, "a+", encoding="utf-8") if path else None
        if self.fh is not None and self.fh.tell() > 0:
            self.fh.seek(self.fh.tell() - 1)
            if self.fh.read(1) != "\n":  # a torn last line: start a fresh one
                self.fh.write("\n")

    def add(self, result: dict):
        if self.fh is not None:
            self.fh.write(json.dumps(result, sort_keys=True) + "\n")
            self.fh.flush()
            os.fsync(self.fh.fileno())

    def close(self):
        if self.fh is not None:
            self.fh.close()


def _client_of(scheduler, workers):
    """(client or None, owned cluster/client to close)."""
    if workers is not None and scheduler is not None and not isinstance(scheduler, str):
        raise ValueError("give either a scheduler (client or address) or workers, not both")
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        Client = LocalCluster = None
    if Client is not None and isinstance(scheduler, Client):
        return scheduler, None
    if isinstance(scheduler, str) and "://" in scheduler:
        if Client is None:
            raise ImportError("a scheduler address needs distributed: pip install 'mxref[dask]'")
        c = Client(scheduler)
        return c, c
    if workers is not None:
        if Client is None:
            raise ImportError("--workers needs distributed: pip install 'mxref[dask]'")
        cluster = LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                               dashboard_address=None)
        c = Client(cluster)
        return c, (c, cluster)
    return None, None


def run_sweep(jobs=None, *, inputs: str = "float32", lo: int | None = None, hi: int | None = None,
              chunk_size: int = 1 << 24, checkpoint=None, scheduler=None, workers=None,
              progress: bool = True, encoder=None, scaler=None) -> dict:
    """Check every chunk of every job (default: :func:`mxref.sweep.work.default_jobs`) over the
    input bit patterns [lo, hi) (default: all of ``inputs``), each chunk one Dask task.

    scheduler: None / "threads" / "processes" / "synchronous" (Dask's local schedulers), a
    ``tcp://HOST:PORT`` address or a ``distributed.Client``; ``workers=N`` starts a LocalCluster
    of N one-thread worker processes. ``checkpoint``: a file (module doc) -- chunks recorded
    there are skipped and their results reused. ``encoder`` / ``scaler``: the code under test
    (:func:`mxref.sweep.work.check_chunk`). Returns ``{"jobs": {job name: {"n", "mismatches",
    "first"}}, "n", "mismatches", "chunks", "skipped"}``."""
    dask = import_dask()
    if inputs not in INPUT_BITS:
        raise ValueError(f"inputs must be one of {', '.join(INPUT_BITS)}, got {inputs!r}")
    top = 1 << INPUT_BITS[inputs]
    lo = 0 if lo is None else int(lo)
    hi = top if hi is None else int(hi)
    if not 0 <= lo < hi <= top:
        raise ValueError(f"range must satisfy 0 <= lo < hi <= 2^{INPUT_BITS[inputs]}, got {lo:#x}:{hi:#x}")
    if int(chunk_size) < 1:
        raise ValueError("chunk_size must be positive")
    jobs = default_jobs() if jobs is None else list(jobs)
    todo_all = [c for j in jobs for c in chunks(j, inputs, lo, hi, int(chunk_size))]
    done = read_checkpoint(checkpoint)
    results = {c[0]: done[c[0]] for c in todo_all if c[0] in done}
    todo = [c for c in todo_all if c[0] not in done]
    rec = _Recorder(checkpoint)
    client, owned = _client_of(scheduler, workers)
    try:
        tasks = [dask.delayed(check_chunk, pure=False)(*c, encoder=encoder, scaler=scaler, dask_key_name=c[0])
                 for c in todo]
        if client is None:
            _run_local(dask, tasks, todo, scheduler, progress, rec, results)
        else:
            _run_distributed(client, tasks, progress, rec, results)
    finally:
        rec.close()
        if owned is not None:
            for o in (owned if isinstance(owned, tuple) else (owned,)):
                o.close()
    return _summary(jobs, todo_all, results, len(todo_all) - len(todo))


def _run_local(dask, tasks, todo, scheduler, progress, rec, results):
    from dask.callbacks import Callback

    keys = {c[0] for c in todo}

    class _Record(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if key in keys:
                results[key] = result
                rec.add(result)

    sched = scheduler or "threads"
    if not tasks:
        return
    with _Record():
        if progress:
            from dask.diagnostics import ProgressBar

            with ProgressBar(out=sys.stderr, dt=0.5):
                dask.compute(*tasks, scheduler=sched)
        else:
            dask.compute(*tasks, scheduler=sched)


def _run_distributed(client, tasks, progress, rec, results):
    from distributed import as_completed

    futures = client.compute(tasks)
    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=len(futures), file=sys.stderr, unit="chunk")
        except ImportError:
            bar = None
    for fut in as_completed(futures):
        r = fut.result()
        results[r["key"]] = r
        rec.add(r)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()


def _summary(jobs, todo_all, results, skipped) -> dict:
    per = {j.name: {"n": 0, "mismatches": 0, "first": []} for j in jobs}
    for key, job, *_ in todo_all:
        r = results[key]
        p = per[job.name]
        p["n"] += r["n"]
        p["mismatches"] += r["mismatches"]
        p["first"].extend(r["first"][: max(0, 10 - len(p["first"]))])
    return {"jobs": per, "n": sum(p["n"] for p in per.values()),
            "mismatches": sum(p["mismatches"] for p in per.values()),
            "chunks": len(todo_all), "skipped": skipped}
