#include "libs/http/stand_in_server.h"

#include <cstdio>
#include <cstdlib>
#include <utility>  // before Boost.Asio 1.74, which uses std::exchange without it
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "absl/strings/ascii.h"
#include "libs/rpc/server.h"

namespace vetline::http {
namespace {

namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = boost::asio::ip::tcp;
using Handler = std::function<StandInAnswer(const StandInRequest&)>;

void ServeConnection(tcp::socket socket, const std::string& name, const Handler& handle) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    bhttp::request<bhttp::string_body> req;
    bhttp::read(socket, buffer, req, ec);
    if (ec) break;
    StandInRequest in{std::string(req.method_string()), std::string(req.target()), {}, std::move(req.body())};
    for (const auto& field : req) {
      in.headers[absl::AsciiStrToLower(std::string(field.name_string()))] = std::string(field.value());
    }
    StandInAnswer a = handle(in);
    bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(a.status), req.version()};
    res.set(bhttp::field::server, name);
    res.set(bhttp::field::content_type, a.content_type);
    for (const auto& [k, v] : a.headers) res.set(k, v);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(a.body);
    res.prepare_payload();
    bhttp::write(socket, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

int ServeStandIn(const std::string& name, const std::string& host, int port, Handler handle) {
  boost::asio::io_context io;
  beast::error_code ec;
  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint(boost::asio::ip::make_address(host, ec), static_cast<unsigned short>(port));
  if (!ec) acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "%s: cannot listen on %s:%d: %s\n", name.c_str(), host.c_str(), port, ec.message().c_str());
    return 1;
  }
  std::printf("port=%d\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  // Connection threads are detached and hold the handler: on a signal the process ends
  // at once instead of joining threads blocked in reads.
  std::thread([&] {
    for (;;) {
      beast::error_code aec;
      tcp::socket socket(io);
      acceptor.accept(socket, aec);
      if (aec) {
        if (!acceptor.is_open()) return;
        continue;
      }
      socket.set_option(tcp::no_delay(true), aec);
      std::thread(ServeConnection, std::move(socket), std::cref(name), std::cref(handle)).detach();
    }
  }).detach();
  rpc::WaitForShutdownSignal();
  std::fflush(stdout);
  std::_Exit(0);
}

}  // namespace vetline::http
