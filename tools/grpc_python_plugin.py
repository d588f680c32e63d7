"""A protoc plugin that hands buf's descriptors back to grpcio-tools' grpc_python generator."""

import os
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from google.protobuf.compiler import plugin_pb2
from grpc_tools import protoc


def main() -> None:
    request = plugin_pb2.CodeGeneratorRequest.FromString(sys.stdin.buffer.read())
    response = plugin_pb2.CodeGeneratorResponse(
        supported_features=plugin_pb2.CodeGeneratorResponse.FEATURE_PROTO3_OPTIONAL
    )
    with tempfile.TemporaryDirectory() as tmp:
        descriptors = Path(tmp, "in.binpb")
        out = Path(tmp, "out")
        out.mkdir()
        descriptors.write_bytes(
            descriptor_pb2.FileDescriptorSet(file=list(request.proto_file)).SerializeToString()
        )
        option = request.parameter + ":" if request.parameter else ""
        args = ["protoc", f"--descriptor_set_in={descriptors}", f"--grpc_python_out={option}{out}"]
        if protoc.main([*args, *request.file_to_generate]) != 0:
            response.error = "grpc_tools.protoc failed"
        else:
            for root, _, files in os.walk(out):
                for name in sorted(files):
                    path = Path(root, name)
                    response.file.add(name=str(path.relative_to(out)), content=path.read_text())
    sys.stdout.buffer.write(response.SerializeToString())


if __name__ == "__main__":
    main()
