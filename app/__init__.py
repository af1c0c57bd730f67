"""The composition layer at the top: what joins the packages below it into one system.

The `pantao` command line (`app.cli`), `pantao prepare` (`app.prepare`), `pantao simulate`
(`app.simulate`) and the demo (`app.demo`). Nothing imports this package (docs/architecture.md,
layers; tests/test_layers.py).
"""
