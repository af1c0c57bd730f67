"""The composition layer: what joins the packages below it into one system.

The `pantao` command line (`app.cli`), `pantao prepare` (`app.prepare`), `pantao simulate`
(`app.simulate`) and the demo. Nothing below imports this package (docs/architecture.md, layers).
"""
