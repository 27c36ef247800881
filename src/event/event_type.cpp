#include "seshook/event/event_type.hpp"

#include <array>
#include <utility>

namespace seshook {
namespace {

constexpr std::array<std::pair<std::string_view, event_type>, 8> known_types{{
    {"delivered", event_type::delivered},
    {"dropped", event_type::dropped},
    {"bounce", event_type::bounce},
    {"open", event_type::open},
    {"click", event_type::click},
    {"spamreport", event_type::spamreport},
    {"unsubscribe", event_type::unsubscribe},
    {"deferred", event_type::deferred},
}};

}  // namespace

std::string_view to_string(event_type type) noexcept {
    for (const auto& [name, known] : known_types) {
        if (known == type) return name;
    }
    return "unknown";
}

std::optional<event_type> event_type_from_name(std::string_view name) noexcept {
    for (const auto& [known_name, known] : known_types) {
        if (known_name == name) return known;
    }
    return std::nullopt;
}

std::optional<event_type> event_type_from_id(std::int64_t id) noexcept {
    // NOTE: the enumerators' values are the documented eventids, 1 to 8.
    if (id < 1 || id > static_cast<std::int64_t>(known_types.size())) return std::nullopt;
    return static_cast<event_type>(id);
}

}  // namespace seshook
