"""The recorder's sample of a library's outputs (mxref.conformance.record): which failing rows of
a batch it keeps."""

from types import SimpleNamespace

import numpy as np

from mxref.conformance import record
from mxref.conformance.adapters.mxref_ import MxrefAdapter
from mxref.conformance.adapters.recorded import KEEP_FAILING
from mxref.conformance.model import ERROR, IMPL, MISMATCH, PASS


def test_failing_rows_puts_mismatch_and_error_first():
    n = KEEP_FAILING + 30
    cls = np.full(n, IMPL)
    cls[[5, n - 2]] = MISMATCH
    cls[n - 1] = ERROR
    cls[[0, 1]] = PASS
    rows = record.failing_rows(np.arange(n), cls, KEEP_FAILING)
    assert rows.size == KEEP_FAILING
    assert {5, n - 2, n - 1} <= set(rows.tolist())
    assert not {0, 1} & set(rows.tolist())
    # the rest are the first IMPL rows, in order
    assert rows.tolist() == sorted([5, n - 2, n - 1] + [r for r in range(2, n) if r != 5][:KEEP_FAILING - 3])


def test_failing_rows_of_quantize_blocks():
    # 3 blocks a row: row 70's one mismatching block makes it kept beside 47 IMPL rows
    rows_n, nb = 80, 3
    row_of = np.repeat(np.arange(rows_n), nb)
    cls = np.full(rows_n * nb, IMPL)
    cls[70 * nb + 1] = MISMATCH
    rows = record.failing_rows(row_of, cls, KEEP_FAILING)
    assert 70 in rows and rows.size == KEEP_FAILING
    assert record.failing_rows(row_of, np.full(rows_n * nb, PASS), KEEP_FAILING).size == 0


def test_recording_keeps_late_mismatches(tmp_path, monkeypatch):
    """Every batch's cases IMPL_DEFINED but its last, a MISMATCH: the recording holds that
    mismatch (before, the first KEEP_FAILING IMPL rows filled the sample and it held none)."""

    def fake_classify(adapter, t, x, got):
        cls = np.full(x.shape[0], IMPL)
        cls[-1] = MISMATCH
        return SimpleNamespace(cls=cls)

    monkeypatch.setattr(record, "classify_batch", fake_classify)
    a = MxrefAdapter()
    m = record.write_recordings(a, tmp_path, formats=("fp8_e4m3",))
    enc = [e for e in m["targets"] if e["target"]["operation"] == "encode"]
    assert enc
    for e in enc:
        nb = len(e["batches"])
        assert nb and e["counts"]["mismatch"] == nb
        assert e["counts"]["impl-defined"] == (KEEP_FAILING - 1) * nb
