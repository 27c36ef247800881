#pragma once

#include <memory>

#include "seshook/config/config.hpp"
#include "seshook/config/table_reader.hpp"
#include "seshook/sinks/sink.hpp"

namespace seshook {

/// Logs one line per event through spdlog at info level: type, recipient, id, reason.
class log_sink final : public sink {
public:
    log_sink(std::string name, std::vector<std::string> events);

    /// Builds a log sink from its [[sinks]] table: no keys of its own. Opens nothing.
    static std::unique_ptr<sink> from_config(const sink_config& common, table_reader& reader);

protected:
    delivery_outcome do_consume(const record& r, std::stop_token stop) override;
};

}  // namespace seshook
