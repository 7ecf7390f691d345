"""The HostPulse agent: collects samples from source plugins and sends them to a hub.

The flow of a sample, by folder: ``loading/`` finds the plugins and their sources,
``collect/`` plans which sources run and runs them on their schedule, ``deliver/`` batches the
samples and gets each batch to the hub once (spooled while it is away). :mod:`.agent` wires the
three together; ``commands/`` is the command line. The plugin API is :mod:`hostpulse` itself.
"""
