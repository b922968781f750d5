"""Alerts: rules, incident state and webhook delivery in plain Python (no Dagster imports).

``sensors`` is the thin Dagster wiring that feeds the rules from the instance's event log.
"""
