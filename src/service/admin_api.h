// service/admin_api.h — the admin REST API (docs/api.md, docs/openapi.yaml).
//
// JSON over HTTP under /v1/rooms. A pure function of the request (like
// handle_request) over two seams: AdminAuth decides who is an operator, and
// RoomAdmin (the Hub) does the work, synchronously: when a response says a
// room was closed or a peer kicked, a following GET no longer shows it.
// Errors are `{"error": {"code", "message"}}` with the matching HTTP status:
// 400 bad-request, 401 unauthorized, 403 forbidden, 404 not-found,
// 405 method-not-allowed, 409 conflict, 413 too-large, 415 unsupported-media-type.
// Cost: parsing the request body (at most 64 KiB, the HTTP limit) plus the
// RoomAdmin call; runs on the loop that accepted the HTTP connection.
#pragma once

#include <boost/url/url_view.hpp>
#include <cstddef>
#include <string_view>

#include "service/admin_auth.h"
#include "service/http_routes.h"
#include "service/room_admin.h"

namespace sb::service {

class AuditSink;

struct AdminApiLimits {
  size_t max_room_peers = 1000000;  // largest max_peers a room may be created with
  size_t max_data_bytes = 60000;    // `data` of a server message, as serialized (it must fit a frame)
};

class AdminApi {
 public:
  AdminApi(RoomAdmin& rooms, const AdminAuth& auth, AdminApiLimits limits = {});

  // Any request whose path is /v1/rooms or below it. `remote` (the client's
  // address) is only written to the audit log.
  Response handle(const Request& req, std::string_view remote = {}) const;

  // Every refused request and every action (not GET/HEAD), with its status,
  // goes to `audit` (may be null). Call before serving.
  void set_audit(AuditSink* audit) { audit_ = audit; }

 private:
  Response route(const Request& req, const boost::urls::url_view& url, const AdminAuthOutcome& who) const;

  AuditSink* audit_ = nullptr;
  RoomAdmin& rooms_;
  const AdminAuth& auth_;
  AdminApiLimits limits_;
};

}  // namespace sb::service
