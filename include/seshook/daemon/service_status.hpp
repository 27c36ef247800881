#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "seshook/http/callback_handler.hpp"
#include "seshook/sinks/sink.hpp"

namespace seshook {

/// Returns the one-line status systemd shows for the service (`systemctl status`): where it
/// listens (`listening`, e.g. "127.0.0.1:8080"), what the endpoint counted, and what each sink
/// delivered and failed, e.g. "listening on 127.0.0.1:8080; 12 events accepted, 1 repeats,
/// 3 requests rejected; sink events: 12 delivered, 0 failed". Reads only atomic counters.
std::string service_status(std::string_view listening, const handler_counters& counters,
                           const std::vector<const sink*>& sinks);

}  // namespace seshook
