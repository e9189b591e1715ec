"""Pictures of models and of training: rendered diagrams, feature maps, filters, curves.

Everything here imports graphviz, Pillow or matplotlib inside the function
that needs it (``pip install 'specc[viz]'``), so nothing on the ``specc
check`` path loads them. Text outputs (DOT, Mermaid) come from
:mod:`specc.emit.diagram` and need none of them.
"""
