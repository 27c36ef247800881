#include "seshook/sinks/sink_registry.hpp"

#include <cstdint>
#include <limits>
#include <map>
#include <string_view>
#include <utility>

#include "seshook/sinks/file_sink.hpp"
#include "seshook/sinks/forward_sink.hpp"
#include "seshook/sinks/log_sink.hpp"

namespace seshook {
namespace {

// NOTE: a new sink type is one file with its class plus one line here.
const std::map<std::string, sink_factory, std::less<>>& registry() {
    static const std::map<std::string, sink_factory, std::less<>> factories{
        {"log", &log_sink::from_config},
        {"file", &file_sink::from_config},
        {"forward", &forward_sink::from_config},
    };
    return factories;
}

// Marks the keys that parse_config already read, so that finish() only judges the type's own.
void skip_common_keys(table_reader& reader) {
    constexpr std::int64_t any_min = std::numeric_limits<std::int64_t>::min();
    constexpr std::int64_t any_max = std::numeric_limits<std::int64_t>::max();
    reader.optional_string("type");
    reader.optional_string("name");
    reader.string_list_or("events", {});
    reader.integer_or("queue_capacity", 0, any_min, any_max);
}

std::string known_types_text() {
    std::string text;
    for (const auto& name : sink_type_names()) {
        if (!text.empty()) text += ", ";
        text += name;
    }
    return text;
}

}  // namespace

const sink_factory* find_sink_factory(std::string_view type) {
    const auto& factories = registry();
    const auto found = factories.find(type);
    return found == factories.end() ? nullptr : &found->second;
}

std::vector<std::string> sink_type_names() {
    std::vector<std::string> names;
    for (const auto& [name, factory] : registry()) names.push_back(name);
    return names;  // NOTE: sorted, since the registry is a std::map
}

std::vector<std::unique_ptr<sink>> make_sinks(const config& cfg) {
    static const toml::table no_options;
    std::vector<std::unique_ptr<sink>> sinks;
    sinks.reserve(cfg.sinks.size());
    for (const auto& common : cfg.sinks) {
        const toml::table& options = common.options ? *common.options : no_options;
        table_reader reader(options, cfg.source, "sinks[" + std::to_string(common.index) + "]");
        skip_common_keys(reader);

        const sink_factory* factory = find_sink_factory(common.type);
        if (factory == nullptr) {
            throw reader.error("type", "unknown sink type \"" + common.type +
                                           "\"; known types are " + known_types_text());
        }
        sinks.push_back((*factory)(common, reader));
        reader.finish();
    }
    return sinks;
}

}  // namespace seshook
