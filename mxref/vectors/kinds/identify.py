"""identify/<MX format>/: a small set of blocks on which every catalogue profile and model
(:mod:`mxref.models`) gives an output different from every other's in at least one block.

The inputs are found by search: a pool of candidate blocks (the checker's level-1 quantize cases
of the format, blocks whose largest magnitude lies a few float32 ulps around m * 2^e for every
e and m in {1, 1.5, the element format's max}, and blocks of element ties at several scales) is
run through every *configuration* -- each catalogue quantize profile offering the format
(profiles with the same definition count once), each quantize model alone (under the rule and
rounding it is a variant of), and the spec (floor, rne) -- and blocks are picked greedily, each
one telling apart the most pairs of configurations not yet told apart, until no pair the pool
can tell apart is left. Only finite, non-zero blocks without float32-subnormal inputs are
pooled (the checker classifies the others as implementation-defined); zeros compare without
their sign for the same reason.

Files: ``identify/<fmt>/blocks.in.f32.u32`` (the inputs, float32 bits, rows of one block of 32),
``blocks.identify.scales.u8`` and ``blocks.identify.elements.u8`` (mxref's spec result, floor /
rne, as the quantize files of mx/). A kernel's outputs for the inputs written in the
spec_vectors layout and checked with ``mxref check --dump DIR --identify`` rank the profiles:
the one reproducing every block is the kernel's rule.
"""

from __future__ import annotations

import hashlib
import itertools

import numpy as np

import mxref

from ..inputs import K
from ..schema import Writer
from .common import Ctx, kind_of
from .mx import check_quantize


#: the parameter values searched for a model with one (default: a code offset of -2): the amax
#: rounding widths libraries were seen to use (compressed-tensors MXFP8 1, Quark MXINT8 8)
_PARAMETERS = {"scale_even_mbits": (1, 8)}


def configurations(fmt: str) -> list:
    """[(name, scale_rule, rounding, models, options)] searched for format fmt."""
    from ...conformance.diagnose import _CAST_OPTIONS, profile_groups
    from ... import models as M

    out = [("spec", "floor", "rne", (), {})]
    for name, p in profile_groups(M, fmt):
        out.append((name, p.scale_rule, p.rounding, tuple(p.models),
                    {k: v for k, v in (p.options or {}).items() if k not in _CAST_OPTIONS}))
    for mid, m in M.MODELS.items():
        if m.kind not in ("scale", "element", "input") or "stochastic" in (m.roundings or ()):
            continue
        if m.formats and fmt not in m.formats:
            continue
        ids = [mid] if not m.params else [f"{mid}={v}" for v in _PARAMETERS.get(mid, (-2,))]
        for one in ids:
            rule = m.rules[0] if m.rules else "floor"
            rnd = "rne" if not m.roundings or "rne" in m.roundings else m.roundings[0]
            out.append((one, rule, rnd, (one,), {}))
    return out


def _targeted(fmt: str) -> np.ndarray:
    """Blocks around the thresholds where the models part: amax a few ulps around m * 2^e."""
    el = mxref.mx_format(fmt).element
    rows = []
    fill = np.array([0.75, -0.3, 0.55, -0.9, 0.125, 0.4, -0.6, 0.2], np.float64)
    for e in range(-140, 128):
        for m in (1.0, 1.5, float(el.max) / 2.0 ** int(np.floor(np.log2(float(el.max))))):
            a = np.float32(m * 2.0**e)
            if not np.isfinite(a) or a < 2.0**-126:
                continue
            for d in (-2, -1, 0, 1, 2):
                v = (np.array([a], np.float32).view(np.uint32) + np.uint32(d) if d >= 0 else
                     np.array([a], np.float32).view(np.uint32) - np.uint32(-d)).view(np.float32)[0]
                blk = np.zeros(K, np.float32)
                blk[0] = v
                sub = (fill * float(v)).astype(np.float32)
                sub[np.abs(sub) < 2.0**-126] = 0
                blk[1:1 + len(fill)] = sub
                rows.append(blk)
    return np.array(rows, np.float32)


def _ties(fmt: str) -> np.ndarray:
    """Blocks of element ties (midpoints between neighbouring element values, and one ulp either
    side) under the scale the block's largest element fixes, at a few scales."""
    el = mxref.mx_format(fmt).element
    vals = np.unique(np.abs(mxref.decode(np.arange(el.num_codes), el, np.float64)))
    vals = vals[np.isfinite(vals)]
    mids = (vals[:-1] + vals[1:]) / 2
    rows = []
    for e in (0, -20, -126 + 8, -127 + 2):
        s = 2.0**e
        for part in range(0, len(mids), K - 1):
            for d in (-1, 0, 1):
                m = np.float32(mids[part:part + K - 1] * s)
                m = (m.view(np.uint32).astype(np.int64) + d).astype(np.uint32).view(np.float32)
                blk = np.zeros(K, np.float32)
                blk[0] = np.float32(vals[-1] * s)
                blk[1:1 + len(m)] = m
                blk[np.abs(blk) < 2.0**-126] = 0
                rows.append(blk)
    return np.array(rows, np.float32)


def pool(fmt: str) -> np.ndarray:
    """The candidate blocks (rows of K float32), deterministic."""
    from ...conformance.casegen import cases
    from ...conformance.model import Profile, Target

    xs = [b for b in cases(Target("quantize", fmt, Profile("floor-rne")), 1, 0) if b.shape[1] % K == 0]
    blocks = [b.reshape(-1, K).astype(np.float32) for b in xs] + [_targeted(fmt), _ties(fmt)]
    x = np.concatenate(blocks)
    a = np.abs(x.astype(np.float64))
    ok = np.isfinite(a).all(1) & (a > 0).any(1) & ~((a > 0) & (a < 2.0**-126)).any(1)
    return x[ok]


def signatures(fmt: str, x: np.ndarray, configs: list) -> np.ndarray:
    """(configs, blocks) int64 digests of each configuration's scale and element codes (zeros
    without their sign)."""
    from ... import models as M

    el = mxref.mx_format(fmt).element
    zero = mxref.decode(np.arange(el.num_codes), el, np.float64) == 0
    out = np.zeros((len(configs), x.shape[0]), np.int64)
    for i, (_, rule, rnd, ms, opts) in enumerate(configs):
        with np.errstate(all="ignore"):
            mx = M.quantize_model(x, fmt, axis=-1, block_size=K, scale_rule=rule, rounding=rnd, models=ms, **opts)
        codes = np.where(zero[mx.elements], 0, mx.elements.astype(np.int64))
        both = np.concatenate([mx.scales.astype(np.int64).reshape(-1, 1), codes], axis=1).astype(np.uint8)
        out[i] = [int.from_bytes(hashlib.blake2b(r.tobytes(), digest_size=8).digest(), "little", signed=True)
                  for r in both]
    return out


def search(fmt: str):
    """(blocks (n, K) float32, configurations, [pairs of configuration names no pooled block
    tells apart])."""
    configs = configurations(fmt)
    x = pool(fmt)
    sig = signatures(fmt, x, configs)
    # configurations equal on every pooled block: one class (reported), the rest must be parted
    pairs = [(i, j) for i, j in itertools.combinations(range(len(configs)), 2)]
    diff = np.array([sig[i] != sig[j] for i, j in pairs]) if pairs else np.zeros((0, x.shape[0]), bool)
    never = [(configs[i][0], configs[j][0]) for (i, j), d in zip(pairs, diff) if not d.any()]
    left = diff.any(1)
    picked = []
    while left.any():
        gain = diff[left].sum(0)
        b = int(np.argmax(gain))  # the first of the best: deterministic
        picked.append(b)
        left &= ~diff[:, b]
    return x[sorted(picked)], configs, never


def generate_identify(w: Writer, level: int):
    """identify/<MX format>/: the discriminating blocks and mxref's spec result on them."""
    for fmt in mxref.MX_FORMATS:
        x, _, _ = search(fmt)
        base = f"identify/{fmt}/blocks"
        xin = w.raw(f"{base}.in.f32.u32", x.view(np.uint32), "input", "quantize", fmt, axis=-1, block_size=K)
        mx = mxref.quantize(x, fmt, block_size=K)
        modes = dict(mx.options)
        w.raw(f"{base}.identify.scales.u8", mx.scales, "expected", "quantize", fmt, modes=modes, inputs=[xin],
              axis=-1, block_size=K)
        w.raw(f"{base}.identify.elements.u8", mx.elements, "expected", "quantize", fmt, modes=modes, inputs=[xin],
              axis=-1, block_size=K)


def check_identify(ctx: Ctx, e: dict):
    """The scales and elements of identify/ against the slow reference, as mx/'s quantize files."""
    check_quantize(ctx, e)


def check_identify_elements(ctx: Ctx, e: dict):
    """identify elements: checked, block by block, with the scales file of the same base."""
    p = e["path"]
    base = p[: -len("." + kind_of(e)[1])]
    s = ctx.by_path.get(base + ".identify.scales.u8")
    if s is None or s["role"] != "expected":
        raise ValueError(f"no expected file {base}.identify.scales.u8 to check it with")
