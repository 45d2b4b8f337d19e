// The gateway's HTTP/1.1 transport (Boost.Beast): the listener, its io threads and one
// keep-alive connection per client. It knows nothing of routes: each parsed request goes
// to the handler with a Reply to answer through, whole or as a chunked stream.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/beast/http.hpp>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/gateway/in_flight.h"

namespace vetline::gateway {

namespace http = boost::beast::http;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// How the gateway answers one request: whole, or as a chunked stream (Server-Sent
// Events, downloads). Implemented by the connection; every call may come from any thread.
class Reply {
 public:
  virtual ~Reply() = default;
  virtual void Send(Response res) = 0;
  // Writes the head of a chunked response. `gone` runs once if the peer disconnects.
  virtual void Open(Response head, std::function<void()> gone) = 0;
  // Queues one chunk; `written(false)` when it could not be delivered.
  virtual void Chunk(std::string data, std::function<void(bool)> written) = 0;
  virtual void Close() = 0;  // the last chunk
};
using ReplyPtr = std::shared_ptr<Reply>;

// A JSON answer (`Cache-Control: no-store`).
Response JsonResponse(int status, std::string body);

struct HttpTransportOptions {
  std::string address;  // host:port (port 0: any free port)
  int io_threads = 2;
  size_t max_body_bytes = 1 << 20;
  // The largest body of one request, decided from its head (a route's own limit); unset:
  // max_body_bytes for every request. Beyond it the answer is 413.
  std::function<size_t(const Request& head)> body_limit;
};

class HttpTransport {
 public:
  // `peer` is the socket's remote address.
  using Handler = std::function<void(Request req, const std::string& peer, ReplyPtr reply)>;
  // Binds the address; nothing is accepted before Run().
  static absl::StatusOr<std::unique_ptr<HttpTransport>> Listen(HttpTransportOptions options,
                                                               Handler handler);
  void Run();  // accepts and starts the io threads
  ~HttpTransport();  // Stop(1 s)
  int port() const { return port_; }
  boost::asio::io_context& io() { return ioc_; }  // for the streams' timers

  void StopAccepting();
  // Waits up to `grace` for whole answers still being written, then stops the io
  // threads (open connections close).
  void Stop(absl::Duration grace);

  class Connection;

 private:
  HttpTransport(HttpTransportOptions o, Handler h);
  void Accept();

  HttpTransportOptions options_;
  Handler handler_;
  InFlight answers_;  // handed to Send(), not yet written (outlives ioc_'s handlers)
  boost::asio::io_context ioc_;
  struct Listener;
  std::unique_ptr<Listener> listener_;
  int port_ = 0;
};

}  // namespace vetline::gateway
