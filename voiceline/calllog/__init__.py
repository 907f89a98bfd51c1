"""Reading the call log: filtered queries, metrics and presentation values (UI, API, CLI)."""
