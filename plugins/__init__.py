"""The built-in source plugins, one module each, installed as ``hostpulse.plugins``: system
figures (cpu, memory, disk, diskio, net, load, processes, sensors, uptime), probes and scrapes
(http_check, exec, prometheus) and made-up data (demo). Their shared helpers: ``rates`` (counters
to per-second rates), ``names`` (device and interface selection), ``exposition`` (the Prometheus
text format). Each registers through ``hostpulse.hookimpl`` as a third-party plugin would."""
