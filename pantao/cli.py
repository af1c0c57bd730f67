"""Temporary shim: pantao/demo.py runs `python -m pantao.cli run`. The command line is `app.cli`.

Deleted together with pantao/demo.py when the demo moves to app/demo.py (tests/test_layers.py
fails until both are gone).
"""

from app.cli import main

if __name__ == "__main__":
    main()
