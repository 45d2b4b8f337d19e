#include "tests/support/webhook_sink.h"

#include <utility>  // before Boost.Asio 1.74, which uses std::exchange without it
#include <mutex>
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

namespace vetline::testing {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

struct WebhookSink::Impl {
  boost::asio::io_context io;
  tcp::acceptor acceptor{io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0)};
  std::thread accepting;
  mutable std::mutex mu;
  std::vector<RecordedRequest> requests;
  std::map<std::string, int> statuses;
  std::vector<std::thread> connections;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  bool stopping = false;

  void Serve(std::shared_ptr<tcp::socket> socket) {
    beast::flat_buffer buffer;
    for (;;) {
      beast::error_code ec;
      http::request<http::string_body> req;
      http::read(*socket, buffer, req, ec);
      if (ec) return;
      RecordedRequest r{std::string(req.method_string()), std::string(req.target()), req.body(), {}};
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(f.value());
      }
      int status = 200;
      {
        std::lock_guard<std::mutex> lock(mu);
        std::string path = r.target.substr(0, r.target.find('?'));
        if (auto it = statuses.find(path); it != statuses.end()) status = it->second;
        requests.push_back(std::move(r));
      }
      http::response<http::string_body> res{static_cast<http::status>(status), req.version()};
      res.set(http::field::content_type, "text/xml");
      res.body() = "<Response/>";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(*socket, res, ec);
      if (ec || !res.keep_alive()) return;
    }
  }
};

WebhookSink::WebhookSink() : impl_(std::make_unique<Impl>()) {
  impl_->accepting = std::thread([this] {
    for (;;) {
      auto socket = std::make_shared<tcp::socket>(impl_->io);
      beast::error_code ec;
      impl_->acceptor.accept(*socket, ec);
      if (ec) return;
      std::lock_guard<std::mutex> lock(impl_->mu);
      if (impl_->stopping) return;  // the destructor's own connection
      impl_->sockets.push_back(socket);
      impl_->connections.emplace_back([this, socket] { impl_->Serve(socket); });
    }
  });
}

WebhookSink::~WebhookSink() {
  beast::error_code ec;
  const unsigned short p = static_cast<unsigned short>(port());
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stopping = true;
  }
  // Unblock the accept with a connection to ourselves, then close every open socket.
  {
    tcp::socket poke(impl_->io);
    poke.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), p), ec);
    impl_->accepting.join();
  }
  impl_->acceptor.close(ec);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    for (auto& s : impl_->sockets) s->shutdown(tcp::socket::shutdown_both, ec);
    threads = std::move(impl_->connections);
  }
  for (std::thread& t : threads) t.join();
}

int WebhookSink::port() const { return impl_->acceptor.local_endpoint().port(); }

std::string WebhookSink::Url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port()) + path;
}

std::vector<RecordedRequest> WebhookSink::Requests(const std::string& path_prefix) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::vector<RecordedRequest> out;
  for (const RecordedRequest& r : impl_->requests) {
    if (r.target.rfind(path_prefix, 0) == 0) out.push_back(r);
  }
  return out;
}

void WebhookSink::SetStatus(const std::string& path, int status) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->statuses[path] = status;
}

}  // namespace vetline::testing
