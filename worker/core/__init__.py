"""Pure domain logic: no I/O, no imports from the rest of the package.

The classifier's modules here may run compiled (mypyc): :mod:`worker._native` decides.
"""
