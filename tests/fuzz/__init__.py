"""Fuzzing every input Apollo reads: hypothesis strategies of hostile files and pages
(`strategies`), the entry points and their oracle (`entries`), and the worker that runs one
entry point's examples in a subprocess under a memory and time limit (`runner`).

`tests/test_fuzz.py` drives it; docs/testing.md ("Fuzzing") says how to run more examples.
`tests/` is on sys.path (it is not a package), so this package imports as `fuzz`.
"""
