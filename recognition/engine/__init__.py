"""Roll Call face engine: detect, align, embed, match. Plain Python, no Django.

Inputs and outputs are PIL images, numpy arrays and small dataclasses so the
same functions serve the worker, management commands, tests and bench/.
"""
