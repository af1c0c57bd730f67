"""Temporary shim: pantao/demo.py imports `prepare` from here. `pantao prepare` is `app.prepare`.

Deleted together with pantao/demo.py when the demo moves to app/demo.py (tests/test_layers.py
fails until both are gone).
"""

from app.prepare import prepare

__all__ = ["prepare"]
