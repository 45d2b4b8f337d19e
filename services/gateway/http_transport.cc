#include "services/gateway/http_transport.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>

#include <deque>
#include <future>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "services/gateway/error_map.h"

namespace vetline::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
using tcp = net::ip::tcp;

Response JsonResponse(int status, std::string body) {
  Response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

struct HttpTransport::Listener {
  explicit Listener(net::io_context& ioc) : acceptor(ioc), work(net::make_work_guard(ioc)) {}
  tcp::acceptor acceptor;
  // Keeps the io threads running while nothing is pending (stopping posts to them).
  net::executor_work_guard<net::io_context::executor_type> work;
  std::vector<std::thread> threads;
  bool accepting = true;
};

// One keep-alive HTTP connection; all its I/O runs on its own strand. It answers one
// request at a time, whole or as a chunked stream.
class HttpTransport::Connection : public Reply, public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket s, HttpTransport& t) : stream_(std::move(s)), transport_(t) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (ec) {
      peer_ = "unknown";
    } else {
      net::ip::address a = ep.address();
      // A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: keep them IPv4.
      if (a.is_v6() && a.to_v6().is_v4_mapped()) a = net::ip::make_address_v4(net::ip::v4_mapped, a.to_v6());
      peer_ = a.to_string();
    }
  }

  // The head first: its route decides how large a body it takes.
  void Read() {
    parser_.emplace();
    // Checked once the head is in, below (not boost::none: Beast 1.74 compares a
    // Content-Length against an empty limit as if it were exceeded).
    parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    parser_->header_limit(16 * 1024);
    stream_.expires_after(std::chrono::seconds(60));  // idle keep-alive connections close
    http::async_read_header(stream_, buffer_, *parser_,
                            beast::bind_front_handler(&Connection::OnHead, shared_from_this()));
  }

  void OnHead(beast::error_code ec, size_t) {
    if (ec) return OnRead(ec, 0);
    const HttpTransportOptions& o = transport_.options_;
    body_limit_ = o.body_limit ? o.body_limit(parser_->get()) : o.max_body_bytes;
    if (parser_->content_length() && *parser_->content_length() > body_limit_) {
      return OnRead(http::error::body_limit, 0);
    }
    parser_->body_limit(body_limit_);  // a chunked body is counted as it comes
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Connection::OnRead, shared_from_this()));
  }

  void Send(Response res) override {
    // Counted from here, so stopping waits for answers already handed over.
    OnStrand([self = shared_from_this(), res = std::move(res), token = transport_.answers_.Enter()]() mutable {
      self->Write(std::move(res), std::move(token));
    });
  }

  void Open(Response head, std::function<void()> gone) override {
    OnStrand([self = shared_from_this(), head = std::move(head), gone = std::move(gone)]() mutable {
      self->gone_ = std::move(gone);
      self->head_ = std::make_shared<Response>(std::move(head));
      self->head_->keep_alive(self->keep_alive_);
      self->head_->chunked(true);
      self->serializer_.emplace(*self->head_);
      self->writing_ = true;
      http::async_write_header(self->stream_, *self->serializer_,
                               [self](beast::error_code ec, size_t) {
                                 self->writing_ = false;
                                 if (ec) return self->PeerGone();
                                 self->WatchForHangUp();
                                 self->Pump();
                               });
    });
  }

  void Chunk(std::string data, std::function<void(bool)> written) override {
    OnStrand([self = shared_from_this(), data = std::move(data), written = std::move(written)]() mutable {
      self->outbox_.push_back({std::move(data), std::move(written), false});
      self->Pump();
    });
  }

  void Close() override {
    OnStrand([self = shared_from_this()] {
      self->outbox_.push_back({"", nullptr, true});
      self->Pump();
    });
  }

 private:
  struct Outgoing {
    std::string data;
    std::function<void(bool)> written;
    bool last;
  };

  template <typename F>
  void OnStrand(F&& f) {
    net::dispatch(stream_.get_executor(), std::forward<F>(f));
  }

  void OnRead(beast::error_code ec, size_t) {
    if (ec == http::error::body_limit) {
      keep_alive_ = false;
      Reply(JsonResponse(413, ErrorBody(grpc::StatusCode::RESOURCE_EXHAUSTED,
                                        absl::StrCat("request body is larger than ", body_limit_,
                                                     " bytes"))));
      return;
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::connection_reset || ec == net::error::eof ||
        ec == net::error::operation_aborted) {
      return Shutdown();
    }
    if (ec) {
      keep_alive_ = false;
      Reply(JsonResponse(400, ErrorBody(grpc::StatusCode::INVALID_ARGUMENT, "malformed HTTP request")));
      return;
    }
    Request req = parser_->release();
    keep_alive_ = req.keep_alive();
    stream_.expires_never();  // the backend call has its own deadline
    transport_.handler_(std::move(req), peer_, shared_from_this());
  }

  void Reply(Response res) {
    res.set("X-Request-Id", NewRequestId());
    Write(std::move(res), nullptr);
  }

  void Write(Response res, InFlight::Token token) {
    res.keep_alive(keep_alive_ && res.keep_alive());
    keep_alive_ = res.keep_alive();
    res.prepare_payload();
    res_ = std::make_shared<Response>(std::move(res));
    stream_.expires_after(std::chrono::seconds(30));
    http::async_write(stream_, *res_,
                      [self = shared_from_this(), token = std::move(token)](beast::error_code ec, size_t) {
                        self->OnWrite(ec);
                      });
  }

  void OnWrite(beast::error_code ec) {
    res_.reset();
    if (ec || !keep_alive_) return Shutdown();
    Read();
  }

  // While streaming, the peer sends nothing more; a read that ends means it hung up,
  // which must cancel the backend stream (an idle event stream would never notice).
  void WatchForHangUp() {
    stream_.socket().async_wait(tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (self->streaming_done_) return;
      if (ec != net::error::operation_aborted) {
        char probe;
        beast::error_code rec;
        size_t n = self->stream_.socket().receive(net::buffer(&probe, 1), tcp::socket::message_peek, rec);
        if (n == 0 || rec) return self->PeerGone();
        self->WatchForHangUp();  // pipelined bytes: not a hang-up (they wait for the stream's end)
      }
    });
  }

  void PeerGone() {
    if (peer_gone_) return;
    peer_gone_ = true;
    for (auto& o : outbox_) {
      if (o.written) o.written(false);
    }
    outbox_.clear();
    if (gone_) std::exchange(gone_, nullptr)();
    Shutdown();
  }

  // Writes queued chunks one at a time, in order.
  void Pump() {
    if (writing_ || !serializer_ || outbox_.empty()) return;
    if (peer_gone_) return PeerGone();
    auto item = std::make_shared<Outgoing>(std::move(outbox_.front()));
    outbox_.pop_front();
    writing_ = true;
    auto self = shared_from_this();
    auto done = [self, item](beast::error_code ec, size_t) {
      self->writing_ = false;
      if (item->written) item->written(!ec);
      if (ec) return self->PeerGone();
      if (item->last) {
        self->streaming_done_ = true;
        self->serializer_.reset();
        self->head_.reset();
        self->gone_ = nullptr;
        beast::error_code cec;
        self->stream_.socket().cancel(cec);  // ends the hang-up watch
        if (!self->keep_alive_) return self->Shutdown();
        self->streaming_done_ = false;
        return self->Read();
      }
      self->Pump();
    };
    if (item->last) {
      net::async_write(stream_, http::make_chunk_last(), done);
    } else {
      net::async_write(stream_, http::make_chunk(net::buffer(item->data)), done);
    }
  }

  void Shutdown() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  }

  beast::tcp_stream stream_;
  HttpTransport& transport_;
  std::string peer_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Response> res_;
  size_t body_limit_ = 0;  // of the request being read
  bool keep_alive_ = true;
  // Streaming state.
  std::shared_ptr<Response> head_;
  std::optional<http::response_serializer<http::string_body>> serializer_;
  std::deque<Outgoing> outbox_;
  std::function<void()> gone_;
  bool writing_ = false, peer_gone_ = false, streaming_done_ = false;
};

HttpTransport::HttpTransport(HttpTransportOptions o, Handler h)
    : options_(std::move(o)), handler_(std::move(h)), listener_(std::make_unique<Listener>(ioc_)) {}

absl::StatusOr<std::unique_ptr<HttpTransport>> HttpTransport::Listen(HttpTransportOptions options,
                                                                     Handler handler) {
  std::unique_ptr<HttpTransport> t(new HttpTransport(std::move(options), std::move(handler)));
  const std::string& address = t->options_.address;
  std::vector<std::string> hp = absl::StrSplit(address, absl::MaxSplits(':', 1));
  int port;
  if (hp.size() != 2 || !absl::SimpleAtoi(hp[1], &port)) {
    return absl::InvalidArgumentError("http address must be host:port: " + address);
  }
  beast::error_code ec;
  tcp::endpoint ep(net::ip::make_address(hp[0], ec), static_cast<uint16_t>(port));
  if (ec) return absl::InvalidArgumentError("bad http address: " + address);
  tcp::acceptor& acceptor = t->listener_->acceptor;
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) return absl::UnavailableError("cannot listen on " + address + ": " + ec.message());
  t->port_ = acceptor.local_endpoint().port();
  return t;
}

void HttpTransport::Run() {
  Accept();
  for (int i = 0; i < std::max(1, options_.io_threads); ++i) {
    listener_->threads.emplace_back([this] { ioc_.run(); });
  }
}

void HttpTransport::Accept() {
  listener_->acceptor.async_accept(net::make_strand(ioc_), [this](beast::error_code ec, tcp::socket s) {
    if (ec == net::error::operation_aborted || !listener_->acceptor.is_open()) return;
    if (!ec) std::make_shared<Connection>(std::move(s), *this)->Read();
    Accept();
  });
}

void HttpTransport::StopAccepting() {
  if (listener_->threads.empty() || !std::exchange(listener_->accepting, false)) return;
  std::promise<void> closed;
  net::post(ioc_, [this, &closed] {
    beast::error_code ec;
    listener_->acceptor.close(ec);
    closed.set_value();
  });
  closed.get_future().wait();
}

void HttpTransport::Stop(absl::Duration grace) {
  if (listener_->threads.empty()) return;
  StopAccepting();
  (void)answers_.WaitIdle(grace);
  ioc_.stop();
  for (auto& th : listener_->threads) th.join();
  listener_->threads.clear();
}

HttpTransport::~HttpTransport() { Stop(absl::Seconds(1)); }

}  // namespace vetline::gateway
