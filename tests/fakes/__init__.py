"""In-memory stand-ins for logcast's adapters, for tests that need no Docker or network.

- :mod:`tests.fakes.logsource`: a scripted :class:`worker.logsource.LogSource`.
- :mod:`tests.fakes.workers`: in-memory workers behind :class:`master.worker_client.WorkerClients`.
"""
