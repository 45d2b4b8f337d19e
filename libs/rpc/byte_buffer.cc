#include "libs/rpc/byte_buffer.h"

#include <vector>

namespace vetline::rpc {

grpc::ByteBuffer ToBuffer(std::string_view bytes) {
  grpc::Slice slice(bytes.data(), bytes.size());
  return grpc::ByteBuffer(&slice, 1);
}

grpc::ByteBuffer ToBuffer(const google::protobuf::Message& m) { return ToBuffer(m.SerializeAsString()); }

bool Flatten(const grpc::ByteBuffer& buf, std::string* bytes) {
  std::vector<grpc::Slice> slices;
  if (!buf.Dump(&slices).ok()) return false;
  bytes->clear();
  for (const grpc::Slice& s : slices) bytes->append(reinterpret_cast<const char*>(s.begin()), s.size());
  return true;
}

bool FromBuffer(const grpc::ByteBuffer& buf, google::protobuf::Message* m) {
  std::string bytes;
  return Flatten(buf, &bytes) && m->ParseFromString(bytes);
}

}  // namespace vetline::rpc
