#include "service/admin_cli.h"

#include <CLI/CLI.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <boost/url/parse.hpp>
#include <cctype>
#include <cstdlib>
#include <ctime>
#include <iostream>

namespace sb::service {

namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = boost::asio::ip::tcp;

std::string format_table(const std::vector<std::string>& header,
                         const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width(header.size(), 0);
  auto measure = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < width.size(); ++i) width[i] = std::max(width[i], r[i].size());
  };
  measure(header);
  for (const auto& r : rows) measure(r);
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    std::string l;
    for (size_t i = 0; i < width.size(); ++i) {
      const std::string& cell = i < r.size() ? r[i] : std::string();
      l += cell;
      if (i + 1 < width.size()) l += std::string(width[i] - cell.size() + 2, ' ');
    }
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out += l + "\n";
  };
  line(header);
  for (const auto& r : rows) line(r);
  return out;
}

std::string format_time(long long unix_s) {
  std::time_t t = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%SZ", &tm);
  return buf;
}

namespace {

struct Reply {
  unsigned status = 0;
  std::string body;
};

// One blocking request. Throws std::runtime_error when the server cannot be reached.
Reply request(const std::string& server, const std::string& key, http::verb method, const std::string& path,
              const std::string& body) {
  auto u = boost::urls::parse_absolute_uri(server);
  if (!u || u->host().empty())
    throw std::runtime_error("--server: expected http://HOST:PORT, got '" + server + "'");
  if (u->scheme() != "http")
    throw std::runtime_error(
        "--server: only http:// is supported by the CLI (reach a TLS server through localhost)");
  const std::string host = u->host_address();
  const std::string port = u->has_port() ? std::string(u->port()) : "80";
  std::string base = std::string(u->encoded_path());
  while (!base.empty() && base.back() == '/') base.pop_back();

  boost::asio::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  auto results = resolver.resolve(host, port, ec);
  if (ec) throw std::runtime_error("cannot resolve " + host + ": " + ec.message());
  stream.connect(results, ec);
  if (ec) throw std::runtime_error("cannot connect to " + server + ": " + ec.message());
  http::request<http::string_body> req{method, base + path, 11};
  req.set(http::field::host, host + ":" + port);
  req.set(http::field::user_agent, "switchboard-admin/0.1");
  req.set(http::field::accept, "application/json");
  if (!key.empty()) req.set(http::field::authorization, "Bearer " + key);
  if (!body.empty()) {
    req.set(http::field::content_type, "application/json");
    req.body() = body;
  }
  req.prepare_payload();
  http::write(stream, req, ec);
  if (ec) throw std::runtime_error("cannot send to " + server + ": " + ec.message());
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(stream, buf, res, ec);
  if (ec) throw std::runtime_error("no answer from " + server + ": " + ec.message());
  stream.socket().shutdown(tcp::socket::shutdown_both, ec);
  return {res.result_int(), res.body()};
}

// Percent-encodes one path segment (a room or peer id typed by the operator).
std::string seg(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string str(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

// Prints the API error of a refused request; returns 1.
int refused(const Reply& r) {
  std::string msg = r.body;
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  if (!ec && v.is_object() && v.as_object().contains("error")) {
    const auto& e = v.at("error");
    msg = str(e.at("message")) + " (" + str(e.at("code")) + ")";
  }
  std::cerr << "switchboard admin: HTTP " << r.status << ": " << msg << "\n";
  return 1;
}

}  // namespace

int admin_main(int argc, char** argv) {
  CLI::App app{"switchboard admin — see and steer a running server through its admin API (docs/api.md)",
               "switchboard admin"};
  app.require_subcommand(1);
  app.get_formatter()->column_width(30);
  std::string server, key, room, peer, data, to, reason;
  bool as_json = false;
  if (const char* v = std::getenv("SWITCHBOARD_SERVER"); v && *v) server = v;
  if (const char* v = std::getenv("SWITCHBOARD_ADMIN_KEY"); v && *v) key = v;
  if (server.empty()) server = "http://127.0.0.1:8080";
  app.add_option("--server", server,
                 "Server base URL (default $SWITCHBOARD_SERVER or http://127.0.0.1:8080)");
  app.add_option("--key", key, "API key or admin token (default $SWITCHBOARD_ADMIN_KEY)");
  app.add_flag("--json", as_json, "Print the API's JSON instead of a table");

  auto* rooms = app.add_subcommand("rooms", "List rooms: name, kind, peers, created, metadata");
  auto* peers = app.add_subcommand("peers", "List the peers of ROOM");
  peers->add_option("ROOM", room)->required();
  auto* kick = app.add_subcommand("kick", "Remove PEER from ROOM (it gets `kicked`)");
  kick->add_option("ROOM", room)->required();
  kick->add_option("PEER", peer)->required();
  kick->add_option("--reason", reason, "Reason sent to the peer (default \"kicked\")");
  auto* close = app.add_subcommand("close", "Close ROOM: every peer gets `room-closed`");
  close->add_option("ROOM", room)->required();
  auto* send = app.add_subcommand("send", "Send DATA (JSON; other text is sent as a string) from \"server\"");
  send->add_option("ROOM", room)->required();
  send->add_option("DATA", data)->required();
  send->add_option("--to", to, "Only to this peer (default: every peer of ROOM)");
  // Global options may come after the subcommand too.
  for (auto* sub : {rooms, peers, kick, close, send}) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;
  }

  try {
    if (*rooms) {
      Reply r = request(server, key, http::verb::get, "/v1/rooms", {});
      if (r.status != 200) return refused(r);
      if (as_json) {
        std::cout << r.body << "\n";
        return 0;
      }
      std::vector<std::vector<std::string>> rows;
      const json::value doc = json::parse(r.body);  // named: a temporary would die before the loop body
      for (const auto& x : doc.at("rooms").as_array()) {
        const auto& o = x.as_object();
        rows.push_back({str(o.at("name")), str(o.at("kind")),
                        str(o.at("peers")) + "/" + str(o.at("max_peers")),
                        format_time(o.at("created_at").to_number<long long>()),
                        o.at("persistent").as_bool() ? "yes" : "no", json::serialize(o.at("metadata"))});
      }
      std::cout << format_table({"ROOM", "KIND", "PEERS", "CREATED", "PERSISTENT", "METADATA"}, rows);
      if (rows.empty()) std::cout << "(no rooms)\n";
      return 0;
    }
    if (*peers) {
      Reply r = request(server, key, http::verb::get, "/v1/rooms/" + seg(room) + "/peers", {});
      if (r.status != 200) return refused(r);
      if (as_json) {
        std::cout << r.body << "\n";
        return 0;
      }
      std::vector<std::vector<std::string>> rows;
      const json::value doc = json::parse(r.body);
      for (const auto& x : doc.at("peers").as_array()) {
        const auto& o = x.as_object();
        rows.push_back({str(o.at("peer")), str(o.at("user")), o.contains("name") ? str(o.at("name")) : "",
                        format_time(o.at("joined_at").to_number<long long>()),
                        json::serialize(o.at("metadata"))});
      }
      std::cout << format_table({"PEER", "USER", "NAME", "JOINED", "METADATA"}, rows);
      if (rows.empty()) std::cout << "(no peers in " << room << ")\n";
      return 0;
    }
    auto done = [&](const Reply& r, unsigned ok_status, const std::string& text) {
      if (r.status != ok_status) return refused(r);
      if (as_json)
        std::cout << (r.body.empty() ? std::string("{}") : r.body) << "\n";
      else
        std::cout << text << "\n";
      return 0;
    };
    if (*kick) {
      std::string body;
      if (!reason.empty()) body = json::serialize(json::object{{"reason", reason}});
      return done(
          request(server, key, http::verb::delete_, "/v1/rooms/" + seg(room) + "/peers/" + seg(peer), body),
          204, "kicked " + peer + " from " + room);
    }
    if (*close) {
      return done(request(server, key, http::verb::delete_, "/v1/rooms/" + seg(room), {}), 204,
                  "closed " + room);
    }
    if (*send) {
      boost::system::error_code ec;
      json::value d = json::parse(data, ec);
      if (ec) d = json::string(data);
      json::object body{{"data", d}};
      if (!to.empty()) body["to"] = to;
      Reply r = request(server, key, http::verb::post, "/v1/rooms/" + seg(room) + "/messages",
                        json::serialize(body));
      if (r.status != 200) return refused(r);
      const auto n = json::parse(r.body).at("recipients").to_number<long long>();
      return done(r, 200, "sent to " + std::to_string(n) + " peer" + (n == 1 ? "" : "s") + " in " + room);
    }
  } catch (const std::exception& e) {
    std::cerr << "switchboard admin: " << e.what() << "\n";
    return 1;
  }
  return 2;
}

}  // namespace sb::service
