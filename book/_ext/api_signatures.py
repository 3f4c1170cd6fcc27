"""A dataclass field whose default comes from a factory shows that default on the API page.

Python's ``inspect.signature`` writes such a default as ``<factory>``, so autodoc showed
``Trace2D(points=<factory>, states=<factory>)``: a placeholder a reader cannot read as a
value. Through autodoc's public ``autodoc-process-signature`` event, this extension writes
what the factory returns instead, ``Trace2D(points=[], states=[])``: each instance gets its
own new list, as the dataclass builds it.
"""

from __future__ import annotations

import dataclasses
import re


def _escaped(text: str) -> str:
    """``text`` as a literal in a replacement string of ``re.sub``."""
    return text.replace("\\", "\\\\")


def _factory_defaults(app, what, name, obj, options, signature, return_annotation):
    if what != "class" or not signature or not dataclasses.is_dataclass(obj):
        return None
    for field in dataclasses.fields(obj):
        if field.default_factory is not dataclasses.MISSING:
            default = repr(field.default_factory())
            # "points=<factory>", or with its annotation "points: list = <factory>"
            pattern = rf"(\b{re.escape(field.name)}\b[^,()=]*=\s*)<factory>"
            signature = re.sub(pattern, rf"\g<1>{_escaped(default)}", signature)
    return signature, return_annotation


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-signature", _factory_defaults)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
