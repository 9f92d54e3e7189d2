"""Memory layouts and files of MX data (outside the spec): element packing and cuBLAS scale
swizzles (:mod:`mxref.layout.packing`), the .npz schema of an MXArray (:mod:`mxref.layout.mxfile`),
and the file functions (:mod:`mxref.layout.serialization`: mxref's .npz, gpt-oss tensors,
safetensors).

This package's ``__init__`` imports nothing, so that importing its leaf modules (as
:mod:`mxref.arrays` does with :mod:`mxref.layout.mxfile`) never runs the modules above them.
The public names are re-exported by :mod:`mxref`.
"""
