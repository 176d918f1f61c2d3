"""Releases of the catalog (``catalog-ops release``).

``version`` the pure version algorithm (which tags count, next version, the 0.y.z rule);
``history`` the catalog's git history, read through ``gitutil``; ``notes`` note entries, the
notes Markdown and the release metadata; ``model`` options and plans; ``run`` the orchestration
(plan, checks gate, tag + forge release).
"""
