"""The composition layer: commands that assemble every package (the demo); nothing below imports it."""
