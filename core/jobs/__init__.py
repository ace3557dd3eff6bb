"""Heavy work as persisted jobs: a registry of job kinds, a local runner, and a distributed one on Redis."""
