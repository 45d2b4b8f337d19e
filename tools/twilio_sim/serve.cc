// The stand-in's HTTP/1.1 server: Boost.Beast, one thread per keep-alive connection
// (tests and benchmarks open a handful), so a 2-core machine serves thousands of
// requests per second.
#include <cstdio>
#include <cstdlib>
#include <utility>  // before Boost.Asio 1.74, which uses std::exchange without it
#include <thread>

#include <boost/asio.hpp>
#include <boost/beast.hpp>

#include "libs/rpc/server.h"
#include "tools/twilio_sim/twilio_sim.h"

namespace vetline::twilio_sim {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

void ServeConnection(tcp::socket socket, TwilioSim& sim) {
  beast::flat_buffer buffer;
  for (;;) {
    beast::error_code ec;
    http::request<http::string_body> req;
    http::read(socket, buffer, req, ec);
    if (ec) break;
    HttpAnswer a = sim.Handle(std::string(req.method_string()), std::string(req.target()),
                              std::string(req[http::field::authorization]), req.body());
    http::response<http::string_body> res{static_cast<http::status>(a.status), req.version()};
    res.set(http::field::server, "twilio-sim");
    res.set(http::field::content_type, a.content_type);
    res.keep_alive(req.keep_alive());
    res.body() = std::move(a.body);
    res.prepare_payload();
    http::write(socket, res, ec);
    if (ec || !res.keep_alive()) break;
  }
  beast::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_both, ignored);
}

}  // namespace

int Serve(TwilioSim& sim, const std::string& host, int port) {
  boost::asio::io_context io;
  beast::error_code ec;
  tcp::acceptor acceptor(io);
  tcp::endpoint endpoint(boost::asio::ip::make_address(host, ec), static_cast<unsigned short>(port));
  if (!ec) acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "twilio-sim: cannot listen on %s:%d: %s\n", host.c_str(), port, ec.message().c_str());
    return 1;
  }
  std::printf("port=%d\n", acceptor.local_endpoint().port());
  std::fflush(stdout);
  // Connection threads are detached and hold `sim`: on a signal the process ends at once
  // (a stand-in keeps nothing worth flushing) instead of joining threads blocked in reads.
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
      std::thread(ServeConnection, std::move(socket), std::ref(sim)).detach();
    }
  }).detach();
  rpc::WaitForShutdownSignal();
  std::fflush(stdout);
  std::_Exit(0);
}

}  // namespace vetline::twilio_sim
