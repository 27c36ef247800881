#pragma once

#include "seshook/sinks/sink.hpp"

namespace seshook {

/// Logs one line per event through spdlog at info level: type, recipient, id, reason.
class log_sink final : public sink {
public:
    log_sink(std::string name, std::vector<std::string> events);

protected:
    delivery_outcome do_consume(const record& r, std::stop_token stop) override;
};

}  // namespace seshook
