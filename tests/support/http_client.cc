#include "tests/support/http_client.h"

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
