"""Alerts: rules from the hub's config, evaluated as samples arrive, notified through notifiers.

Flow: :mod:`config` parses and validates ``[[alerts.rules]]``/``[[alerts.notifiers]]``;
:mod:`evaluator` resolves rules to series once per new series and moves each alert instance
inactive → pending → firing → resolved; :mod:`webhook` writes the contract's JSON body and signs it.
"""
