"""The ``hostpulse`` command: its entry point (``main``, which loads each subcommand when it runs,
so ``hostpulse agent`` never imports the hub) and the hub's subcommands: ``hub`` and ``token``
(``serve``), ``host`` and ``wheelhouse`` (``host``), ``demo``, ``detect``."""
