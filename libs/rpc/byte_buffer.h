// Messages as gRPC byte buffers, for code that handles serialized bytes itself: the
// gateway's generic calls, and event streams that serialize an event once and write the
// same bytes to every watcher (raw callback methods).
#pragma once

#include <string>
#include <string_view>

#include <google/protobuf/message.h>
#include <grpcpp/support/byte_buffer.h>

namespace vetline::rpc {

grpc::ByteBuffer ToBuffer(std::string_view bytes);
grpc::ByteBuffer ToBuffer(const google::protobuf::Message& m);
// The buffer's bytes in one string.
bool Flatten(const grpc::ByteBuffer& buf, std::string* bytes);
bool FromBuffer(const grpc::ByteBuffer& buf, google::protobuf::Message* m);

}  // namespace vetline::rpc
