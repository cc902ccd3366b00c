"""One module per check group; each defines ``CHECKS``, a list of ``soak.core.Check``."""
