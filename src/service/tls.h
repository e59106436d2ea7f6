// service/tls.h — the server's TLS configuration.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <memory>
#include <string>

namespace sb::service {

// A server context from PEM files: TLS 1.2 and 1.3 only, forward-secret AEAD
// ciphers only (Mozilla "intermediate"), no compression, no renegotiation.
// Throws std::runtime_error naming the file and OpenSSL's reason when the
// certificate or key cannot be loaded or do not match.
std::shared_ptr<boost::asio::ssl::context> make_tls_context(const std::string& cert_file,
                                                            const std::string& key_file);

}  // namespace sb::service
