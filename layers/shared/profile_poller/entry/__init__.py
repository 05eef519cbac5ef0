"""The entry side: reading the environment (config), Powertools (observability), wiring adapters to the core
(runtime), the invocation event, the producer helper and the `profile-poller` command line."""
