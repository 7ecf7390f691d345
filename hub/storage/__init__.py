"""Storage: the Tortoise models and migrations, the group-commit writer and series registry, the
compactor that folds raw blocks into compressed chunks and rollups (``codec``, ``folding``,
``rollups``), retention per tier, and the history reader that reads them back as one timeline."""
