"""One module per proxy task: ``DEFAULTS`` (settings per scale) and ``build(settings) -> Problem``."""
