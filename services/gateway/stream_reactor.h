// Server-streaming RPCs over HTTP: Server-Sent Events (one JSON message per event, its
// `type` field the `event:` and its `id` field the `id:`) or,
// with `raw_response`, a chunked download. Any streaming RPC with an HTTP rule works
// without code here. Each next message is read only once the previous chunk is on the
// wire, so a slow reader slows the stream instead of filling the gateway's memory. SSE
// streams send a `: keepalive` comment every `heartbeat`, so proxies with an idle timeout
// keep quiet streams open; a client that hangs up cancels the backend stream. The same
// message sent to many watchers (a clinic's event to each of its consoles) is turned into
// its SSE chunk once: recent chunks are kept by the message's bytes.
#pragma once

#include <functional>
#include <memory>
#include <optional>

#include <boost/asio/io_context.hpp>
#include <google/protobuf/message.h>

#include "absl/time/time.h"
#include "services/gateway/backend_calls.h"
#include "services/gateway/exchange.h"
#include "services/gateway/route_table.h"

namespace vetline::gateway {

class StreamReactor {
 public:
  // `opened` completes the head of a streamed answer (request id, CORS, metrics).
  using Opened = std::function<void(const ExchangePtr&, Response& head)>;
  StreamReactor(BackendCalls& backends, boost::asio::io_context& io, absl::Duration heartbeat,
                Answer answer, Opened opened);
  ~StreamReactor();

  // Starts the stream; the answer is the usual error body when the RPC fails before its
  // first message (or heartbeat), else a 200 stream.
  void Start(const ExchangePtr& x, const Route& route, const google::protobuf::Message& request,
             const std::optional<api::Principal>& principal);

 private:
  class Stream;
  class RecentChunks;
  BackendCalls& backends_;
  boost::asio::io_context& io_;
  absl::Duration heartbeat_;
  Answer answer_;
  Opened opened_;
  std::unique_ptr<RecentChunks> chunks_;
};

}  // namespace vetline::gateway
