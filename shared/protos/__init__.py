"""Generated gRPC/protobuf code for ``logcast.proto`` (regenerate with ``scripts/gen-protos``)."""
