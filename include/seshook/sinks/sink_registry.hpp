#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "seshook/config/config.hpp"
#include "seshook/config/table_reader.hpp"
#include "seshook/sinks/sink.hpp"

namespace seshook {

/// Builds a sink from its `[[sinks]]` table. `reader` has already consumed the common keys
/// (type, name, events, queue_capacity); the factory reads its own keys and must not open
/// anything (that is sink::open's job), so that --check-config can build sinks harmlessly.
using sink_factory =
    std::function<std::unique_ptr<sink>(const sink_config& common, table_reader& reader)>;

/// Returns the factory registered for `type`, or nullptr.
const sink_factory* find_sink_factory(std::string_view type);

/// Returns the registered type names, sorted.
std::vector<std::string> sink_type_names();

/// Builds every configured sink; throws config_error naming the key of the first mistake.
std::vector<std::unique_ptr<sink>> make_sinks(const config& cfg);

}  // namespace seshook
