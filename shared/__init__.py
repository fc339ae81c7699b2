"""Shared by master and worker: the data model, the fan-out core, the gRPC contract."""
