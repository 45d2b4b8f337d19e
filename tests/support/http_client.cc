#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <sstream>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "absl/strings/ascii.h"

namespace vetline::testing {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

struct HttpClient::Impl {
  net::io_context ioc;
  std::optional<beast::tcp_stream> stream;
  std::string host;
  int port;

  void Connect() {
    stream.emplace(ioc);
    stream->connect(net::ip::tcp::endpoint(net::ip::make_address(host), static_cast<uint16_t>(port)));
  }
};

HttpClient::HttpClient(int port, std::string host) : impl_(std::make_unique<Impl>()) {
  impl_->host = std::move(host);
  impl_->port = port;
}

HttpClient::~HttpClient() {
  if (impl_->stream) {
    beast::error_code ec;
    impl_->stream->socket().shutdown(net::ip::tcp::socket::shutdown_both, ec);
  }
}

bool AwaitReadyz(int port, int limit_ms) {
  for (int waited = 0;; waited += 100) {
    try {
      if (HttpClient(port).Get("/readyz").status == 200) return true;
    } catch (const std::exception&) {  // not listening yet
    }
    if (waited >= limit_ms) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

HttpResponse HttpClient::Send(const std::string& method, const std::string& target,
                              const std::string& body,
                              const std::map<std::string, std::string>& headers) {
  // One retry on a fresh connection: the server may have closed an idle keep-alive one.
  for (int attempt = 0; attempt < 2; ++attempt) {
    try {
      if (!impl_->stream) impl_->Connect();
      http::request<http::string_body> req{http::string_to_verb(method), target, 11};
      req.set(http::field::host, impl_->host);
      for (const auto& [k, v] : headers) req.set(k, v);
      if (!body.empty() || method == "POST" || method == "PATCH" || method == "PUT") {
        req.body() = body;
        if (!req.count(http::field::content_type)) req.set(http::field::content_type, "application/json");
      }
      req.prepare_payload();
      http::write(*impl_->stream, req);
      beast::flat_buffer buf;
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 << 20);
      http::read(*impl_->stream, buf, parser);
      auto res = parser.release();
      HttpResponse out;
      out.status = res.result_int();
      for (const auto& h : res) {
        out.headers[absl::AsciiStrToLower(std::string(h.name_string()))] = std::string(h.value());
      }
      out.body = res.body();
      if (!res.keep_alive()) impl_->stream.reset();
      return out;
    } catch (const std::exception&) {
      impl_->stream.reset();
      if (attempt == 1) throw;
    }
  }
  return {};
}

nlohmann::json HttpResponse::json() const {
  return nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
}

std::string HttpResponse::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? "" : it->second;
}

std::map<std::string, std::string> Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

}  // namespace vetline::testing

// ---- HttpBurst: many connections, one thread. ----

namespace vetline::testing {

std::vector<BurstAnswer> HttpBurst(int port, int connections, const std::string& request,
                                   absl::Duration limit) {
  net::io_context ioc;
  std::vector<BurstAnswer> answers(connections);
  struct Conn {
    explicit Conn(net::io_context& ioc) : socket(ioc) {}
    net::ip::tcp::socket socket;
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
  };
  std::vector<std::unique_ptr<Conn>> conns;
  net::ip::tcp::endpoint ep(net::ip::make_address("127.0.0.1"), static_cast<uint16_t>(port));
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < connections; ++i) {
    conns.push_back(std::make_unique<Conn>(ioc));
    Conn* c = conns.back().get();
    BurstAnswer* a = &answers[i];
    c->socket.async_connect(ep, [c, a, start, &request](boost::system::error_code ec) {
      if (ec) return;
      net::async_write(c->socket, net::buffer(request), [c, a, start](boost::system::error_code ec, size_t) {
        if (ec) return;
        http::async_read(c->socket, c->buffer, c->res, [c, a, start](boost::system::error_code ec, size_t) {
          if (!ec) {
            a->status = c->res.result_int();
            a->latency_us = std::chrono::duration_cast<std::chrono::microseconds>(
                                std::chrono::steady_clock::now() - start).count();
          }
          boost::system::error_code ignored;
          c->socket.close(ignored);
        });
      });
    });
  }
  ioc.run_for(absl::ToChronoMilliseconds(limit));
  return answers;
}

}  // namespace vetline::testing

// ---- EventStream: a raw socket, since the body never ends while the call lasts. ----

namespace vetline::testing {

EventStream::EventStream(int port, const std::string& target,
                         const std::map<std::string, std::string>& headers) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) return;
  std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
  for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
  req += "\r\n";
  if (::send(fd_, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) return;
  // Headers first.
  while (raw_.find("\r\n\r\n") == std::string::npos) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, 10000) <= 0) return;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return;
    raw_.append(buf, n);
  }
  size_t end = raw_.find("\r\n\r\n");
  std::string head = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  status_ = std::atoi(head.c_str() + head.find(' ') + 1);
  if (head.find("chunked") == std::string::npos) {  // an error body, not a stream
    text_ = raw_;
    raw_.clear();
  }
}

EventStream::~EventStream() {
  if (fd_ >= 0) ::close(fd_);
}

bool EventStream::Fill(int timeout_ms) {
  for (;;) {
    // Decode whole chunks already buffered: "<hex size>\r\n<data>\r\n".
    size_t line = raw_.find("\r\n");
    if (line != std::string::npos) {
      size_t size = std::stoul(raw_.substr(0, line), nullptr, 16);
      if (size == 0) return false;  // end of stream
      if (raw_.size() >= line + 2 + size + 2) {
        text_.append(raw_, line + 2, size);
        raw_.erase(0, line + 2 + size + 2);
        return true;
      }
    }
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) return false;
    char buf[16384];
    ssize_t n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) return false;
    raw_.append(buf, n);
  }
}

std::optional<EventStream::Event> EventStream::Next(int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    size_t end = text_.find("\n\n");
    if (end != std::string::npos) {
      std::string block = text_.substr(0, end);
      text_.erase(0, end + 2);
      Event e;
      std::istringstream lines(block);
      std::string l;
      bool fields = false;
      while (std::getline(lines, l)) {
        if (l.rfind("event: ", 0) == 0) e.type = l.substr(7), fields = true;
        if (l.rfind("id: ", 0) == 0) e.id = l.substr(4), fields = true;
        if (l.rfind("data: ", 0) == 0) e.data = nlohmann::json::parse(l.substr(6), nullptr, false), fields = true;
      }
      if (!fields) {  // only comments: a heartbeat, not an event
        ++comments_;
        continue;
      }
      return e;
    }
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0 || !Fill(left)) return std::nullopt;
  }
}

std::optional<EventStream::Event> EventStream::NextOf(const std::string& type, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                    deadline - std::chrono::steady_clock::now()).count());
    if (left <= 0) return std::nullopt;
    auto e = Next(left);
    if (!e || e->type == type) return e;
  }
}

}  // namespace vetline::testing
