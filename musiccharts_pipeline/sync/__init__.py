"""The sync logic the assets, sensors and CLI share: plain Python, SQL and HTTP, no Dagster."""
