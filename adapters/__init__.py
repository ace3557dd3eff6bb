"""Platform adapters: translate platform updates into core events and core actions into platform calls."""
